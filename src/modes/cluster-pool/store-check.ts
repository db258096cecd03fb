/**
 * A node compares the blocks it serves with what the cluster store says, whenever it
 * talks to the store (claiming, growing, STATUS with an old check) and at least every
 * storeCheckSeconds of ADDs. The store is the truth: after an etcd restore from an older
 * snapshot, or a forced `blocks release` while the node was alive, another node may own
 * one of its blocks, and two nodes would hand out the same addresses. So:
 * - a block the store gives to the node: kept;
 * - a block missing from the store: claimed back when nothing overlaps it, else lost;
 * - a block the store gives to another node (it or an overlapping block): lost. A lost
 *   block is no longer served; its live pods keep their addresses (pod-ipam never
 *   re-numbers a running pod), and STATUS fails naming it until the operator acts.
 */
import { cidrsOverlap, formatCidr, parseCidr } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import type { BlockOwner, ClusterStore } from '../../store/cluster/cluster-store';
import type { LostBlock } from './local-blocks';

export interface CheckOutcome {
  readonly keep: Cidr[];
  readonly lost: LostBlock[];
  /** Blocks that were missing from the store and are claimed back. */
  readonly reclaimed: Cidr[];
}

export async function checkAgainstStore(store: ClusterStore, owner: string, blocks: readonly Cidr[], claims: readonly BlockOwner[], now: Date): Promise<CheckOutcome> {
  const out: CheckOutcome = { keep: [], lost: [], reclaimed: [] };
  for (const block of blocks) {
    const text = formatCidr(block);
    const exact = claims.find((c) => c.block === text);
    if (exact?.node === owner) {
      out.keep.push(block);
      continue;
    }
    const other = exact ?? claims.find((c) => c.node !== owner && overlaps(c.block, block));
    if (other) {
      out.lost.push({ block: text, owner: other.node, since: now.toISOString() });
      continue;
    }
    const result = await store.claim(text, owner);
    // Lost to the node's own overlapping claim is still the node's address space.
    if (result.won || result.owner === owner) {
      out.keep.push(block);
      if (result.won) out.reclaimed.push(block);
    } else {
      out.lost.push({ block: text, owner: result.owner || 'an overlapping claim', since: now.toISOString() });
    }
  }
  return out;
}

function overlaps(text: string, block: Cidr): boolean {
  const parsed = parseCidr(text);
  return !!parsed && cidrsOverlap(parsed.cidr, block);
}
