/**
 * The pods bound to one node, as `pod-ipam reconcile` needs them: their UIDs, read with
 * one paginated LIST (`fieldSelector=spec.nodeName=NODE`, `limit`/`continue`), as
 * kubectl and client-go's pager read large lists. Not used by the plugin: only the
 * operator command and `install --reconcile-every` call it.
 */
import { TryAgainError } from '../../core/errors';
import { getJson } from './api-client';
import type { Connection } from './connection';

export interface NodePods {
  /** metadata.uid of every pod bound to the node, whatever its phase. */
  readonly uids: ReadonlySet<string>;
  /** Requests it took (one per page; more when an expired continue token forced a restart). */
  readonly pages: number;
}

export interface ListOptions {
  readonly timeoutMs: number;
  /** `limit` per request; the API server may send fewer. */
  readonly pageSize: number;
}

const PODS = '/api/v1/pods';
/** A continue token outlives its snapshot after ~5 minutes (etcd compaction): start over, at most this often. */
const MAX_RESTARTS = 2;

/**
 * Confirms the Node exists: a node name that names no Node would make every pod look
 * gone (a pod list for it is simply empty).
 * @throws TryAgainError (404 named), or as getJson
 */
export async function assertNodeExists(conn: Connection, nodeName: string, timeoutMs: number): Promise<void> {
  await getJson(conn, `/api/v1/nodes/${encodeURIComponent(nodeName)}`, { timeoutMs, permission: 'get on nodes' }).catch((e: unknown) => {
    if ((e as { status?: number }).status === 404) {
      throw new TryAgainError(`node "${nodeName}" does not exist in the API server at ${conn.server}: give the kubelet's node name (--node-name, NODE_NAME or the config's nodeName)`);
    }
    throw e;
  });
}

/**
 * Every pod bound to `nodeName`. Each page is read in full or the whole call fails: a
 * partial list would make the pods of the missing pages look gone.
 * @throws TryAgainError (ApiStatusError) when a page cannot be read or is not a PodList
 */
export async function listNodePods(conn: Connection, nodeName: string, opts: ListOptions): Promise<NodePods> {
  let pages = 0;
  for (let restarts = 0; ; restarts++) {
    const uids = new Set<string>();
    let token: string | undefined;
    let expired = false;
    do {
      const query = new URLSearchParams({ fieldSelector: `spec.nodeName=${nodeName}`, limit: String(opts.pageSize) });
      if (token) query.set('continue', token);
      pages++;
      let page: Record<string, unknown>;
      try {
        page = await getJson(conn, `${PODS}?${query.toString()}`, { timeoutMs: opts.timeoutMs, permission: 'list on pods' });
      } catch (e) {
        // 410 Gone: the continue token's snapshot was compacted away; the list starts over.
        if (token && (e as { status?: number }).status === 410 && restarts < MAX_RESTARTS) {
          expired = true;
          break;
        }
        throw e;
      }
      token = readPage(page, uids, conn.server);
    } while (token);
    if (!expired) return { uids, pages };
  }
}

const MIRROR_ANNOTATION = 'kubernetes.io/config.mirror';

/** Adds the page's pod UIDs to `uids`; returns its continue token ('' or undefined: last page). */
function readPage(page: Record<string, unknown>, uids: Set<string>, server: string): string | undefined {
  const items = page['items'];
  if (!Array.isArray(items) || (page['kind'] !== undefined && page['kind'] !== 'PodList')) {
    throw new TryAgainError(`the API server at ${server} answered the pod list with something that is not a PodList`);
  }
  for (const item of items) {
    const metadata = (item as { metadata?: { uid?: unknown; annotations?: Record<string, unknown> } } | null)?.metadata;
    const uid = metadata?.uid;
    if (typeof uid !== 'string' || uid === '') throw new TryAgainError(`the API server at ${server} sent a pod without metadata.uid in the pod list`);
    uids.add(uid);
    // A static pod's sandbox carries the UID kubelet gave it (K8S_POD_UID), which is not the
    // mirror pod's metadata.uid in the API; the mirror names it in this annotation.
    const mirrorOf = metadata?.annotations?.[MIRROR_ANNOTATION];
    if (typeof mirrorOf === 'string' && mirrorOf !== '') uids.add(mirrorOf);
  }
  const token = (page['metadata'] as { continue?: unknown } | undefined)?.continue;
  return typeof token === 'string' ? token : undefined;
}
