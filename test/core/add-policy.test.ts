/**
 * The ADD policy over an in-memory view (the whole contract with storage): which address
 * each range set gives, what is claimed, released, and where round-robin moves.
 */
import { decideAdd, decideAddGrowing } from '../../src/core/add-policy';
import type { AllocationView } from '../../src/core/allocator';
import { AddressNotAllowedError, AddressTakenError, RangeExhaustedError } from '../../src/core/errors';
import { formatIP, parseIP } from '../../src/core/ip';
import type { IP } from '../../src/core/ip';
import type { Attachment } from '../../src/core/attachment';
import { canonicalizeRangeSets } from '../../src/core/range-set';

class MemoryView implements AllocationView {
  owners = new Map<string, Attachment>();
  cursors = new Map<number, IP>();
  ownerOf = (ip: IP) => this.owners.get(formatIP(ip));
  lastReserved = (index: number) => this.cursors.get(index);
  hold(containerId: string, ...texts: string[]) {
    for (const t of texts) this.owners.set(t, { containerId, ifname: 'eth0' });
    return this;
  }
}

const me: Attachment = { containerId: 'me', ifname: 'eth0' };
const dual = canonicalizeRangeSets([[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/64' }]] as never, 'ipam.ranges');
const tiny = canonicalizeRangeSets([[{ subnet: '10.1.2.0/30' }]] as never, 'ipam.ranges'); // one usable address: .2
const ips = (...t: string[]) => t.map((x) => parseIP(x)!);
const texts = (list: readonly IP[]) => list.map(formatIP);

interface Row {
  name: string;
  view: MemoryView;
  requested?: string[];
  held?: string[];
  stale?: string[];
  expect: { ips: string[]; claim: string[]; release: string[]; cursor: string[] };
}

const rows: Row[] = [
  { name: 'first ADD: next free in every set', view: new MemoryView(), expect: { ips: ['10.1.2.2', 'fd00::2'], claim: ['10.1.2.2', 'fd00::2'], release: [], cursor: ['10.1.2.2', 'fd00::2'] } },
  {
    name: 'retry: exactly what it holds, nothing claimed, cursor untouched',
    view: new MemoryView().hold('me', '10.1.2.7', 'fd00::9'),
    held: ['10.1.2.7', 'fd00::9'],
    expect: { ips: ['10.1.2.7', 'fd00::9'], claim: [], release: [], cursor: [] },
  },
  {
    name: 'retry with one requested address: the other family is kept',
    view: new MemoryView().hold('me', '10.1.2.50', 'fd00::2'),
    requested: ['10.1.2.50'],
    held: ['10.1.2.50', 'fd00::2'],
    expect: { ips: ['10.1.2.50', 'fd00::2'], claim: [], release: [], cursor: [] },
  },
  {
    name: 'a changed request replaces only its own set, releasing the old address',
    view: new MemoryView().hold('me', '10.1.2.50', 'fd00::2'),
    requested: ['10.1.2.60'],
    held: ['10.1.2.50', 'fd00::2'],
    expect: { ips: ['10.1.2.60', 'fd00::2'], claim: ['10.1.2.60'], release: ['10.1.2.50'], cursor: ['10.1.2.60'] },
  },
  {
    name: 'requested address moves round-robin, as host-local does',
    view: new MemoryView(),
    requested: ['fd00::50'],
    expect: { ips: ['10.1.2.2', 'fd00::50'], claim: ['10.1.2.2', 'fd00::50'], release: [], cursor: ['10.1.2.2', 'fd00::50'] },
  },
  {
    name: 'crash mid-ADD: the recorded address comes back when free',
    view: new MemoryView(),
    stale: ['10.1.2.9'],
    expect: { ips: ['10.1.2.9', 'fd00::2'], claim: ['10.1.2.9', 'fd00::2'], release: [], cursor: ['fd00::2'] },
  },
  {
    name: 'crash mid-ADD: a recorded address taken since is not reused',
    view: new MemoryView().hold('other', '10.1.2.9'),
    stale: ['10.1.2.9'],
    expect: { ips: ['10.1.2.2', 'fd00::2'], claim: ['10.1.2.2', 'fd00::2'], release: [], cursor: ['10.1.2.2', 'fd00::2'] },
  },
  {
    name: 'a held address outside the ranges now (config changed) is released',
    view: new MemoryView().hold('me', '10.9.9.9', 'fd00::5'),
    held: ['10.9.9.9', 'fd00::5'],
    expect: { ips: ['10.1.2.2', 'fd00::5'], claim: ['10.1.2.2'], release: ['10.9.9.9'], cursor: ['10.1.2.2'] },
  },
  {
    name: 'the same address requested twice is one request',
    view: new MemoryView(),
    requested: ['10.1.2.9', '10.1.2.9'],
    expect: { ips: ['10.1.2.9', 'fd00::2'], claim: ['10.1.2.9', 'fd00::2'], release: [], cursor: ['10.1.2.9', 'fd00::2'] },
  },
];

test.each(rows)('$name', (row) => {
  const d = decideAdd({ attachment: me, rangeSets: dual, requested: ips(...(row.requested ?? [])), held: ips(...(row.held ?? [])), stale: ips(...(row.stale ?? [])), exclude: [] }, row.view);
  expect({ ips: texts(d.ips), claim: texts(d.claim), release: texts(d.release), cursor: d.cursor.map((c) => formatIP(c.ip)) }).toEqual(row.expect);
});

test.each([
  ['two addresses for one set', ['10.1.2.9', '10.1.2.10'], AddressNotAllowedError],
  ['outside every set', ['10.9.9.9'], AddressNotAllowedError],
  ['a gateway', ['fd00::1'], AddressNotAllowedError],
  ['held by another', ['10.1.2.4'], AddressTakenError],
])('a request %s is refused', (_name, requested, error) => {
  const view = new MemoryView().hold('other', '10.1.2.4');
  expect(() => decideAdd({ attachment: me, rangeSets: dual, requested: ips(...requested), held: [], stale: [], exclude: [] }, view)).toThrow(error);
});

test('an exhausted set names its index so the caller can grow it', () => {
  const view = new MemoryView().hold('other', '10.1.2.2');
  try {
    decideAdd({ attachment: me, rangeSets: tiny, requested: [], held: [], stale: [], exclude: [] }, view);
    throw new Error('no error');
  } catch (e) {
    expect(e).toBeInstanceOf(RangeExhaustedError);
    expect((e as RangeExhaustedError).setIndex).toBe(0);
  }
});

describe('decideAddGrowing', () => {
  const wide = canonicalizeRangeSets([[{ subnet: '10.1.2.0/30' }, { subnet: '10.1.3.0/30' }]] as never, 'ipam.ranges');
  test('a full set is grown and the decision made again over the grown set', async () => {
    const view = new MemoryView().hold('other', '10.1.2.2');
    const asked: number[] = [];
    const out = await decideAddGrowing({ attachment: me, rangeSets: tiny, requested: [], held: [], stale: [], exclude: [] }, view, async (index) => {
      asked.push(index);
      return wide[0];
    });
    expect(asked).toEqual([0]);
    expect(texts(out.decision.ips)).toEqual(['10.1.3.2']);
    expect(out.rangeSets).toEqual(wide);
  });

  test('a set that cannot grow (or a mode without growth) is exhausted', async () => {
    const view = new MemoryView().hold('other', '10.1.2.2');
    const input = { attachment: me, rangeSets: tiny, requested: [], held: [], stale: [], exclude: [] };
    await expect(decideAddGrowing(input, view, async () => undefined)).rejects.toThrow(RangeExhaustedError);
    await expect(decideAddGrowing(input, view, undefined)).rejects.toThrow(RangeExhaustedError);
  });
});
