/**
 * Block ownership as Kubernetes API objects (kube-claim-objects.ts), reached with the
 * connection code of kubernetes mode (kubeconfig or in-cluster, TLS always verified):
 * no etcd credentials on the nodes, only the node's own API identity. (The one import
 * from src/store into src/modes: one client and one set of connection rules for both
 * users of the API, rather than a copy; it is loaded only on the cold path.)
 *
 * One block, one node, with no transaction across objects: a claim is
 *   1. an exclusive create of the object named after the block (409: the name is taken:
 *      lost, unless it is our own claim from an earlier try);
 *   2. then one consistent list of every claim (a list without resourceVersion is a
 *      quorum read of etcd: it sees every create that finished before it began). If a
 *      claim that overlaps the block (a different mask, hence a different name) was
 *      created before ours (claimedBefore: etcd's revision order), ours withdraws: it
 *      deletes its own object, fenced by uid, and counts as lost.
 * Why that holds in every interleaving: of two overlapping claims, the one created later
 * lists after the earlier one's create has committed, so it sees it, sees that it is
 * earlier, and withdraws; the earlier one gives way only to claims earlier still. So two
 * overlapping claims never both stand, and of racing claims the earliest wins (without
 * the order, "withdraw on any overlap" as in the file store, 40 racing claims all
 * withdrew). The etcd store gets the same from one transaction over the block's ancestor
 * keys and key range, which the API has no equivalent of; objects per unit of the finest
 * mask would make a /16 block 16,384 objects.
 * What it costs: between steps 1 and 2 a claim that will withdraw is visible; a node
 * checking its blocks in exactly that window (possible only between networks of
 * different masks sharing a pool) sees its block overlapped by another node's and stops
 * serving it (the safe direction), reporting it lost.
 *
 * Error codes: unreachable, slow, 5xx, 401: TryAgainError (11); 403, 400, 422 (the API
 * refuses this request as such, say the RBAC or the CRD is missing): ClusterStoreError (107).
 */
import { ClusterStoreError, ConfigError, TryAgainError } from '../../core/errors';
import { cidrsOverlap, formatCidr } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import { ApiStatusError, requestJson } from '../../modes/kubernetes/api-client';
import type { Verb } from '../../modes/kubernetes/api-client';
import { inClusterConnection } from '../../modes/kubernetes/connection';
import type { Connection } from '../../modes/kubernetes/connection';
import { parseBlock } from './block-keys';
import { validHeartbeat } from './cluster-store';
import type { BlockOwner, ClaimResult, ClusterStore, KubernetesStoreConfig } from './cluster-store';
import { CLAIMS_PATH, HEARTBEATS_PATH, claimName, claimPath, claimedBefore, heartbeatPath, claimObject, deleteExactly, heartbeatName, heartbeatObject, heartbeatText, readClaim, splitOwner } from './kube-claim-objects';
import type { NodeRef, StoredClaim } from './kube-claim-objects';

const MANIFEST = 'conf-examples/deploy-cluster-pool.yaml';
/** Claims per list page: a claim is ~600 bytes, well under the client's answer limit. */
const PAGE = 500;
/** A claim's name can be freed between our create (409) and our read: try again this often. */
const CREATE_TRIES = 3;

/** @throws ConfigError (ipam.clusterStore.kubeconfig) when the kubeconfig or in-cluster files are unusable. */
export async function openKubernetesClusterStore(config: KubernetesStoreConfig): Promise<ClusterStore> {
  let conn: Connection;
  try {
    if (config.kubeconfig === undefined) {
      conn = inClusterConnection(config.env);
    } else {
      const { kubeconfigConnection } = await import('../../modes/kubernetes/kubeconfig-connection');
      conn = kubeconfigConnection(config.kubeconfig, { env: config.env, timeoutMs: config.timeoutMs });
    }
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError('ipam.clusterStore.kubeconfig', e.message.replace(/^ipam(\.kubeconfig)?:? ?/, ''), e.details);
    throw e;
  }
  return new KubernetesClusterStore(conn, config.timeoutMs);
}

type Reply = { status: 200; body: Record<string, unknown> } | { status: 404 | 409 };

class KubernetesClusterStore implements ClusterStore {
  readonly description: string;
  readonly #conn: Connection;
  readonly #timeoutMs: number;
  /** Node name -> its uid (for ownerReferences), read once per store. */
  readonly #nodes = new Map<string, Promise<NodeRef>>();

  constructor(conn: Connection, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
    this.description = `kubernetes API ${conn.server} (ipamblockclaims.pod-ipam.io)`;
  }

  async claim(block: string, owner: string): Promise<ClaimResult> {
    const cidr = parseBlock(block);
    if (!cidr) throw new RangeError(`not a block: ${block}`);
    const node = await this.#node(owner);
    let created: StoredClaim | undefined; // by this call
    for (let tries = 1; ; tries++) {
      const reply = await this.#request({ method: 'POST', body: claimObject(cidr, owner, node) }, CLAIMS_PATH, 'create on ipamblockclaims.pod-ipam.io');
      if (reply.status === 200) {
        created = readClaim(reply.body);
        break;
      }
      const existing = await this.#get(claimName(cidr));
      if (existing && existing.node !== owner) return { owner: existing.node, won: false };
      if (existing) break; // our own claim from an earlier try: check it again below
      if (tries >= CREATE_TRIES) return { owner: '', won: false };
    }
    const claims = await this.#list();
    const mine = created ?? claims.find((c) => c.block === formatCidr(cidr) && c.node === owner);
    if (!mine) return { owner: '', won: false }; // our earlier claim was released meanwhile
    const other = claims.find((c) => c.uid !== mine.uid && overlaps(c.block, cidr) && claimedBefore(c, mine));
    if (!other) return { owner, won: true };
    // Withdraw it, that exact object (fenced by uid). Also an older claim of ours found by
    // a retry: a claim created after one that overlaps it can never have stood (its check
    // saw the earlier one), so it is left over from a call that died before its check.
    await this.#delete(mine.name, mine.uid);
    return { owner: other.node, won: false };
  }

  async owner(block: string): Promise<string | undefined> {
    const cidr = parseBlock(block);
    return cidr ? (await this.#get(claimName(cidr)))?.node : undefined;
  }

  async list(): Promise<BlockOwner[]> {
    return (await this.#list()).map((c) => ({ block: c.block, node: c.node }));
  }

  /** Every page of one list; each page is a consistent read (see the top of this file). */
  async #list(): Promise<StoredClaim[]> {
    const out: StoredClaim[] = [];
    let next = '';
    do {
      const query = `?limit=${PAGE}${next ? `&continue=${encodeURIComponent(next)}` : ''}`;
      const reply = await this.#request({ method: 'GET' }, `${CLAIMS_PATH}${query}`, 'list on ipamblockclaims.pod-ipam.io');
      if (reply.status !== 200) throw new ClusterStoreError(`the API server at ${this.#conn.server} has no ipamblockclaims.pod-ipam.io resource (HTTP ${reply.status}): apply conf-examples/cluster-pool-crds.yaml`);
      const items = Array.isArray(reply.body['items']) ? (reply.body['items'] as unknown[]) : [];
      for (const item of items) {
        const claim = readClaim(item);
        if (claim) out.push(claim);
      }
      const cont = (reply.body['metadata'] as { continue?: unknown } | undefined)?.continue;
      next = typeof cont === 'string' ? cont : '';
    } while (next);
    return out;
  }

  /** Fenced: deletes the claim only if it is `owner`'s and still the very object read (uid and resourceVersion). */
  async release(block: string, owner: string): Promise<boolean> {
    const cidr = parseBlock(block);
    const claim = cidr ? await this.#get(claimName(cidr)) : undefined;
    if (!claim || claim.node !== owner) return false;
    return this.#delete(claim.name, claim.uid, claim.resourceVersion);
  }

  async heartbeat(owner: string, ttlSeconds: number): Promise<void> {
    const node = await this.#node(owner);
    const at = new Date();
    const until = new Date(at.getTime() + ttlSeconds * 1000);
    const name = heartbeatName(owner);
    const current = await this.#request({ method: 'GET' }, heartbeatPath(name), 'get on ipamheartbeats.pod-ipam.io');
    if (current.status !== 200) {
      const made = await this.#request({ method: 'POST', body: heartbeatObject(owner, node, at, until) }, HEARTBEATS_PATH, 'create on ipamheartbeats.pod-ipam.io');
      if (made.status === 200) return;
    }
    const again = current.status === 200 ? current : await this.#request({ method: 'GET' }, heartbeatPath(name), 'get on ipamheartbeats.pod-ipam.io');
    if (again.status !== 200) return; // deleted meanwhile (its Node went): nothing to refresh
    const version = (again.body['metadata'] as { resourceVersion?: unknown } | undefined)?.resourceVersion;
    // A 409 here means another call of the same node wrote it just now: fresh enough.
    await this.#request({ method: 'PUT', body: heartbeatObject(owner, node, at, until, typeof version === 'string' ? version : undefined) }, heartbeatPath(name), 'update on ipamheartbeats.pod-ipam.io');
  }

  async lastHeartbeat(owner: string): Promise<string | undefined> {
    const reply = await this.#request({ method: 'GET' }, heartbeatPath(heartbeatName(owner)), 'get on ipamheartbeats.pod-ipam.io');
    return reply.status === 200 ? validHeartbeat(heartbeatText(reply.body)) : undefined;
  }

  async close(): Promise<void> {}

  async #get(name: string): Promise<StoredClaim | undefined> {
    const reply = await this.#request({ method: 'GET' }, claimPath(name), 'get on ipamblockclaims.pod-ipam.io');
    return reply.status === 200 ? readClaim(reply.body) : undefined;
  }

  /** @returns true when this exact object was deleted; false when it is gone or was replaced (409). */
  async #delete(name: string, uid: string, resourceVersion?: string): Promise<boolean> {
    const reply = await this.#request({ method: 'DELETE', body: deleteExactly(uid, resourceVersion) }, claimPath(name), 'delete on ipamblockclaims.pod-ipam.io');
    return reply.status === 200;
  }

  /** The Node the owner's node name names: claims carry an ownerReference to it. */
  #node(owner: string): Promise<NodeRef> {
    const { node } = splitOwner(owner);
    let ref = this.#nodes.get(node);
    if (!ref) {
      ref = this.#request({ method: 'GET' }, `/api/v1/nodes/${encodeURIComponent(node)}`, 'get on nodes').then((reply) => {
        const uid = reply.status === 200 ? (reply.body['metadata'] as { uid?: unknown } | undefined)?.uid : undefined;
        if (reply.status === 404) throw new TryAgainError(`node "${node}" does not exist in the API server at ${this.#conn.server}: its blocks are owned by its Node object; set nodeName (or NODE_NAME) to the kubelet's node name`);
        if (typeof uid !== 'string' || !uid) throw new TryAgainError(`the API server at ${this.#conn.server} returned node "${node}" without a uid`);
        return { name: node, uid };
      });
      ref.catch(() => this.#nodes.delete(node));
      this.#nodes.set(node, ref);
    }
    return ref;
  }

  /**
   * One request; 404 and 409 are answers the store acts on. 403, 400 and 422 are the API
   * refusing the request itself (missing RBAC rule or CRD, an object it will not take):
   * a retry cannot help, so they are code 107, not 11.
   */
  async #request(verb: Verb, apiPath: string, permission: string): Promise<Reply> {
    try {
      return { status: 200, body: await requestJson(this.#conn, verb, apiPath, { timeoutMs: this.#timeoutMs, permission, manifest: MANIFEST }) };
    } catch (e) {
      if (!(e instanceof ApiStatusError)) throw e;
      if (e.status === 404 || e.status === 409) return { status: e.status };
      if (e.status === 403 || e.status === 400 || e.status === 422) throw new ClusterStoreError(e.message, e.details);
      throw e;
    }
  }
}

function overlaps(block: string, cidr: Cidr): boolean {
  const other = parseBlock(block);
  return !!other && cidrsOverlap(other, cidr);
}
