/**
 * The allocator decides which addresses an attachment gets; it changes nothing. The
 * store commits the decision afterwards, so a request that fails for its second range
 * set has reserved nothing for its first (no rollback needed for a decision not made).
 */
import { AddressNotAllowedError, AddressTakenError, RangeExhaustedError } from './errors';
import { cidrContains, formatCidr, formatIP, sameIP } from './ip';
import type { Cidr, IP } from './ip';
import { describeAttachment, sameAttachment } from './attachment';
import type { Attachment } from './attachment';
import { rangeOf } from './range-set';
import type { RangeSet } from './range-set';
import { describeRange } from './range';
import { roundRobin } from './round-robin';

/** What the allocator may ask of the state: read-only, answered under the network lock. */
export interface AllocationView {
  /** The attachment holding `ip`, if it is reserved. */
  ownerOf(ip: IP): Attachment | undefined;
  /** The last address handed out from range set `index` (the round-robin cursor). */
  lastReserved(index: number, set: RangeSet): IP | undefined;
}

export interface AllocationRequest {
  readonly attachment: Attachment;
  readonly rangeSets: readonly RangeSet[];
  /** Static addresses asked for; each must fall in a different range set. The same address twice is one request. */
  readonly requested: readonly IP[];
  /**
   * Addresses to prefer for the sets nothing is requested from (what the attachment holds),
   * already checked as reusable: at most one per set, each in a range of its set.
   */
  readonly reuse?: readonly IP[];
  /** Addresses never handed out, dynamically or on request. */
  readonly exclude: readonly Cidr[];
}

/**
 * Picks one address per range set, in range-set order.
 * @throws AddressNotAllowedError a requested address is outside every set, a gateway, excluded, or two fall in one set
 * @throws AddressTakenError a requested address is held by another attachment
 * @throws RangeExhaustedError a set has no free address (`setIndex` says which)
 */
export function allocate(request: AllocationRequest, view: AllocationView): IP[] {
  const { attachment, rangeSets, exclude } = request;
  const chosen: (IP | undefined)[] = rangeSets.map(() => undefined);
  for (const ip of request.requested) {
    const index = rangeSets.findIndex((set) => rangeOf(set, ip) !== undefined);
    const range = index >= 0 ? rangeOf(rangeSets[index]!, ip) : undefined;
    const text = formatIP(ip);
    if (!range) throw new AddressNotAllowedError(`requested address ${text} is not inside any configured range`, `ranges: ${rangeSets.map((s) => s.map(describeRange).join(', ')).join('; ')}`);
    if (sameIP(range.gateway, ip)) throw new AddressNotAllowedError(`requested address ${text} is the gateway of ${formatCidr(range.subnet)}`);
    const hole = exclude.find((c) => cidrContains(c, ip));
    if (hole) throw new AddressNotAllowedError(`requested address ${text} is excluded by ipam.exclude ${formatCidr(hole)}`);
    if (chosen[index] && sameIP(chosen[index]!, ip)) continue;
    if (chosen[index]) throw new AddressNotAllowedError(`requested addresses ${formatIP(chosen[index]!)} and ${text} fall in the same range set; request at most one per range set`);
    const owner = view.ownerOf(ip);
    if (owner && !sameAttachment(owner, attachment)) {
      throw new AddressTakenError(`requested address ${text} is already reserved for ${describeAttachment(owner)}`, 'release it first (DEL of that container, or `pod-ipam release`) or request another address');
    }
    chosen[index] = ip;
  }
  const reused = (index: number) => request.reuse?.find((ip) => rangeOf(rangeSets[index]!, ip) !== undefined);
  return rangeSets.map((set, index) => chosen[index] ?? reused(index) ?? nextFree(set, index, attachment, exclude, view));
}

function nextFree(set: RangeSet, index: number, attachment: Attachment, exclude: readonly Cidr[], view: AllocationView): IP {
  const gateways = set.map((r) => r.gateway);
  for (const ip of roundRobin(set, view.lastReserved(index, set), exclude)) {
    if (gateways.some((g) => sameIP(g, ip))) continue;
    const owner = view.ownerOf(ip);
    if (!owner || sameAttachment(owner, attachment)) return ip;
  }
  throw new RangeExhaustedError(`no free address left in ${set.map(describeRange).join(', ')}`, 'release leaked addresses (`pod-ipam gc`, `pod-ipam release`) or add a range to the range set', index);
}
