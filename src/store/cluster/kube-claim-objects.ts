/**
 * The Kubernetes objects of the kubernetes cluster store (CRDs in
 * conf-examples/cluster-pool-crds.yaml), built and read here:
 * - IPAMBlockClaim (cluster-scoped): one per claimed block, named after the block, so a
 *   claim is an exclusive create (HTTP 409 when the name exists). spec: block, node,
 *   network. It carries an ownerReference to the Node: when the Node object is deleted,
 *   Kubernetes' garbage collector deletes the node's claims, freeing its blocks.
 * - IPAMHeartbeat (cluster-scoped): one per (node, network), saying until when the node
 *   counts as alive for `blocks release`; also owned by the Node.
 */
import { createHash } from 'node:crypto';
import { formatCidr } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import { parseBlock } from './block-keys';
import type { BlockOwner } from './cluster-store';

export const GROUP = 'pod-ipam.io';
export const VERSION = 'v1';
export const API_VERSION = `${GROUP}/${VERSION}`;
// Written out whole (no shared prefix): the RBAC test finds the API paths in the code by scanning for them.
export const CLAIMS_PATH = '/apis/pod-ipam.io/v1/ipamblockclaims';
export const claimPath = (name: string): string => `/apis/pod-ipam.io/v1/ipamblockclaims/${encodeURIComponent(name)}`;
export const HEARTBEATS_PATH = '/apis/pod-ipam.io/v1/ipamheartbeats';
export const heartbeatPath = (name: string): string => `/apis/pod-ipam.io/v1/ipamheartbeats/${encodeURIComponent(name)}`;

/**
 * "10.0.3.0/24" -> "v4-10.0.3.0-24", "fd00::100/120" -> "v6-fd00--100-120": a valid
 * object name (DNS subdomain), one per block and block per name (the CIDR is canonical and
 * ":" is the only character replaced, by one that IPv6 text never contains otherwise).
 */
export function claimName(cidr: Cidr): string {
  const [address, prefix] = formatCidr(cidr).split('/') as [string, string];
  return `v${cidr.family}-${address.replace(/:/g, '-')}-${prefix}`;
}

/** "node-a/podnet" -> node "node-a", network "podnet" (the store's owner strings, see claim.ts). */
export function splitOwner(owner: string): { node: string; network: string } {
  const slash = owner.indexOf('/');
  return slash < 0 ? { node: owner, network: '' } : { node: owner.slice(0, slash), network: owner.slice(slash + 1) };
}

const joinOwner = (node: string, network: string): string => (network ? `${node}/${network}` : node);

/**
 * A hash, because node and network names may both contain "." (a readable join could name
 * two owners alike) and network names may hold characters object names may not.
 */
export const heartbeatName = (owner: string): string => `hb-${createHash('sha256').update(owner).digest('hex').slice(0, 40)}`;

export interface NodeRef {
  readonly name: string;
  readonly uid: string;
}

const ownerReferences = (node: NodeRef) => [{ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid }];

export function claimObject(cidr: Cidr, owner: string, node: NodeRef): Record<string, unknown> {
  const { network } = splitOwner(owner);
  return {
    apiVersion: API_VERSION,
    kind: 'IPAMBlockClaim',
    metadata: { name: claimName(cidr), labels: { 'pod-ipam.io/node': node.name }, ownerReferences: ownerReferences(node) },
    spec: { block: formatCidr(cidr), node: node.name, network },
  };
}

export function heartbeatObject(owner: string, node: NodeRef, at: Date, until: Date, resourceVersion?: string): Record<string, unknown> {
  const { network } = splitOwner(owner);
  return {
    apiVersion: API_VERSION,
    kind: 'IPAMHeartbeat',
    metadata: { name: heartbeatName(owner), ownerReferences: ownerReferences(node), ...(resourceVersion !== undefined && { resourceVersion }) },
    spec: { node: node.name, network, at: at.toISOString(), until: until.toISOString() },
  };
}

export interface StoredClaim extends BlockOwner {
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion: string;
  /** metadata.creationTimestamp in ms (NaN when absent). */
  readonly created: number;
}

/** A claim object as listed or read; undefined for anything that is not a well-formed claim (the CRD's schema admits none). */
export function readClaim(object: unknown): StoredClaim | undefined {
  const o = object as { metadata?: { name?: unknown; uid?: unknown; resourceVersion?: unknown }; spec?: { block?: unknown; node?: unknown; network?: unknown } } | null;
  const spec = o?.spec;
  const meta = o?.metadata as { name?: unknown; uid?: unknown; resourceVersion?: unknown; creationTimestamp?: unknown } | undefined;
  if (typeof spec?.block !== 'string' || typeof spec.node !== 'string' || typeof meta?.name !== 'string') return undefined;
  const cidr = parseBlock(spec.block);
  if (!cidr) return undefined;
  return {
    block: formatCidr(cidr),
    node: joinOwner(spec.node, typeof spec.network === 'string' ? spec.network : ''),
    name: meta.name,
    uid: typeof meta.uid === 'string' ? meta.uid : '',
    resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
    created: typeof meta.creationTimestamp === 'string' ? Date.parse(meta.creationTimestamp) : NaN,
  };
}

/** A heartbeat object's `{at, until}` as the text validHeartbeat reads. */
export function heartbeatText(object: unknown): string | undefined {
  const spec = (object as { spec?: { at?: unknown; until?: unknown } } | null)?.spec;
  return spec ? JSON.stringify({ at: spec.at, until: spec.until }) : undefined;
}

/**
 * Whether `other` certainly existed before `mine` was created, or may have: the claim
 * that must give way. A resourceVersion is the etcd revision of the object's last write
 * (every etcd-backed kube-apiserver), so among claims, which are never modified, it is the
 * commit order of their creates. A claim modified after all (an operator's label bumps
 * its resourceVersion) would look newer than it is, so one created over 2 s before ours
 * counts as older whatever its resourceVersion. A resourceVersion that is not a number
 * (an API server not backed by etcd) makes every overlap count as older: still safe, but
 * racing claims then all give way and probe elsewhere.
 */
export function claimedBefore(other: StoredClaim, mine: StoredClaim): boolean {
  const numeric = /^[0-9]{1,30}$/;
  if (!numeric.test(other.resourceVersion) || !numeric.test(mine.resourceVersion)) return true;
  if (!(other.created >= mine.created - 2000)) return true;
  return BigInt(other.resourceVersion) < BigInt(mine.resourceVersion);
}

/** DeleteOptions that make the API server delete only this exact object (HTTP 409 otherwise): a fenced removal. */
export const deleteExactly = (uid: string, resourceVersion?: string): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'DeleteOptions',
  preconditions: { uid, ...(resourceVersion && { resourceVersion }) },
});
