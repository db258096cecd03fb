/**
 * What each mode adds to `status` and `metrics`, read from the files it keeps in the
 * network's state directory (called under the network's lock). A new mode plugs in by
 * adding an entry here; modes without one show only the generic view (ranges recorded by
 * ADD, reservations, capacity warnings).
 */
import { cidrContains, formatCidr, parseCidr } from '../../core/ip';
import type { Reservation } from '../../core/attachment';
import { readLocalBlocks } from '../../modes/cluster-pool/local-blocks';
import { readCache } from '../../modes/kubernetes/cache';

export interface ModeInspection {
  /** Mode facts for --json and the table header (node name, blocks, podCIDRs...). */
  readonly details: Record<string, unknown>;
  /** A label per range subnet ("10.0.3.0/24" → "block of node n1"). */
  readonly rangeLabels: ReadonlyMap<string, string>;
  readonly warnings: readonly string[];
}

export type ModeView = (stateDir: string, reservations: readonly Reservation[]) => ModeInspection;

const clusterPool: ModeView = (stateDir, reservations) => {
  const local = readLocalBlocks(stateDir);
  if (!local) return { details: { blocks: [] }, rangeLabels: new Map(), warnings: ['cluster-pool: this node has no block recorded yet (claimed at the first ADD)'] };
  const blocks = local.blocks.map(formatCidr);
  const lost = local.lost ?? [];
  // A block the store gives to another node: no longer served, STATUS fails until `blocks forget`.
  const warnings = lost.map((l) => {
    const cidr = parseCidr(l.block)?.cidr;
    const live = cidr ? reservations.filter((r) => cidrContains(cidr, r.ip)).length : 0;
    return `cluster-pool: block ${l.block} belongs to ${l.owner} in the cluster store (seen ${l.since}); this node no longer serves it; ${live} reservation(s) still use it (move those pods, then "pod-ipam blocks forget")`;
  });
  return {
    details: { node: local.node, blocks, lost, ...(local.checkedAt !== undefined ? { checkedAt: new Date(local.checkedAt).toISOString() } : {}) },
    rangeLabels: new Map([...blocks.map((b): [string, string] => [b, `block of node ${local.node}`]), ...lost.map((l): [string, string] => [l.block, `LOST: owned by ${l.owner}`])]),
    warnings,
  };
};

const kubernetes: ModeView = (stateDir, reservations) => {
  const notes: string[] = [];
  const cache = readCache(stateDir, (m) => notes.push(m));
  if (!cache) return { details: {}, rangeLabels: new Map(), warnings: [...notes, 'kubernetes: the node\'s podCIDRs have not been read yet (read at the first ADD)'] };
  const warnings = [...notes];
  for (const r of cache.retired) {
    const cidr = parseCidr(r.cidr)?.cidr;
    const live = cidr ? reservations.filter((res) => cidrContains(cidr, res.ip)).length : 0;
    if (live > 0) warnings.push(`kubernetes: node ${cache.node} lost podCIDR ${r.cidr} at ${new Date(r.since).toISOString()} but ${live} reservation(s) still use it; they are kept until their pods go`);
  }
  return {
    details: { node: cache.node, podCIDRs: cache.podCIDRs, fetchedAt: new Date(cache.fetchedAt).toISOString(), retired: cache.retired.map((r) => ({ cidr: r.cidr, since: new Date(r.since).toISOString() })) },
    rangeLabels: new Map(cache.podCIDRs.map((c) => [c, `podCIDR of node ${cache.node}`])),
    warnings,
  };
};

export const MODE_VIEWS: Readonly<Record<string, ModeView>> = { 'cluster-pool': clusterPool, kubernetes };
