/**
 * Choosing and claiming one block. The store's claims are listed once (cost grows with the
 * number of nodes, not the pool size); the node's probe starts at a hash of its name and
 * steps forward past blocks known to be taken, then claims atomically. Losing a race just
 * marks the block taken and moves on, so nodes starting at once mostly never meet.
 */
import { PoolExhaustedError, TryAgainError } from '../../core/errors';
import { cidrsOverlap, formatCidr, parseCidr } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import type { BlockOwner, ClusterStore } from '../../store/cluster/cluster-store';
import type { BlockGrid } from './block-grid';

/**
 * The owner recorded in the cluster store: the node and the network. Two cluster-pool
 * networks sharing one store and pool must never be handed the same block on one node
 * (their pods would get the same addresses), so each (node, network) claims its own.
 * Neither a node name (DNS-1123) nor a network name contains "/".
 */
export const storeOwner = (nodeName: string, network: string): string => `${nodeName}/${network}`;

/** Races lost in a row before giving up with "try again" (each is one store round trip). */
const MAX_LOST_RACES = 32;

/** Blocks of the grid's family the store says `node` owns (any pool or mask: never orphan one). */
export function ownedBy(claims: readonly BlockOwner[], node: string, grid: BlockGrid): Cidr[] {
  return claims.flatMap((c) => {
    const cidr = c.node === node ? parseCidr(c.block) : undefined;
    return cidr && !cidr.hostBitsSet && cidr.cidr.family === grid.pools.family ? [cidr.cidr] : [];
  });
}

/**
 * Claims a free block of `grid` for `node`. `claims` is what the store listed plus the
 * node's own local blocks (served or lost): a block the node already has is never
 * claimed again, even when the store has lost its record of it.
 * @throws PoolExhaustedError when every block is owned; TryAgainError after too many lost races.
 */
export async function claimFreeBlock(store: ClusterStore, grid: BlockGrid, node: string, claims: readonly BlockOwner[]): Promise<Cidr> {
  const { taken, foreign } = takenBlocks(grid, claims);
  const start = await grid.startIndex(node);
  let lost = 0;
  for (let step = 0n; step < grid.total && BigInt(taken.size) < grid.total; step++) {
    const index = (start + step) % grid.total;
    if (taken.has(index)) continue;
    const block = grid.blockAt(index);
    if (foreign.some((f) => cidrsOverlap(f, block))) continue;
    const { won } = await store.claim(formatCidr(block), node);
    if (won) return block;
    taken.add(index);
    if (++lost >= MAX_LOST_RACES) throw new TryAgainError(`lost ${lost} races for a free block of ${grid.describe()} in ${store.description}; many nodes are claiming at once, retry`);
  }
  throw new PoolExhaustedError(
    `cluster pool exhausted: every block of ${grid.describe()} is owned by a node`,
    'free the blocks of removed nodes with "pod-ipam blocks release --node NAME", add a pool to the list, or (on a new cluster) choose a longer mask',
  );
}


/** The grid's blocks the claims take: by index, and claims off the grid that overlap it. */
function takenBlocks(grid: BlockGrid, claims: readonly BlockOwner[]): { taken: Set<bigint>; foreign: Cidr[] } {
  const taken = new Set<bigint>();
  // Claims not on this grid (made under another mask, or overlapping from elsewhere) still
  // make the blocks they overlap unusable.
  const foreign: Cidr[] = [];
  for (const c of claims) {
    const parsed = parseCidr(c.block);
    if (!parsed || parsed.cidr.family !== grid.pools.family) continue;
    const index = grid.indexOf(parsed.cidr);
    if (index !== undefined) taken.add(index);
    else if (grid.pools.pools.some((p) => cidrsOverlap(p, parsed.cidr))) foreign.push(parsed.cidr);
  }
  return { taken, foreign };
}

/**
 * Whether claimFreeBlock could find a block, without claiming (STATUS). Only the first
 * taken + overlapped + 1 indices can all be unusable, so the scan is bounded by the claims,
 * never by the pool's size.
 */
export function hasFreeBlock(grid: BlockGrid, claims: readonly BlockOwner[]): boolean {
  const { taken, foreign } = takenBlocks(grid, claims);
  const blockBits = BigInt(grid.pools.mask);
  const overlapped = foreign.reduce((sum, f) => sum + (BigInt(f.prefix) < blockBits ? 1n << (blockBits - BigInt(f.prefix)) : 1n), 0n);
  const bound = BigInt(taken.size) + overlapped + 1n;
  for (let index = 0n; index < grid.total && index < bound; index++) {
    if (taken.has(index)) continue;
    const block = grid.blockAt(index);
    if (!foreign.some((f) => cidrsOverlap(f, block))) return true;
  }
  return false;
}
