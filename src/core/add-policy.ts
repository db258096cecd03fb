/**
 * The ADD policy, pure: given what the attachment holds and what it asks for, decide which
 * address it gets from each range set, what must be claimed, what released, and where
 * round-robin continues. It changes nothing (the store applies the decision), so it is
 * table-tested against an in-memory view (test/core/add-policy.test.ts), as host-local
 * tests its allocator over a fake store.
 *
 * Per range set, in this order:
 * 1. a requested address in the set (validated strictly: see `allocate`);
 * 2. else an address the attachment already holds in the set (a retried ADD must return
 *    exactly what the pod may already have configured), or one its index recorded before a
 *    crash, when still free and allowed;
 * 3. else the next free address, round-robin.
 * So a request for one family never changes what the attachment holds in another.
 */
import { allocate } from './allocator';
import { RangeExhaustedError } from './errors';
import type { AllocationView } from './allocator';
import { cidrContains, sameIP } from './ip';
import type { Cidr, IP } from './ip';
import { sameAttachment } from './attachment';
import type { Attachment } from './attachment';
import { rangeOf } from './range-set';
import type { RangeSet } from './range-set';

export interface AddPolicyInput {
  readonly attachment: Attachment;
  readonly rangeSets: readonly RangeSet[];
  /** Static addresses asked for (every source merged); at most one per range set. */
  readonly requested: readonly IP[];
  /** What the attachment holds now (confirmed by the store). */
  readonly held: readonly IP[];
  /** What its index recorded but it no longer holds (a crash mid-ADD): given back when free. */
  readonly stale: readonly IP[];
  readonly exclude: readonly Cidr[];
}

export interface CursorMove {
  readonly index: number;
  readonly set: RangeSet;
  readonly ip: IP;
}

export interface AddDecision {
  /** One address per range set, in range-set order. */
  readonly ips: IP[];
  /** Addresses to claim (not held now). */
  readonly claim: IP[];
  /** Held addresses it no longer gets; released before the claims (a crash in between leaves it holding less, never a leak). */
  readonly release: IP[];
  /** Newly handed-out addresses: round-robin continues after them (host-local moves its cursor for requested addresses too). */
  readonly cursor: CursorMove[];
}

/**
 * @throws AddressNotAllowedError, AddressTakenError for a bad request
 * @throws RangeExhaustedError when a set has no free address (`setIndex` says which; the caller may grow it and decide again)
 */
export function decideAdd(input: AddPolicyInput, view: AllocationView): AddDecision {
  const { attachment, rangeSets, exclude } = input;
  const reuse = reusable([...input.held, ...input.stale], rangeSets, exclude, attachment, view);
  const ips = allocate({ attachment, rangeSets, requested: input.requested, reuse, exclude }, view);
  const isHeld = (ip: IP) => input.held.some((h) => sameIP(h, ip));
  const claim = ips.filter((ip) => !isHeld(ip));
  const release = input.held.filter((h) => !ips.some((ip) => sameIP(ip, h)));
  const cursor = ips.flatMap((ip, index) => (isHeld(ip) || input.stale.some((s) => sameIP(s, ip)) ? [] : [{ index, set: rangeSets[index]!, ip }]));
  return { ips, claim, release, cursor };
}

/** Grows range set `index` (cluster-pool: claims another block), or undefined when it cannot. */
export type GrowRangeSet = (index: number, current: RangeSet) => Promise<RangeSet | undefined>;

/**
 * decideAdd, growing a full range set when the mode can and deciding again, until every
 * set gives an address or one cannot grow. Returns the decision with the sets it was made
 * over (grown or not), which the result and the network record describe.
 * @throws as decideAdd; RangeExhaustedError when a full set cannot grow
 */
export async function decideAddGrowing(input: AddPolicyInput, view: AllocationView, grow: GrowRangeSet | undefined): Promise<{ decision: AddDecision; rangeSets: RangeSet[] }> {
  let rangeSets = [...input.rangeSets];
  for (;;) {
    try {
      return { decision: decideAdd({ ...input, rangeSets }, view), rangeSets };
    } catch (e) {
      if (!(e instanceof RangeExhaustedError) || !grow) throw e;
      const full = e.setIndex;
      const grown = await grow(full, rangeSets[full]!);
      if (!grown) throw e;
      rangeSets = rangeSets.map((set, i) => (i === full ? grown : set));
    }
  }
}

/** Held or recorded addresses that may be handed to the attachment again: at most one per set, in a range, not a gateway, not excluded, not another's. */
function reusable(candidates: readonly IP[], sets: readonly RangeSet[], exclude: readonly Cidr[], attachment: Attachment, view: AllocationView): IP[] {
  const used = new Set<number>();
  return candidates.filter((ip) => {
    const index = sets.findIndex((set) => rangeOf(set, ip));
    if (index < 0 || used.has(index)) return false;
    const range = rangeOf(sets[index]!, ip)!;
    const owner = view.ownerOf(ip);
    const ok = !sameIP(range.gateway, ip) && !exclude.some((c) => cidrContains(c, ip)) && (!owner || sameAttachment(owner, attachment));
    if (ok) used.add(index);
    return ok;
  });
}
