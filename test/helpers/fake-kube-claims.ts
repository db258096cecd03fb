/**
 * The cluster-pool kubernetes store's custom resources on the stand-in API server
 * (fake-kube-apiserver.ts, through its addRoute): IPAMBlockClaim and IPAMHeartbeat,
 * cluster-scoped, with create (201; 409 AlreadyExists when the name is taken; 422 for a
 * name that is not a DNS subdomain), get, list (paged with limit/continue, as the API
 * server pages), update (409 Conflict on a stale resourceVersion) and delete (409 Conflict
 * when DeleteOptions.preconditions do not match). Kubernetes' garbage collector is not
 * simulated by a timer: a test calls `deleteNode`, which removes the Node and, at once,
 * every object whose ownerReferences name its uid. `deny` makes a verb answer 403.
 * With `everyNodeExists`, any Node name not deleted here answers (uid "uid-<name>"), so
 * suites with many simulated nodes need not create each one.
 */
import { status } from './fake-kube-apiserver';
import type { ExtraRouteCall, FakeKubeApiServer } from './fake-kube-apiserver';

type Obj = Record<string, any>;
const RESOURCES = ['ipamblockclaims', 'ipamheartbeats'] as const;
type Resource = (typeof RESOURCES)[number];
const ROUTE = /^\/apis\/pod-ipam\.io\/v1\/(ipamblockclaims|ipamheartbeats)(?:\/([^/]+))?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export class FakeKubeClaims {
  #objects: Record<Resource, Map<string, Obj>> = { ipamblockclaims: new Map(), ipamheartbeats: new Map() };
  readonly #denied = new Set<string>();
  readonly #server: FakeKubeApiServer;
  readonly #everyNodeExists: boolean;
  readonly #goneNodes = new Set<string>();
  #version = 0;
  #uid = 0;

  constructor(server: FakeKubeApiServer, options: { everyNodeExists?: boolean } = {}) {
    this.#server = server;
    this.#everyNodeExists = options.everyNodeExists ?? false;
    server.addRoute((call) => this.#nodeRoute(call) ?? this.#route(call));
  }

  /** Removes every object (a fresh cluster on the same stand-in). */
  clear(): void {
    for (const map of Object.values(this.#objects)) map.clear();
    this.#goneNodes.clear();
    this.#denied.clear();
  }

  /** Makes `verb` ("create", "get", "list", "update", "delete") on `resource` answer 403 (undo with allow). */
  deny(verb: string, resource: Resource = 'ipamblockclaims'): void {
    this.#denied.add(`${verb} ${resource}`);
  }

  /** Makes every create on `resource` answer 422 Invalid, as an API server whose CRD schema refuses the object would. */
  refuseObjects(resource: Resource = 'ipamblockclaims'): void {
    this.#denied.add(`invalid ${resource}`);
  }

  allow(): void {
    this.#denied.clear();
  }

  /** A copy of every object, for `restore` (what an etcd snapshot under the API server holds). */
  snapshot(): string {
    return JSON.stringify(Object.fromEntries(Object.entries(this.#objects).map(([r, m]) => [r, [...m.entries()]])));
  }

  /** Puts every object back as the snapshot had it (an etcd restore under the API server); resourceVersions keep growing. */
  restore(snapshot: string): void {
    const data = JSON.parse(snapshot) as Record<Resource, [string, Obj][]>;
    for (const r of RESOURCES) this.#objects[r] = new Map(data[r]);
  }

  /**
   * Creates a claim as another node's create would, at this point in the order
   * (resourceVersion): a claim that has not yet run its check, for scripted interleavings.
   */
  createClaim(block: string, node: string, network: string, name: string): void {
    const reply = this.#route({ method: 'POST', path: '/apis/pod-ipam.io/v1/ipamblockclaims', query: new URLSearchParams(), user: 'test', body: { apiVersion: 'pod-ipam.io/v1', kind: 'IPAMBlockClaim', metadata: { name, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid: `uid-${node}` }] }, spec: { block, node, network } } });
    if (reply?.code !== 201) throw new Error(`createClaim ${name}: ${JSON.stringify(reply)}`);
  }

  /** The Node is deleted and the garbage collector deletes what it owned. */
  deleteNode(name: string): number {
    this.#server.deleteNode(name);
    this.#goneNodes.add(name);
    let removed = 0;
    for (const map of Object.values(this.#objects)) {
      for (const [key, o] of map) {
        if ((o.metadata.ownerReferences ?? []).some((r: Obj) => r.kind === 'Node' && r.uid === `uid-${name}`)) {
          map.delete(key);
          removed++;
        }
      }
    }
    return removed;
  }

  /** The claims as `kubectl get ipamblockclaims` would print them: block -> "node/network". */
  claims(): Map<string, string> {
    return new Map([...this.#objects.ipamblockclaims.values()].map((o) => [o.spec.block, o.spec.network ? `${o.spec.node}/${o.spec.network}` : o.spec.node]));
  }

  objects(resource: Resource = 'ipamblockclaims'): Obj[] {
    return [...this.#objects[resource].values()];
  }

  /** Requests to these resources (the stand-in's own log, filtered). */
  requests(): number {
    return this.#server.requests.filter((r) => r.path.startsWith('/apis/pod-ipam.io/')).length;
  }

  #nodeRoute(call: ExtraRouteCall): { code: number; body: unknown } | undefined {
    const m = /^\/api\/v1\/nodes\/([^/]+)$/.exec(call.path);
    if (!this.#everyNodeExists || !m || call.method !== 'GET') return undefined;
    const name = decodeURIComponent(m[1]!);
    if (this.#goneNodes.has(name)) return undefined;
    return { code: 200, body: { kind: 'Node', apiVersion: 'v1', metadata: { name, uid: `uid-${name}`, resourceVersion: '1' }, spec: {} } };
  }

  #route(call: ExtraRouteCall): { code: number; body: unknown } | undefined {
    const m = ROUTE.exec(call.path);
    if (!m) return undefined;
    const resource = m[1] as Resource;
    const name = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    const map = this.#objects[resource];
    const verb = { GET: name ? 'get' : 'list', POST: 'create', PUT: 'update', DELETE: 'delete' }[call.method] ?? call.method.toLowerCase();
    if (this.#denied.has(`${verb} ${resource}`)) {
      return { code: 403, body: status(403, 'Forbidden', `${resource}.pod-ipam.io${name ? ` "${name}"` : ''} is forbidden: User "${call.user}" cannot ${verb} resource "${resource}" in API group "pod-ipam.io" at the cluster scope`) };
    }
    const notFound = () => ({ code: 404, body: status(404, 'NotFound', `${resource}.pod-ipam.io "${name}" not found`) });
    const conflict = (message: string) => ({ code: 409, body: status(409, 'Conflict', message) });
    if (call.method === 'GET' && name) return map.has(name) ? { code: 200, body: map.get(name) } : notFound();
    if (call.method === 'GET') {
      const limit = Number(call.query.get('limit') ?? 0);
      const after = call.query.get('continue') ?? '';
      const names = [...map.keys()].sort().filter((n) => n > after);
      const page = limit > 0 ? names.slice(0, limit) : names;
      const more = page.length < names.length;
      return { code: 200, body: { apiVersion: 'pod-ipam.io/v1', kind: 'List', metadata: { resourceVersion: String(this.#version), ...(more && { continue: page[page.length - 1] }) }, items: page.map((n) => map.get(n)) } };
    }
    if (call.method === 'POST' && !name) {
      const body = call.body as Obj | undefined;
      if (this.#denied.has(`invalid ${resource}`)) return { code: 422, body: status(422, 'Invalid', `${resource}.pod-ipam.io "${String(body?.metadata?.name)}" is invalid: spec.block: Invalid value: "string": spec.block in body should be at most 50 chars long`) };
      const objName = body?.metadata?.name;
      if (typeof objName !== 'string' || !DNS_SUBDOMAIN.test(objName)) return { code: 422, body: status(422, 'Invalid', `${resource}.pod-ipam.io "${String(objName)}" is invalid: metadata.name: Invalid value`) };
      if (map.has(objName)) return { code: 409, body: status(409, 'AlreadyExists', `${resource}.pod-ipam.io "${objName}" already exists`) };
      const stored = { ...body, metadata: { ...body!.metadata, uid: `obj-${++this.#uid}`, resourceVersion: String(++this.#version), creationTimestamp: new Date().toISOString() } };
      map.set(objName, stored);
      return { code: 201, body: stored };
    }
    if (call.method === 'PUT' && name) {
      const current = map.get(name);
      if (!current) return notFound();
      const body = call.body as Obj;
      if (body?.metadata?.resourceVersion !== current.metadata.resourceVersion) return conflict(`Operation cannot be fulfilled on ${resource}.pod-ipam.io "${name}": the object has been modified; please apply your changes to the latest version and try again`);
      const stored = { ...body, metadata: { ...current.metadata, ...body.metadata, resourceVersion: String(++this.#version) } };
      map.set(name, stored);
      return { code: 200, body: stored };
    }
    if (call.method === 'DELETE' && name) {
      const current = map.get(name);
      if (!current) return notFound();
      const pre = (call.body as Obj | undefined)?.preconditions ?? {};
      if ((pre.uid !== undefined && pre.uid !== current.metadata.uid) || (pre.resourceVersion !== undefined && pre.resourceVersion !== current.metadata.resourceVersion)) {
        return conflict(`Operation cannot be fulfilled on ${resource}.pod-ipam.io "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
      }
      map.delete(name);
      return { code: 200, body: current };
    }
    return { code: 405, body: status(405, 'MethodNotAllowed', `${call.method} is not supported on ${call.path}`) };
  }
}

/** The stand-in API server with these resources, and a kubeconfig (token, the test CA) for the plugin to reach it. */
export interface KubeStoreBackend {
  readonly fx: import('../modes/kubernetes/kube-fixture').KubeFixture;
  readonly claims: FakeKubeClaims;
  readonly kubeconfig: string;
  /** The `clusterStore` object of a node's config. */
  store(extra?: Record<string, unknown>): Record<string, unknown>;
  /** The same, as openClusterStore takes it. */
  config(): import('../../src/store/cluster/cluster-store').ClusterStoreConfig;
  close(): Promise<void>;
}

export async function startKubeStoreBackend(): Promise<KubeStoreBackend> {
  const { startKubeFixture, TOKEN } = await import('../modes/kubernetes/kube-fixture');
  const fx = await startKubeFixture();
  const claims = new FakeKubeClaims(fx.server, { everyNodeExists: true });
  const kubeconfig = fx.kubeconfig({ token: TOKEN });
  return {
    fx,
    claims,
    kubeconfig,
    store: (extra = {}) => ({ type: 'kubernetes', kubeconfig, timeoutSeconds: 10, ...extra }),
    config: () => ({ type: 'kubernetes', kubeconfig, timeoutMs: 10000, env: {} }),
    close: () => fx.close(),
  };
}
