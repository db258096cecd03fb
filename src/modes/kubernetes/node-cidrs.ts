/**
 * Reads a Node's pod CIDRs: `spec.podCIDRs` (dual-stack aware, Kubernetes >= 1.16) or
 * the older single `spec.podCIDR`. They are set by kube-controller-manager when it runs
 * with --allocate-node-cidrs; until then the node has none and pods must wait.
 */
import { TryAgainError } from '../../core/errors';
import { formatCidr, parseCidr } from '../../core/ip';
import { getJson } from './api-client';
import type { Connection } from './connection';

/**
 * @returns the node's pod CIDRs in canonical form, in the Node's order (primary family first).
 * @throws TryAgainError when the node has no podCIDR yet, does not exist, or the server
 *   cannot be reached or refuses (see getJson).
 */
export async function fetchNodePodCidrs(conn: Connection, nodeName: string, timeoutMs: number): Promise<string[]> {
  const node = await getJson(conn, `/api/v1/nodes/${encodeURIComponent(nodeName)}`, { timeoutMs, permission: 'get on nodes' }).catch((e: unknown) => {
    if ((e as { status?: number }).status === 404) {
      throw new TryAgainError(`node "${nodeName}" does not exist in the API server at ${conn.server}: set nodeName (or NODE_NAME) to the kubelet's node name`);
    }
    throw e;
  });
  return podCidrsOf(node, nodeName);
}

/** Extracts and validates the CIDRs of a Node object. Exported for tests. */
export function podCidrsOf(node: Record<string, unknown>, nodeName: string): string[] {
  if (node['kind'] !== undefined && node['kind'] !== 'Node') {
    throw new TryAgainError(`the API server returned a ${JSON.stringify(node['kind'])} where a Node was expected for "${nodeName}"`);
  }
  const spec = typeof node['spec'] === 'object' && node['spec'] !== null ? (node['spec'] as Record<string, unknown>) : {};
  const list = Array.isArray(spec['podCIDRs']) && spec['podCIDRs'].length > 0 ? spec['podCIDRs'] : typeof spec['podCIDR'] === 'string' && spec['podCIDR'] ? [spec['podCIDR']] : [];
  if (list.length === 0) {
    throw new TryAgainError(`node ${nodeName} has no podCIDR yet (kube-controller-manager assigns one when it runs with --allocate-node-cidrs)`);
  }
  const families = new Set<number>();
  return list.map((raw: unknown) => {
    const parsed = typeof raw === 'string' ? parseCidr(raw) : undefined;
    if (!parsed || parsed.hostBitsSet) throw new TryAgainError(`node ${nodeName} has a podCIDR that is not a network CIDR: ${JSON.stringify(raw)}`);
    if (families.has(parsed.cidr.family)) throw new TryAgainError(`node ${nodeName} has two IPv${parsed.cidr.family} podCIDRs (${JSON.stringify(list)}); Kubernetes assigns at most one per family`);
    families.add(parsed.cidr.family);
    return formatCidr(parsed.cidr);
  });
}
