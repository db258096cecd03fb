/**
 * A changed pool list, mask or node name on a running node must not re-number or orphan
 * its reservations: the node keeps serving the blocks it owns, and these warnings tell
 * the operator (stderr on every call, and the operator status) what no longer matches.
 */
import { cidrContains, formatCidr } from '../../core/ip';
import type { ClusterPoolConfig } from './config';
import type { LocalBlocks, LostBlock } from './local-blocks';

export function mismatchWarnings(local: LocalBlocks, config: ClusterPoolConfig): string[] {
  const warnings: string[] = [];
  if (local.node !== config.nodeName) {
    warnings.push(`cluster-pool: this node's blocks were claimed as node "${local.node}" but the node name is now "${config.nodeName}"; they are still served, and still recorded under "${local.node}" in the cluster store`);
  }
  for (const block of local.blocks) {
    const fam = config.families.find((f) => f.family === block.family);
    const text = formatCidr(block);
    if (!fam) {
      warnings.push(`cluster-pool: owned block ${text} is IPv${block.family} but no IPv${block.family} pool is configured any more; it is no longer served (existing reservations stay until DEL)`);
    } else if (!fam.pools.some((p) => cidrContains(p, { family: block.family, value: block.network }))) {
      warnings.push(`cluster-pool: owned block ${text} is outside the configured pools (${fam.pools.map(formatCidr).join(', ')}); it is still served`);
    } else if (block.prefix !== fam.mask) {
      warnings.push(`cluster-pool: owned block ${text} has mask /${block.prefix} but clusterPoolIPv${block.family}MaskSize is now ${fam.mask}; it is still served, new blocks get /${fam.mask}`);
    }
  }
  return warnings;
}

/** Blocks the store gives to another node: no longer served, but pods may still use them. */
export function lostWarnings(lost: readonly LostBlock[], nodeName: string): string[] {
  return lost.map((l) =>
    `cluster-pool: block ${l.block} belongs to ${l.owner} in the cluster store (seen ${l.since}), not to node ${nodeName}: this node stopped handing out its addresses, but pods that got one before may share it with pods of that node; move them, then run "pod-ipam blocks forget --config FILE" on this node`);
}
