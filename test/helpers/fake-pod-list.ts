/**
 * The pod LIST of the stand-in API server, added through its addRoute(): GET /api/v1/pods
 * with `fieldSelector=spec.nodeName=NODE` and `limit`/`continue` pagination, as
 * kube-apiserver serves it (a PodList, `metadata.continue` while more pages remain, 410
 * Gone for a continue token whose snapshot expired), RBAC by the server's `permissions`
 * ("pods" covers get and list here), and a record of each list request's query.
 */
import { status } from './fake-kube-apiserver';
import type { ExtraRouteCall, FakeKubeApiServer } from './fake-kube-apiserver';

export interface PodOnNode {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly nodeName: string;
  /** A static pod's mirror: the UID kubelet gave the pod (kubernetes.io/config.mirror). */
  readonly mirrorOf?: string;
}

export class FakePodList {
  /** namespace/name -> pod; re-adding a name replaces the pod (a recreated pod has a new uid). */
  readonly #pods = new Map<string, PodOnNode>();
  /** Query of every list request, in order. */
  readonly queries: URLSearchParams[] = [];
  /** Continue tokens the server answers once with 410 Gone (their snapshot expired). */
  readonly expiredTokens = new Set<string>();
  /** Answer every list request with this status (e.g. 500), when set. */
  failWith: number | undefined;
  /** Answer requests that carry a continue token (every page but the first) with this status, when set. */
  failContinued: number | undefined;

  constructor(server: FakeKubeApiServer) {
    server.addRoute((call) => this.#route(server, call));
  }

  add(pod: PodOnNode): void {
    this.#pods.set(`${pod.namespace}/${pod.name}`, pod);
  }

  clear(): void {
    this.#pods.clear();
  }

  delete(namespace: string, name: string): void {
    this.#pods.delete(`${namespace}/${name}`);
  }

  #route(server: FakeKubeApiServer, call: ExtraRouteCall): { code: number; body: unknown } | undefined {
    if (call.method !== 'GET' || call.path !== '/api/v1/pods') return undefined;
    this.queries.push(call.query);
    const allowed = server.permissions.get(call.user);
    if (allowed && !allowed.has('pods')) {
      return { code: 403, body: status(403, 'Forbidden', `pods is forbidden: User "${call.user}" cannot list resource "pods" in API group "" at the cluster scope`) };
    }
    if (this.failWith !== undefined) return { code: this.failWith, body: status(this.failWith, 'InternalError', 'etcdserver: request timed out') };
    if (this.failContinued !== undefined && call.query.has('continue')) return { code: this.failContinued, body: status(this.failContinued, 'InternalError', 'etcdserver: request timed out') };
    const selector = call.query.get('fieldSelector') ?? '';
    const match = /^spec\.nodeName=(.+)$/.exec(selector);
    if (selector !== '' && !match) return { code: 400, body: status(400, 'BadRequest', `unable to parse requested field selector ${selector}`) };
    const token = call.query.get('continue') ?? '';
    if (token && this.expiredTokens.has(token)) {
      // Once: the list started over gets a token of a new snapshot (here the same string, honoured again).
      this.expiredTokens.delete(token);
      return { code: 410, body: status(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.') };
    }
    // The token is the offset into the name-ordered list (the real one is opaque).
    const offset = token ? Number(Buffer.from(token, 'base64').toString('utf8')) : 0;
    const limit = Number(call.query.get('limit') ?? '0');
    const all = [...this.#pods.values()].filter((p) => !match || p.nodeName === match[1]).sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    const end = limit > 0 ? offset + limit : all.length;
    const items = all.slice(offset, end).map((p) => ({
      metadata: { name: p.name, namespace: p.namespace, uid: p.uid, resourceVersion: '7', ...(p.mirrorOf && { annotations: { 'kubernetes.io/config.mirror': p.mirrorOf } }) },
      spec: { nodeName: p.nodeName, containers: [{ name: 'c', image: 'busybox' }] },
      status: { phase: 'Running' },
    }));
    const more = end < all.length;
    return {
      code: 200,
      body: { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '7', ...(more && { continue: Buffer.from(String(end)).toString('base64'), remainingItemCount: all.length - end }) }, items },
    };
  }
}
