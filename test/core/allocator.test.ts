import { allocate } from '../../src/core/allocator';
import type { AllocationView } from '../../src/core/allocator';
import { AddressNotAllowedError, AddressTakenError, RangeExhaustedError } from '../../src/core/errors';
import { formatIP, parseCidr, parseIP } from '../../src/core/ip';
import type { IP } from '../../src/core/ip';
import type { Attachment } from '../../src/core/attachment';
import { canonicalizeRangeSets } from '../../src/core/range-set';
import type { RangeSet } from '../../src/core/range-set';

/** An in-memory view: the allocator's whole contract with storage, exact and fast. */
class FakeView implements AllocationView {
  owners = new Map<string, Attachment>();
  cursors = new Map<number, IP>();
  ownerOf(ip: IP) {
    return this.owners.get(formatIP(ip));
  }
  lastReserved(index: number) {
    return this.cursors.get(index);
  }
  hold(text: string, containerId: string) {
    this.owners.set(text, { containerId, ifname: 'eth0' });
  }
}

const me: Attachment = { containerId: 'me', ifname: 'eth0' };
const sets = (raw: object[][]) => canonicalizeRangeSets(raw as never, 'ipam.ranges');
const ips = (...t: string[]) => t.map((x) => parseIP(x)!);
const run = (rangeSets: RangeSet[], view: FakeView, requested: IP[] = [], exclude: string[] = []) =>
  allocate({ attachment: me, rangeSets, requested, exclude: exclude.map((c) => parseCidr(c.includes('/') ? c : `${c}/${c.includes(':') ? 128 : 32}`)!.cidr) }, view).map(formatIP);

describe('allocate', () => {
  test('first dynamic address of 10.1.2.0/24 is 10.1.2.2 (gateway .1 is never handed out)', () => {
    expect(run(sets([[{ subnet: '10.1.2.0/24' }]]), new FakeView())).toEqual(['10.1.2.2']);
  });

  test('one address per range set, dual-stack, in set order', () => {
    expect(run(sets([[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/64' }]]), new FakeView())).toEqual(['10.1.2.2', 'fd00::2']);
  });

  test('continues after the last reserved address (round-robin)', () => {
    const view = new FakeView();
    view.cursors.set(0, parseIP('10.1.2.7')!);
    expect(run(sets([[{ subnet: '10.1.2.0/24' }]]), view)).toEqual(['10.1.2.8']);
  });

  test('skips held addresses, gateways and excluded CIDRs', () => {
    const view = new FakeView();
    view.hold('10.1.2.2', 'other');
    expect(run(sets([[{ subnet: '10.1.2.0/24' }]]), view, [], ['10.1.2.3', '10.1.2.4/31'])).toEqual(['10.1.2.6']);
  });

  test('a custom gateway inside the range is skipped', () => {
    expect(run(sets([[{ subnet: '10.1.2.0/29', gateway: '10.1.2.1', rangeStart: '10.1.2.1' }]]), new FakeView())).toEqual(['10.1.2.2']);
  });

  test('exhaustion names the range and the set index', () => {
    const view = new FakeView();
    for (const a of ['10.1.2.2', '10.1.2.3']) view.hold(a, 'other');
    let error: unknown;
    try {
      run(sets([[{ subnet: 'fd00::/64' }], [{ subnet: '10.1.2.0/30' }]]), view);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RangeExhaustedError);
    expect((error as RangeExhaustedError).setIndex).toBe(1);
    expect((error as Error).message).toContain('10.1.2.0/30');
  });

  test('an address the attachment already holds counts as free for it', () => {
    const view = new FakeView();
    view.hold('10.1.2.2', 'me');
    expect(run(sets([[{ subnet: '10.1.2.0/24' }]]), view)).toEqual(['10.1.2.2']);
  });

  describe('requested addresses', () => {
    const dual = sets([[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/64' }]]);
    test('go to their own range set; the other set is dynamic', () => {
      expect(run(dual, new FakeView(), ips('fd00::99'))).toEqual(['10.1.2.2', 'fd00::99']);
    });
    test.each([
      [['10.9.9.9'], AddressNotAllowedError, 'not inside any configured range'],
      [['10.1.2.1'], AddressNotAllowedError, 'gateway'],
      [['10.1.2.5'], AddressNotAllowedError, 'excluded'],
      [['10.1.2.7', '10.1.2.8'], AddressNotAllowedError, 'same range set'],
      [['10.1.2.9'], AddressTakenError, 'other/eth0'],
    ])('%j is refused', (requested, type, words) => {
      const view = new FakeView();
      view.hold('10.1.2.9', 'other');
      let error: unknown;
      try {
        run(dual, view, ips(...requested), ['10.1.2.5']);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toContain(words);
    });
  });
});
