import { ConfigError } from '../../src/core/errors';
import { formatIP } from '../../src/core/ip';
import { canonicalizeRange, rangeCapacity } from '../../src/core/range';
import { canonicalizeRangeSets } from '../../src/core/range-set';

const fmt = (family: 4 | 6, value: bigint) => formatIP({ family, value });

describe('canonicalizeRange fills host-local defaults', () => {
  test.each([
    [{ subnet: '10.1.2.0/24' }, '10.1.2.1', '10.1.2.1', '10.1.2.254', 253n],
    [{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.10', rangeEnd: '10.1.2.20' }, '10.1.2.1', '10.1.2.10', '10.1.2.20', 11n],
    [{ subnet: '10.1.2.0/24', gateway: '10.1.2.254' }, '10.1.2.254', '10.1.2.1', '10.1.2.254', 253n],
    [{ subnet: '10.1.2.0/30' }, '10.1.2.1', '10.1.2.1', '10.1.2.2', 1n],
    [{ subnet: 'fd00::/120' }, 'fd00::1', 'fd00::1', 'fd00::ff', 254n],
    [{ subnet: 'fd00::/126' }, 'fd00::1', 'fd00::1', 'fd00::3', 2n],
  ])('%j', (raw, gateway, start, end, capacity) => {
    const r = canonicalizeRange(raw, 'ipam.ranges[0][0]');
    const f = r.subnet.family;
    expect([formatIP(r.gateway), fmt(f, r.start), fmt(f, r.end)]).toEqual([gateway, start, end]);
    expect(rangeCapacity(r)).toBe(capacity);
  });
});

describe('canonicalizeRange rejects bad ranges with the JSON path', () => {
  test.each([
    [{}, 'p.subnet'],
    [{ subnet: 'nonsense' }, 'p.subnet'],
    [{ subnet: '10.1.2.3/24' }, 'p.subnet'],
    [{ subnet: '10.1.2.0/31' }, 'p.subnet'],
    [{ subnet: '10.1.2.0/32' }, 'p.subnet'],
    [{ subnet: 'fd00::/127' }, 'p.subnet'],
    [{ subnet: 'fd00::/128' }, 'p.subnet'],
    [{ subnet: '10.1.2.0/24', rangeStart: '10.1.3.1' }, 'p.rangeStart'],
    [{ subnet: '10.1.2.0/24', rangeEnd: '10.1.2.255' }, 'p.rangeEnd'],
    [{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.0' }, 'p.rangeStart'],
    [{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.50', rangeEnd: '10.1.2.40' }, 'p.rangeStart'],
    [{ subnet: '10.1.2.0/24', gateway: 'fd00::1' }, 'p.gateway'],
    [{ subnet: '10.1.2.0/24', gateway: 42 }, 'p.gateway'],
    [{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.1', rangeEnd: '10.1.2.1' }, 'p'],
  ])('%j -> %s', (raw, path) => {
    let error: unknown;
    try {
      canonicalizeRange(raw, 'p');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe(path);
  });
});

describe('range sets', () => {
  const pathOf = (raw: unknown) => {
    try {
      canonicalizeRangeSets(raw as never, 'ipam.ranges');
      return 'ok';
    } catch (e) {
      return (e as ConfigError).path;
    }
  };
  test.each([
    [[[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/64' }]], 'ok'],
    [[[{ subnet: '10.1.2.0/24' }, { subnet: '10.1.3.0/24' }]], 'ok'],
    [[[{ subnet: '10.1.2.0/24' }, { subnet: 'fd00::/64' }]], 'ipam.ranges[0][1]'],
    [[[{ subnet: '10.1.2.0/24' }, { subnet: '10.1.2.0/25' }]], 'ipam.ranges[0][1]'],
    [[[{ subnet: '10.1.0.0/16' }], [{ subnet: '10.1.2.0/24' }]], 'ipam.ranges[1][0]'],
    [[[{ subnet: '10.1.2.0/24', rangeEnd: '10.1.2.100' }, { subnet: '10.1.2.0/24', rangeStart: '10.1.2.101' }]], 'ok'],
    [[[]], 'ipam.ranges[0]'],
    [[['10.1.2.0/24']], 'ipam.ranges[0][0]'],
  ])('%j -> %s', (raw, expected) => {
    expect(pathOf(raw)).toBe(expected);
  });
});
