import { parseCidr, parseIP, formatIP } from '../../src/core/ip';
import { canonicalizeRangeSets } from '../../src/core/range-set';
import { roundRobin } from '../../src/core/round-robin';

const set = (...ranges: object[]) => canonicalizeRangeSets([ranges as never], 'r')[0]!;
const take = (gen: Generator<{ family: 4 | 6; value: bigint }>, n = Infinity) => {
  const out: string[] = [];
  for (const ip of gen) {
    if (out.length >= n) break;
    out.push(formatIP(ip));
  }
  return out;
};

describe('roundRobin', () => {
  const small = set({ subnet: '10.0.0.0/29' }); // .1 - .6
  test.each([
    [undefined, ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']],
    ['10.0.0.3', ['10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.1', '10.0.0.2', '10.0.0.3']],
    ['10.0.0.6', ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']],
    ['192.168.0.1', ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']],
  ])('after %s visits every address once, in order', (after, expected) => {
    expect(take(roundRobin(small, after ? parseIP(after) : undefined))).toEqual(expected);
  });

  test('crosses ranges of a set and wraps', () => {
    const two = set({ subnet: '10.0.0.0/30' }, { subnet: '10.0.1.0/30' });
    expect(take(roundRobin(two, parseIP('10.0.0.2')))).toEqual(['10.0.1.1', '10.0.1.2', '10.0.0.1', '10.0.0.2']);
  });

  test('jumps over excluded CIDRs in one step', () => {
    const big = set({ subnet: '10.0.0.0/16' });
    const holes = [parseCidr('10.0.0.0/17')!.cidr];
    expect(take(roundRobin(big, undefined, holes), 2)).toEqual(['10.0.128.0', '10.0.128.1']);
  });

  test('IPv6', () => {
    const v6 = set({ subnet: 'fd00::/126' });
    expect(take(roundRobin(v6, parseIP('fd00::2')))).toEqual(['fd00::3', 'fd00::1', 'fd00::2']);
  });
});
