/**
 * `pod-ipam install --watch --template` keeps the node's cluster-pool heartbeat fresh, as
 * the DaemonSet's container runs it: a stand-in host under --host-root, the conflist the
 * install round writes there, and no ADD at all. The node owns a block claimed long ago
 * (its ADD's heartbeat has lapsed); the installer's heartbeat appears in the store and is
 * refreshed (its `at` advances), so `blocks release` from another host (a data directory
 * without the node's local state) refuses; once the installer is stopped nothing refreshes
 * it. For each store: the file store, a real etcd (TLS, the certificates the installer
 * copied from its Secret) and the kubernetes store on the stand-in API server
 * (test/helpers/fake-kube-apiserver.ts + fake-kube-claims.ts: a stand-in only because no
 * real kube-apiserver can run here). A store that goes away is reported and heartbeats
 * resume once it is back; --heartbeat-every is checked like --reconcile-every.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openClusterStore } from '../../src/store/cluster/cluster-store';
import type { ClusterStore, ClusterStoreConfig } from '../../src/store/cluster/cluster-store';
import { startEtcd } from '../helpers/etcd-server';
import type { EtcdServer } from '../helpers/etcd-server';
import { startKubeStoreBackend } from '../helpers/fake-kube-claims';
import type { KubeStoreBackend } from '../helpers/fake-kube-claims';
import { pluginCommand } from '../helpers/run-plugin';
import { until } from '../helpers/until';
import { cli, expectUsageError } from './cli';

// Hang guard only: every wait below is for a condition, never for a time.
jest.setTimeout(180_000);

const POOL = '10.60.0.0/16';
/** The host path the template names for the plugin's data (the container sees it under --host-root). */
const HOST_DATA = '/var/lib/cni/pod-ipam';

let tmp: string;
let etcd: EtcdServer;
let kube: KubeStoreBackend;
const stores: ClusterStore[] = [];
const installers: ChildProcess[] = [];
beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-heartbeat-'));
  [etcd, kube] = await Promise.all([startEtcd({ tls: true }), startKubeStoreBackend()]);
});
afterEach(() => {
  for (const c of installers.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all([etcd?.stop(), kube?.close()]);
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface Node {
  /** The stand-in host's / (--host-root). */
  readonly root: string;
  readonly template: string;
  /** Where the pod's mounts are (template, Secret). */
  readonly pod: string;
}

let n = 0;
/** A fresh host, and the ConfigMap's template naming `clusterStore`. */
function node(clusterStore: Record<string, unknown>): Node {
  const base = path.join(tmp, `node-${n++}`);
  const pod = path.join(base, 'pod');
  const template = path.join(pod, 'template', '10-pod-ipam.conflist');
  fs.mkdirSync(path.dirname(template), { recursive: true });
  fs.mkdirSync(path.join(base, 'host'));
  const ipam = { type: 'pod-ipam', mode: 'cluster-pool', dataDir: HOST_DATA, clusterPoolIPv4PodCIDRList: [POOL], clusterStore };
  fs.writeFileSync(template, JSON.stringify({ cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge', bridge: 'cni0', ipam }] }));
  return { root: path.join(base, 'host'), template, pod };
}

interface Installer {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** The container's command on `h`: no executable copied (not needed here), files checked every 0.2 s. */
function install(h: Node, nodeName: string, more: string[], env: Record<string, string> = {}): Installer {
  const [cmd, ...pre] = pluginCommand();
  const args = ['install', '--host-root', h.root, '--template', h.template, '--no-binary', '--watch', '--interval-seconds', '0.2', ...more];
  const child = spawn(cmd!, [...pre, ...args], { env: { PATH: process.env.PATH ?? '', NODE_NAME: nodeName, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  installers.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The store as the test reaches it (real paths), to claim and read heartbeats. */
async function open(config: ClusterStoreConfig): Promise<ClusterStore> {
  const store = await openClusterStore(config);
  stores.push(store);
  return store;
}

/** `blocks release` from another host: the same store, a data directory without the node's local state. */
async function releaseElsewhere(clusterStore: Record<string, unknown>, nodeName: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = fs.mkdtempSync(path.join(tmp, 'elsewhere-'));
  const conf = path.join(dir, '10-pod-ipam.conflist');
  const ipam = { type: 'pod-ipam', mode: 'cluster-pool', dataDir: path.join(dir, 'data'), clusterPoolIPv4PodCIDRList: [POOL], clusterStore };
  fs.writeFileSync(conf, JSON.stringify({ cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge', ipam }] }));
  return cli(['blocks', 'release', '--config', conf, '--node', nodeName]);
}

/**
 * The essentials for one store: a block the node claimed long ago and no valid
 * heartbeat; with the installer running, a heartbeat appears and then advances, with no
 * ADD (no local state on the host); `blocks release` from another host refuses.
 * @returns the running installer and the last heartbeat seen.
 */
async function heartbeatKeptWithoutAdd(h: Node, nodeName: string, store: ClusterStore, remoteStore: Record<string, unknown>, block: string, more: string[] = [], env: Record<string, string> = {}): Promise<{ installer: Installer; last: string }> {
  const owner = `${nodeName}/pods`;
  expect((await store.claim(block, owner)).won).toBe(true); // as the node's first ADD did, long ago
  expect(await store.lastHeartbeat(owner)).toBeUndefined();

  const installer = install(h, nodeName, ['--heartbeat-every', '1s', ...more], env);
  // The first heartbeat, or a first refresh that failed (then the stderr check says why).
  await until(() => installer.child.exitCode !== null || installer.stdout().includes(`heartbeat: keeping ${owner} alive`) || installer.stderr().includes('heartbeat: '));
  expect(installer.stderr()).toBe('');
  expect(installer.child.exitCode).toBeNull();
  const first = await store.lastHeartbeat(owner);
  expect(first).toBeDefined();
  // Refreshed again: its time advances (polled every 100 ms; each read is one store round trip).
  let last = first!;
  while (last === first) {
    await new Promise((r) => setTimeout(r, 100));
    last = (await store.lastHeartbeat(owner)) ?? last;
  }
  expect(Date.parse(last)).toBeGreaterThan(Date.parse(first!));
  // No ADD ran: the host has no local state of the network.
  expect(fs.existsSync(path.join(h.root, HOST_DATA, 'pods'))).toBe(false);
  expect(installer.stderr()).toBe('');

  const refused = await releaseElsewhere(remoteStore, nodeName);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(new RegExp(`node ${nodeName} looks alive: its heartbeat in .* is from \\d{4}-`));
  expect((await store.list()).filter((o) => o.node === owner).map((o) => o.block)).toEqual([block]);
  return { installer, last: (await store.lastHeartbeat(owner))! };
}

/** After SIGTERM: exit 0, and the heartbeat stays as it was. */
async function stoppedForGood(installer: Installer, store: ClusterStore, owner: string): Promise<void> {
  expect(await installer.stop()).toBe(0);
  const last = await store.lastHeartbeat(owner);
  // Not a timing assertion: a keeper still running would refresh it every second, so
  // give it three periods to do so (the wait ends on the clock, the check is on the store).
  const stoppedAt = Date.now();
  await until(() => Date.now() >= stoppedAt + 3000);
  expect(await store.lastHeartbeat(owner)).toBe(last);
}

test('file store: the heartbeat is kept without any ADD, remote release refuses, and it stops with the installer', async () => {
  const storeHostPath = '/var/lib/pod-ipam/cluster-store';
  const h = node({ type: 'file', path: storeHostPath });
  const storeDir = path.join(h.root, storeHostPath); // the host's path as the container sees it
  const store = await open({ type: 'file', path: storeDir });
  const { installer } = await heartbeatKeptWithoutAdd(h, 'node-1', store, { type: 'file', path: storeDir }, '10.60.1.0/24');
  expect(installer.stdout()).toContain(`heartbeat: keeping node-1/pods alive in file ${storeDir} (valid 10 min, refreshed every 1 s)`);
  expect(fs.readdirSync(path.join(storeDir, 'heartbeats'))).toEqual([encodeURIComponent('node-1/pods')]);
  await stoppedForGood(installer, store, 'node-1/pods');
});

test('a template switched to cluster-pool while the installer runs: the heartbeat starts without a restart, and nothing is said before', async () => {
  const storeHostPath = '/var/lib/pod-ipam/cluster-store';
  const h = node({ type: 'file', path: storeHostPath });
  const clusterPool = fs.readFileSync(h.template, 'utf8');
  const nodeLocal = { type: 'pod-ipam', dataDir: HOST_DATA, ranges: [[{ subnet: '10.61.0.0/24' }]] };
  fs.writeFileSync(h.template, JSON.stringify({ cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge', bridge: 'cni0', ipam: nodeLocal }] }));
  const installer = install(h, 'node-5', ['--heartbeat-every', '1s']);
  const conflist = path.join(h.root, 'etc/cni/net.d/10-pod-ipam.conflist');
  await until(() => installer.child.exitCode !== null || fs.existsSync(conflist));
  expect(JSON.parse(fs.readFileSync(conflist, 'utf8')).plugins[0].ipam.ranges).toBeDefined();
  // The ConfigMap changes (kubelet swaps the mounted file): the next rounds render it, the keeper follows.
  fs.writeFileSync(`${h.template}.new`, clusterPool);
  fs.renameSync(`${h.template}.new`, h.template);
  await until(() => installer.child.exitCode !== null || installer.stdout().includes('heartbeat: keeping node-5/pods alive'));
  const store = await open({ type: 'file', path: path.join(h.root, storeHostPath) });
  expect(await store.lastHeartbeat('node-5/pods')).toBeDefined();
  expect(installer.stderr()).toBe('');
  // While the template was node-local the keeper said nothing: its first line is this one.
  expect(installer.stdout().match(/heartbeat: /g)).toHaveLength(1);
  expect(await installer.stop()).toBe(0);
});

/** The Secret the etcd manifest mounts, from the test etcd's client certificate. */
function etcdSecret(h: Node): string {
  const secret = path.join(h.pod, 'etcd-secret');
  fs.mkdirSync(secret);
  for (const [name, from] of [['ca.crt', etcd.clientTls!.ca], ['tls.crt', etcd.clientTls!.cert], ['tls.key', etcd.clientTls!.key]] as const) fs.copyFileSync(from, path.join(secret, name));
  return secret;
}

const etcdConfig = (): ClusterStoreConfig => ({ type: 'etcd', endpoints: [etcd.endpoint], prefix: '/pod-ipam', tls: etcd.clientTls! });

test('etcd store: the heartbeat is kept with the client certificate the installer copied, remote release refuses, and it stops with the installer', async () => {
  const h = node({ type: 'etcd', endpoints: [etcd.endpoint] });
  const store = await open(etcdConfig());
  const more = ['--etcd-secret-dir', etcdSecret(h), '--etcd-cert-dir', '/etc/pod-ipam/etcd'];
  const { installer } = await heartbeatKeptWithoutAdd(h, 'node-2', store, { type: 'etcd', endpoints: [etcd.endpoint], tls: etcd.clientTls }, '10.60.2.0/24', more);
  // The conflist on the host names host paths; the keeper read them under --host-root.
  const ipam = JSON.parse(fs.readFileSync(path.join(h.root, 'etc/cni/net.d/10-pod-ipam.conflist'), 'utf8')).plugins[0].ipam;
  expect(ipam.clusterStore.tls).toEqual({ ca: '/etc/pod-ipam/etcd/ca.crt', cert: '/etc/pod-ipam/etcd/client.crt', key: '/etc/pod-ipam/etcd/client.key' });
  expect(installer.stdout()).toContain(`heartbeat: keeping node-2/pods alive in etcd ${etcd.endpoint}`);
  await stoppedForGood(installer, store, 'node-2/pods');
});

test('kubernetes store (stand-in API server): the heartbeat is kept with the kubeconfig the installer wrote for the plugin, remote release refuses, and it stops with the installer', async () => {
  const h = node({ type: 'kubernetes' });
  const store = await open(kube.config());
  const env = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(kube.fx.server.port) };
  const more = ['--kubeconfig-dir', '/etc/cni/net.d/pod-ipam', '--serviceaccount-dir', kube.fx.saDir];
  const { installer } = await heartbeatKeptWithoutAdd(h, 'node-3', store, kube.store(), '10.60.3.0/24', more, env);
  const ipam = JSON.parse(fs.readFileSync(path.join(h.root, 'etc/cni/net.d/10-pod-ipam.conflist'), 'utf8')).plugins[0].ipam;
  expect(ipam.clusterStore.kubeconfig).toBe('/etc/cni/net.d/pod-ipam/kubeconfig');
  // The heartbeat object the plugin would write: this node's and network's, owned by its Node.
  expect(kube.claims.objects('ipamheartbeats').filter((o) => o.spec.node === 'node-3')).toEqual([expect.objectContaining({ spec: expect.objectContaining({ network: 'pods' }), metadata: expect.objectContaining({ ownerReferences: [expect.objectContaining({ kind: 'Node', name: 'node-3' })] }) })]);
  await stoppedForGood(installer, store, 'node-3/pods');
});

test('etcd down: the installer keeps running and says so on stderr; once etcd is back the heartbeat is refreshed again', async () => {
  const h = node({ type: 'etcd', endpoints: [etcd.endpoint] });
  const store = await open(etcdConfig());
  const more = ['--etcd-secret-dir', etcdSecret(h), '--etcd-cert-dir', '/etc/pod-ipam/etcd'];
  const { installer, last } = await heartbeatKeptWithoutAdd(h, 'node-4', store, { type: 'etcd', endpoints: [etcd.endpoint], tls: etcd.clientTls }, '10.60.4.0/24', more);
  await etcd.kill();
  try {
    await until(() => /heartbeat: cannot refresh node-4\/pods in its etcd cluster store: .*\(next try in 1 s; the last one written here is valid until \d{4}-/.test(installer.stderr()) || installer.child.exitCode !== null);
    expect(installer.child.exitCode).toBeNull();
  } finally {
    await etcd.start();
  }
  await until(() => installer.stdout().includes('heartbeat: node-4/pods refreshed again') || installer.child.exitCode !== null);
  expect(installer.child.exitCode).toBeNull();
  expect(Date.parse((await store.lastHeartbeat('node-4/pods'))!)).toBeGreaterThan(Date.parse(last));
  expect(await installer.stop()).toBe(0);
});

test('--heartbeat-every needs --watch and --template, and must be below the 10 min heartbeat lifetime', async () => {
  const h = node({ type: 'file' });
  expectUsageError(await cli(['install', '--no-binary', '--host-root', h.root, '--heartbeat-every', '1m']), /--heartbeat-every needs --watch and --template/);
  expectUsageError(await cli(['install', '--no-binary', '--host-root', h.root, '--watch', '--heartbeat-every', '1m']), /--heartbeat-every needs --watch and --template/);
  expectUsageError(await cli(['install', '--no-binary', '--host-root', h.root, '--template', h.template, '--heartbeat-every', '1m']), /--heartbeat-every needs --watch and --template/);
  for (const tooLong of ['10m', '600', '1h']) {
    expectUsageError(await cli(['install', '--no-binary', '--host-root', h.root, '--template', h.template, '--watch', '--heartbeat-every', tooLong], { NODE_NAME: 'node-5' }), /--heartbeat-every must be below the heartbeat's lifetime of 10m/);
  }
  expectUsageError(await cli(['install', '--no-binary', '--host-root', h.root, '--template', h.template, '--watch', '--heartbeat-every', '0.5s'], { NODE_NAME: 'node-5' }), /--heartbeat-every must be at least 1s/);
  expectUsageError(await cli(['install', '--no-binary', '--host-root', h.root, '--watch', '--template', h.template, '--heartbeat-every', 'often']), /--heartbeat-every.*duration/);
  // Nothing was installed by the refused commands.
  expect(fs.readdirSync(h.root)).toEqual([]);
});
