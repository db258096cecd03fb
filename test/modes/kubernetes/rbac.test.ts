/**
 * The ClusterRoles of conf-examples/deploy-*.yaml grant exactly what pod-ipam calls.
 * The API paths are derived from the code (every `/api/...` or `/apis/...` literal under
 * src/, with `${...}` as one path segment, and the HTTP methods the client sends),
 * the plugin and `pod-ipam reconcile` are run against the stand-in API server (no real
 * kube-apiserver runs here) until they have requested every one of them, and every
 * request they made must be one of them. The RBAC rule each path needs follows the API's
 * URL conventions; the manifest's role must be exactly the rules its own conflist makes
 * the plugin use plus those of the reconcile its container runs (--reconcile-every).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFESTS, readManifest } from '../../helpers/manifest';
import { ROOT, runPlugin } from '../../helpers/run-plugin';
import { FakePodList } from '../../helpers/fake-pod-list';
import { cli } from '../../cli/cli';
import { FakeKubeClaims } from '../../helpers/fake-kube-claims';
import { startKubeFixture } from './kube-fixture';
import type { KubeFixture } from './kube-fixture';

interface Rule {
  readonly apiGroup: string;
  readonly resource: string;
  readonly verb: string;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}
const API_PATH = /[`'"](\/apis?\/[^`'"]*)[`'"]/g;
const SRC = sources(path.join(ROOT, 'src')).map((f) => ({ file: path.relative(ROOT, f), text: fs.readFileSync(f, 'utf8') }));
/** API path templates in the code, `${...}` kept as written. */
const TEMPLATES = [...new Set(SRC.flatMap(({ text }) => [...text.matchAll(API_PATH)].map((m) => m[1]!)))];
const asRegExp = (t: string): RegExp => new RegExp(`^${t.split(/\$\{[^}]*\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+')}$`);
/** The HTTP methods the Kubernetes client sends. */
const METHODS = [...new Set([...fs.readFileSync(path.join(ROOT, 'src/modes/kubernetes/api-client.ts'), 'utf8').matchAll(/method: '([A-Z]+)'/g)].map((m) => m[1]))];
/** The only code that calls the API: kubernetes mode, and cluster-pool's kubernetes store. */
const API_CALLERS = /^src\/(modes\/kubernetes\/|store\/cluster\/(kubernetes-cluster-store|kube-claim-objects)\.ts$)/;

/** The RBAC rule a request needs, by the API's URL layout: /api/v1 or /apis/GROUP/VERSION, [namespaces/NS/], RESOURCE[/NAME]. */
function ruleFor(method: string, urlPath: string): Rule {
  const parts = urlPath.split('/').filter(Boolean);
  const [apiGroup, rest] = parts[0] === 'api' ? ['', parts.slice(2)] : [parts[1]!, parts.slice(3)];
  const scoped = rest[0] === 'namespaces' && rest.length > 2 ? rest.slice(2) : rest;
  const named = scoped.length > 1;
  const verb = method === 'GET' ? (named ? 'get' : 'list') : { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method]!;
  return { apiGroup, resource: scoped[0]!, verb };
}
const key = (r: Rule): string => `${r.apiGroup}/${r.resource}:${r.verb}`;

let fx: KubeFixture;
let claims: FakeKubeClaims;
let n = 0;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-a', ['10.244.2.0/24']);
  fx.server.setPod('default', 'web');
  new FakePodList(fx.server).add({ namespace: 'default', name: 'web', uid: 'uid-default-web', nodeName: 'node-a' });
  claims = new FakeKubeClaims(fx.server); // the kubernetes store's claim and heartbeat resources
});
afterAll(() => fx.close());

/**
 * The rules used by a cold ADD and a STATUS with this ipam config; also checks each
 * request is a path of the code. cluster-pool with the kubernetes store also runs an ADD
 * whose store check is due (the heartbeat is updated) and frees its block: the plugin
 * deletes its own claim when it loses an overlap (the same delete `blocks release` makes).
 */
async function rulesUsed(ipam: Record<string, unknown>): Promise<string[]> {
  fx.server.requests.length = 0;
  claims.clear(); // a first claim and a first heartbeat, whatever ran before
  const dataDir = path.join(fx.dir, `rbac-${n++}`);
  const kubeconfig = fx.kubeconfig({ token: 'sa-token-123' });
  const kubeStore = ipam['mode'] === 'cluster-pool' && (ipam['clusterStore'] as { type?: string } | undefined)?.type === 'kubernetes';
  const credentials = kubeStore ? { clusterStore: { ...(ipam['clusterStore'] as object), kubeconfig } } : { kubeconfig };
  const stdin = { cniVersion: '1.1.0', name: 'k8s', ipam: { ...ipam, dataDir, ...credentials, nodeName: 'node-a' } };
  const cniArgs = 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web';
  expect((await runPlugin({ command: 'ADD', stdin, cniArgs })).code).toBe(0);
  expect((await runPlugin({ command: 'STATUS', stdin, cniArgs })).code).toBe(0);
  if (kubeStore) {
    expect((await runPlugin({ command: 'ADD', containerId: 'c2', stdin: { ...stdin, ipam: { ...stdin.ipam, storeCheckSeconds: 0 } }, cniArgs })).code).toBe(0);
    const conf = path.join(dataDir, 'operator.conf');
    fs.writeFileSync(conf, JSON.stringify({ ...stdin, ipam: { ...stdin.ipam, dataDir: path.join(dataDir, 'elsewhere') } }));
    expect((await runPlugin({ command: undefined, argv: ['blocks', 'release', '--config', conf, '--node', 'node-a', '--force'] })).code).toBe(0);
  }
  for (const r of fx.server.requests) expect(TEMPLATES.some((t) => asRegExp(t).test(r.path))).toBe(true);
  return [...new Set(fx.server.requests.map((r) => key(ruleFor(r.method, r.path))))].sort();
}

/** The rules `pod-ipam reconcile` uses (what the container's --reconcile-every runs); also checks each request is a path of the code. */
async function reconcileRulesUsed(): Promise<string[]> {
  const dataDir = path.join(fx.dir, `rbac-${n++}`);
  const stdin = { cniVersion: '1.1.0', name: 'net', ipam: { type: 'pod-ipam', dataDir, ranges: [[{ subnet: '10.1.2.0/24' }]] } };
  expect((await runPlugin({ command: 'ADD', stdin, cniArgs: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;K8S_POD_UID=uid-default-web' })).code).toBe(0);
  fx.server.requests.length = 0;
  const r = await cli(['reconcile', '--data-dir', dataDir, '--kubeconfig', fx.kubeconfig({ token: 'sa-token-123' }), '--node-name', 'node-a']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  for (const q of fx.server.requests) expect(TEMPLATES.some((t) => asRegExp(t).test(q.path))).toBe(true);
  return [...new Set(fx.server.requests.map((q) => key(ruleFor(q.method, q.path))))].sort();
}

test('the code calls the API on paths the scan finds, and the plugin and reconcile exercise every one of them', async () => {
  expect(METHODS.sort()).toEqual(['DELETE', 'GET', 'POST', 'PUT']);
  // So node-local and cluster-pool with another store cannot call the API: their role may stay empty but for reconcile.
  expect(SRC.filter(({ text }) => [...text.matchAll(API_PATH)].length > 0).every(({ file }) => API_CALLERS.test(file))).toBe(true);
  expect(TEMPLATES.length).toBeGreaterThan(0);
  await rulesUsed({ type: 'pod-ipam', mode: 'kubernetes', podAnnotations: true });
  const requested = fx.server.requests.map((r) => r.path);
  await rulesUsed({ type: 'pod-ipam', mode: 'cluster-pool', clusterPoolIPv4PodCIDRList: ['10.60.0.0/16'], clusterStore: { type: 'kubernetes' } });
  requested.push(...fx.server.requests.map((r) => r.path));
  await reconcileRulesUsed();
  requested.push(...fx.server.requests.map((r) => r.path));
  for (const t of TEMPLATES) expect(requested.some((p) => asRegExp(t).test(p))).toBe(true);
});

describe.each(MANIFESTS)('%s', (file) => {
  test('its ClusterRole is exactly the rules its conflist makes the plugin use and its container\'s reconcile uses', async () => {
    const m = readManifest(file);
    const role = (m.byKind('ClusterRole').rules ?? []) as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const granted = role.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => key({ apiGroup: g, resource: res, verb: v }))))).sort();
    const ipam = JSON.parse(m.template.text).plugins.find((p: { ipam?: { type?: string } }) => p.ipam?.type === 'pod-ipam').ipam;
    // Only kubernetes mode and the kubernetes cluster store talk to the API from the plugin.
    const kubeStore = ipam.mode === 'cluster-pool' && ipam.clusterStore?.type === 'kubernetes';
    const plugin = ipam.mode === 'kubernetes' || kubeStore ? await rulesUsed(ipam) : [];
    const reconcile = m.args.has('--reconcile-every') ? await reconcileRulesUsed() : [];
    const needed = [...new Set([...plugin, ...reconcile])].sort();
    expect(granted).toEqual(needed);
    if (ipam.mode === 'kubernetes') expect(plugin).toEqual(['/nodes:get']);
    if (kubeStore) {
      expect(plugin).toEqual([
        '/nodes:get',
        'pod-ipam.io/ipamblockclaims:create', 'pod-ipam.io/ipamblockclaims:delete', 'pod-ipam.io/ipamblockclaims:get', 'pod-ipam.io/ipamblockclaims:list',
        'pod-ipam.io/ipamheartbeats:create', 'pod-ipam.io/ipamheartbeats:get', 'pod-ipam.io/ipamheartbeats:update',
      ]);
    }
    expect(reconcile).toEqual(['/nodes:get', '/pods:list']);
  });
});

test('podAnnotations adds exactly get on pods (what the manifest comment tells the operator to add)', async () => {
  expect(await rulesUsed({ type: 'pod-ipam', mode: 'kubernetes', podAnnotations: true })).toEqual(['/nodes:get', '/pods:get']);
  expect(fs.readFileSync(path.join(ROOT, 'conf-examples/deploy-kubernetes.yaml'), 'utf8')).toContain('add {apiGroups: [""], resources: ["pods"],\n# verbs: ["get"]}');
});
