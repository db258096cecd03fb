/**
 * A stand-in for kube-apiserver, enough for pod-ipam's kubernetes mode: HTTPS on
 * loopback with a CA made here by openssl, bearer-token and client-certificate
 * authentication, per-user RBAC on "nodes" and "pods", Node and Pod objects as the API
 * server serialises them, metav1.Status bodies for 401/403/404, a slow mode (for
 * timeouts), a garbage mode (for non-JSON answers) and a log of every request.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface TestPki {
  readonly dir: string;
  /** CA that signed the server and client certificates. */
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** Client certificate (CN = clientUser) signed by the CA, for kubeconfig client-cert auth. */
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly clientUser: string;
  /** A CA that signed nothing here: a client trusting it must refuse the server. */
  readonly otherCaFile: string;
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
};
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Makes a CA, a server certificate for 127.0.0.1/localhost, a client certificate and an unrelated CA (EC keys: fast). */
export function makeTestPki(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-pki-'))): TestPki {
  const clientUser = 'system:serviceaccount:kube-system:pod-ipam-cert';
  openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=fake-kube-ca'], dir);
  openssl(['req', '-x509', ...EC, '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=some-other-ca'], dir);
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subject] of [['server', '/CN=kube-apiserver'], ['client', `/CN=${clientUser}`]] as const) {
    openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
  }
  const f = (name: string): string => path.join(dir, name);
  return {
    dir,
    caFile: f('ca.crt'),
    serverCertFile: f('server.crt'),
    serverKeyFile: f('server.key'),
    clientCertFile: f('client.crt'),
    clientKeyFile: f('client.key'),
    clientUser,
    otherCaFile: f('other-ca.crt'),
  };
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  /** Authenticated user, or undefined when the request was refused with 401. */
  readonly user: string | undefined;
}

type Resource = 'nodes' | 'pods';

/** One request as an extra route sees it: the body is parsed JSON (undefined when empty or not JSON). */
export interface ExtraRouteCall {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly user: string;
  readonly body: unknown;
}

/**
 * A resource a test suite adds to the stand-in (a pod list, a custom resource): the reply, or
 * undefined to leave the request to the next route. Kept outside this file so that suites
 * extending the stand-in for different resources do not edit the same code.
 */
export type ExtraRoute = (call: ExtraRouteCall) => { code: number; body: unknown } | undefined;

export class FakeKubeApiServer {
  readonly requests: RecordedRequest[] = [];
  /** token -> user name. */
  readonly tokens = new Map<string, string>();
  /** user -> resources it may get; a user absent here may get everything. */
  readonly permissions = new Map<string, ReadonlySet<Resource>>();
  /** Milliseconds to wait before answering (0: answer at once). */
  delayMs = 0;
  /** While set, replies to requests for `path` wait for `until` (a test holds an answer until it has done something). */
  hold: { readonly path: string; readonly until: Promise<void> } | undefined;
  /** Answer 200 with a body that is not JSON. */
  garbage = false;
  readonly #nodes = new Map<string, Record<string, unknown>>();
  readonly #pods = new Map<string, Record<string, unknown>>();
  readonly #server: https.Server;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #extraRoutes: ExtraRoute[] = [];

  private constructor(server: https.Server) {
    this.#server = server;
  }

  /** Starts on 127.0.0.1 with an ephemeral port. */
  static async start(pki: TestPki): Promise<FakeKubeApiServer> {
    const server = https.createServer({
      key: fs.readFileSync(pki.serverKeyFile),
      cert: fs.readFileSync(pki.serverCertFile),
      ca: fs.readFileSync(pki.caFile),
      // Like kube-apiserver: a client certificate is optional, verified when given.
      requestCert: true,
      rejectUnauthorized: false,
    });
    const fake = new FakeKubeApiServer(server);
    server.on('request', (req, res) => fake.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** Sets the Node's spec: `podCIDRs` (and `podCIDR` = the first, as the API server keeps them in step) or, with `legacy`, only `podCIDR`. */
  setNode(name: string, podCIDRs: readonly string[], options: { legacy?: boolean } = {}): void {
    const spec: Record<string, unknown> = options.legacy ? { podCIDR: podCIDRs[0] } : podCIDRs.length > 0 ? { podCIDR: podCIDRs[0], podCIDRs: [...podCIDRs] } : {};
    this.#nodes.set(name, {
      kind: 'Node',
      apiVersion: 'v1',
      metadata: { name, uid: `uid-${name}`, resourceVersion: '1', labels: { 'kubernetes.io/hostname': name } },
      spec,
      status: { addresses: [{ type: 'InternalIP', address: '192.0.2.10' }] },
    });
  }

  deleteNode(name: string): void {
    this.#nodes.delete(name);
  }

  setPod(namespace: string, name: string, annotations: Record<string, string> = {}): void {
    this.#pods.set(`${namespace}/${name}`, {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: { name, namespace, uid: `uid-${namespace}-${name}`, annotations },
      spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'busybox' }] },
      status: { phase: 'Pending' },
    });
  }

  /** Adds a route consulted, after authentication, before the built-in Node and Pod GETs. */
  addRoute(route: ExtraRoute): void {
    this.#extraRoutes.push(route);
  }

  /** Requests whose path starts with `prefix` (all of them without one). */
  count(prefix = '/'): number {
    return this.requests.filter((r) => r.path.startsWith(prefix)).length;
  }

  close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.#dispatch(req, res, Buffer.concat(chunks).toString('utf8')));
  }

  #dispatch(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, rawBody: string): void {
    const url = new URL(req.url ?? '/', 'https://x');
    const user = this.#authenticate(req);
    this.requests.push({ method: req.method ?? '', path: url.pathname, user });
    const send = (code: number, body: unknown): void => {
      const reply = (): void => {
        if (res.destroyed) return;
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(this.garbage && code === 200 ? '<html>not json</html>' : JSON.stringify(body));
      };
      if (this.hold && this.hold.path === url.pathname) {
        void this.hold.until.then(reply);
        return undefined;
      }
      if (this.delayMs <= 0) return reply();
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        reply();
      }, this.delayMs);
      this.#timers.add(timer);
      return undefined;
    };
    if (user === undefined) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    const call: ExtraRouteCall = { method: req.method ?? '', path: url.pathname, query: url.searchParams, user, body: parseBody(rawBody) };
    for (const route of this.#extraRoutes) {
      const reply = route(call);
      if (reply) return send(reply.code, reply.body);
    }
    const route = /^\/api\/v1\/nodes\/([^/]+)$/.exec(url.pathname) ?? /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !route) return send(404, status(404, 'NotFound', 'the server could not find the requested resource'));
    const resource: Resource = route.length === 2 ? 'nodes' : 'pods';
    const name = decodeURIComponent(route[route.length - 1]!);
    const namespace = resource === 'pods' ? decodeURIComponent(route[1]!) : undefined;
    const allowed = this.permissions.get(user);
    if (allowed && !allowed.has(resource)) {
      const scope = namespace ? `in the namespace "${namespace}"` : 'at the cluster scope';
      return send(403, status(403, 'Forbidden', `${resource} "${name}" is forbidden: User "${user}" cannot get resource "${resource}" in API group "" ${scope}`));
    }
    const object = resource === 'nodes' ? this.#nodes.get(name) : this.#pods.get(`${namespace}/${name}`);
    if (!object) return send(404, status(404, 'NotFound', `${resource} "${name}" not found`));
    return send(200, object);
  }

  #authenticate(req: import('node:http').IncomingMessage): string | undefined {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) return this.tokens.get(auth.slice(7));
    const socket = req.socket as TLSSocket;
    if (socket.authorized) {
      const cn = socket.getPeerCertificate().subject?.CN;
      return typeof cn === 'string' ? cn : undefined;
    }
    return undefined;
  }
}

function parseBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** A Kubernetes Status object, as the API server sends with an error. */
export function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}
