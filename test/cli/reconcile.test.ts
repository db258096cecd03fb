/**
 * `pod-ipam reconcile` against the stand-in API server (the only mocked part): the built
 * executable lists the node's pods (fieldSelector, limit/continue) and releases the
 * reservations of pods that are gone, never those of live pods, young ones (grace) or
 * ones without a pod UID; when the API cannot be read completely nothing is released and
 * the exit code is 3.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FakePodList } from '../helpers/fake-pod-list';
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';
import { snapshotFiles } from '../helpers/state-files';
import { SA_USER, TOKEN, startKubeFixture } from '../modes/kubernetes/kube-fixture';
import type { KubeFixture } from '../modes/kubernetes/kube-fixture';
import { until } from '../helpers/until';
import { cli } from './cli';

const NETWORK = 'testnet';
const ipam = { ranges: [[{ subnet: '10.1.2.0/24' }]] };
const HOUR_AGO = (): string => new Date(Date.now() - 3_600_000).toISOString();

let fx: KubeFixture;
let pods: FakePodList;
let kubeconfig: string;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-a', []);
  fx.server.setNode('node-b', []);
  pods = new FakePodList(fx.server);
  kubeconfig = fx.kubeconfig({ token: TOKEN });
});
afterAll(() => fx.close());

let dataDir: string;
let cleanup: () => void;
beforeEach(() => {
  ({ dir: dataDir, cleanup } = tempDataDir());
  fx.server.permissions.clear();
  pods.clear();
  pods.failWith = undefined;
  pods.failContinued = undefined;
  pods.queries.length = 0;
  pods.expiredTokens.clear();
});
afterEach(() => cleanup());

/** ADD for a pod (or, without one, as podman calls); returns the address. */
async function add(containerId: string, pod?: { namespace: string; name: string; uid: string }): Promise<string> {
  const cniArgs = pod ? `K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_UID=${pod.uid}` : undefined;
  const r = await runPlugin({ command: 'ADD', containerId, stdin: nodeLocalConf(dataDir, { name: NETWORK }, ipam), ...(cniArgs && { cniArgs }) });
  if (r.code !== 0) throw new Error(`ADD ${containerId}: ${r.stdout} ${r.stderr}`);
  return (r.json.ips as { address: string }[])[0]!.address.split('/')[0]!;
}

/** Makes a reservation an hour old, as if its ADD had run then (no sleeping for the clock). */
function backdate(address: string): void {
  const file = path.join(dataDir, NETWORK, 'ips', address);
  const record = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, JSON.stringify({ ...record, since: HOUR_AGO() }));
}

const held = (): string[] => fs.readdirSync(path.join(dataDir, NETWORK, 'ips')).filter((n) => !n.startsWith('.')).sort();
const reconcile = (...extra: string[]) => cli(['reconcile', '--data-dir', dataDir, '--kubeconfig', kubeconfig, '--node-name', 'node-a', ...extra]);
const pod = (name: string, uid: string, nodeName = 'node-a') => ({ namespace: 'default', name, uid, nodeName });

test('pages through the node\'s pods (limit/continue) and releases exactly the old reservations of pods gone from the API', async () => {
  for (let i = 0; i < 7; i++) pods.add(pod(`live-${i}`, `uid-live-${i}`));
  pods.add(pod('elsewhere', 'uid-elsewhere', 'node-b'));
  const live: string[] = [];
  for (let i = 0; i < 7; i++) live.push(await add(`c-live-${i}`, pod(`live-${i}`, `uid-live-${i}`)));
  // A pod of another node listed by mistake would keep it; the selector must leave it out.
  const elsewhere = await add('c-elsewhere', pod('elsewhere', 'uid-elsewhere'));
  const gone = await add('c-gone', pod('gone', 'uid-gone'));
  for (const a of [...live, elsewhere, gone]) backdate(a);

  const r = await reconcile('--page-size', '3', '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(pods.queries.map((q) => [q.get('fieldSelector'), q.get('limit'), q.has('continue')])).toEqual([
    ['spec.nodeName=node-a', '3', false],
    ['spec.nodeName=node-a', '3', true],
    ['spec.nodeName=node-a', '3', true],
  ]);
  expect(r.json).toMatchObject({ node: 'node-a', dryRun: false, pods: 7, pages: 3, graceSeconds: 300 });
  const net = r.json.networks[0];
  expect(net.released.map((x: { address: string }) => x.address).sort()).toEqual([elsewhere, gone].sort());
  expect(net.released.find((x: { address: string }) => x.address === gone)).toMatchObject({ pod: { namespace: 'default', name: 'gone', uid: 'uid-gone' }, containerId: 'c-gone', ifname: 'eth0' });
  expect(net.kept).toEqual({ live: 7, young: 0, withoutPod: 0 });
  // The last page's pods count as alive: their reservations stay.
  expect(held()).toEqual([...live].sort());
  expect(fs.existsSync(path.join(dataDir, NETWORK, 'attachments', 'c-gone:eth0'))).toBe(false);
  // Each release is in the audit log, so `pod-ipam log --address` tells why the address went.
  const why = await cli(['log', '--data-dir', dataDir, '--address', gone, '--json']);
  expect(why.stdout.trim().split('\n').map((l) => JSON.parse(l))).toMatchObject([
    { verb: 'ADD', containerId: 'c-gone' },
    { verb: 'RECONCILE', containerId: 'c-gone', pod: { name: 'gone', uid: 'uid-gone' }, released: [gone] },
  ]);
});

test('a network that cannot be reconciled (a corrupt file) is reported, and the others are reconciled all the same', async () => {
  // "anet" comes first (networks go in name order) and cannot be read: a torn address file.
  const r0 = await runPlugin({ command: 'ADD', containerId: 'c-other', stdin: nodeLocalConf(dataDir, { name: 'anet' }, ipam) });
  expect(r0.code).toBe(0);
  fs.writeFileSync(path.join(dataDir, 'anet', 'ips', '10.1.2.200'), '{torn', { mode: 0o600 });
  const gone = await add('c-gone', pod('gone', 'uid-gone'));
  backdate(gone);
  const r = await reconcile('--json');
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/1 failure\(s\): anet: not reconciled: .*10\.1\.2\.200/);
  const byName = Object.fromEntries(r.json.networks.map((n: { network: string }) => [n.network, n]));
  expect(byName['anet'].released).toEqual([]);
  expect(byName[NETWORK].released.map((x: { address: string }) => x.address)).toEqual([gone]);
  expect(held()).toEqual([]);
  expect(fs.readdirSync(path.join(dataDir, 'anet', 'ips')).filter((n) => !n.startsWith('.')).length).toBe(2);
});

test('a pod recreated under the same name (new UID): the old pod\'s reservation is released, the new one\'s kept', async () => {
  pods.add(pod('web-0', 'uid-web-0-old'));
  const old = await add('sandbox-old', pod('web-0', 'uid-web-0-old'));
  backdate(old);
  pods.add(pod('web-0', 'uid-web-0-new')); // replaces the old pod of that name
  const fresh = await add('sandbox-new', pod('web-0', 'uid-web-0-new'));
  backdate(fresh);
  const r = await reconcile('--json');
  expect(r.code).toBe(0);
  expect(r.json.networks[0].released.map((x: { address: string }) => x.address)).toEqual([old]);
  expect(held()).toEqual([fresh]);
});

test('a static pod (its sandbox has kubelet\'s UID, the API shows a mirror pod) is kept; once its mirror is gone it is released', async () => {
  pods.add({ ...pod('etcd-node-a', 'uid-mirror'), mirrorOf: 'uid-static-hash' });
  const address = await add('sandbox-static', pod('etcd-node-a', 'uid-static-hash'));
  backdate(address);
  const kept = await reconcile('--json');
  expect(kept.code).toBe(0);
  expect(kept.json.networks[0].released).toEqual([]);
  expect(held()).toEqual([address]);
  pods.clear();
  const gone = await reconcile('--json');
  expect(gone.json.networks[0].released.map((x: { address: string }) => x.address)).toEqual([address]);
  expect(held()).toEqual([]);
});

test('kept: a young reservation of a gone pod (grace), reservations without a pod UID (ever); --grace 0 releases the gone pod\'s', async () => {
  const young = await add('c-young', pod('young', 'uid-young'));
  const bare = await add('c-podman');
  backdate(bare);
  const r = await reconcile('--json');
  expect(r.code).toBe(0);
  expect(r.json.networks[0].released).toEqual([]);
  expect(r.json.networks[0].kept).toEqual({ live: 0, young: 1, withoutPod: 1 });
  expect(held()).toEqual([young, bare].sort());
  // With no grace at all, a reservation made before the list began goes; the one without a UID never does.
  const none = await reconcile('--grace', '0', '--json');
  expect(none.json.networks[0].released.map((x: { address: string }) => x.address)).toEqual([young]);
  expect(held()).toEqual([bare]);
});

test('an ADD in flight while the pods are listed is never released, even with --grace 0', async () => {
  pods.add(pod('live', 'uid-live'));
  const live = await add('c-live', pod('live', 'uid-live'));
  // The API holds the pod list until the ADD is done: the ADD surely lands while the list
  // is under way, whatever the machine's load.
  let addDone!: () => void;
  fx.server.hold = { path: '/api/v1/pods', until: new Promise<void>((resolve) => (addDone = resolve)) };
  try {
    const asked = fx.server.count('/api/v1/pods');
    const running = reconcile('--grace', '0', '--json');
    // The pod list has been asked for (an event, not a clock tick); then ADD for a pod it will not have.
    await until(() => fx.server.count('/api/v1/pods') > asked);
    const inFlight = await add('c-new', pod('new', 'uid-new'));
    addDone();
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.json.networks[0].released).toEqual([]);
    expect(r.json.networks[0].kept).toEqual({ live: 1, young: 1, withoutPod: 0 });
    expect(held()).toEqual([live, inFlight].sort());
  } finally {
    fx.server.hold = undefined;
    addDone();
  }
});

test('--dry-run prints what would go and changes no file', async () => {
  const gone = await add('c-gone', pod('gone', 'uid-gone'));
  backdate(gone);
  const before = snapshotFiles(dataDir);
  const r = await reconcile('--dry-run');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^node node-a: 0 pod\(s\) in the API/m);
  expect(r.stdout).toMatch(/^would release 1 address\(es\) in network testnet; kept 0 of pods on the node, 0 too young, 0 without a pod UID \(dry run: nothing changed\)$/m);
  expect(r.stdout).toMatch(new RegExp(`^${gone.replace(/\./g, '\\.')}\\s+default/gone\\s+uid-gone\\s+c-gone\\s+eth0`, 'm'));
  expect(snapshotFiles(dataDir)).toEqual(before);
});

test('an expired continue token (410 Gone) starts the list over', async () => {
  for (let i = 0; i < 3; i++) pods.add(pod(`p-${i}`, `uid-p-${i}`));
  const alive = await add('c-p-2', pod('p-2', 'uid-p-2'));
  const gone = await add('c-gone', pod('gone', 'uid-gone'));
  for (const a of [alive, gone]) backdate(a);
  pods.expiredTokens.add(Buffer.from('2').toString('base64')); // the token after the first page of 2
  const r = await reconcile('--page-size', '2', '--json');
  expect(r.code).toBe(0);
  expect(pods.queries.map((q) => q.has('continue'))).toEqual([false, true, false, true]);
  expect(r.json).toMatchObject({ pods: 3, pages: 4 });
  expect(r.json.networks[0].released.map((x: { address: string }) => x.address)).toEqual([gone]);
  expect(held()).toEqual([alive]);
});

test('--config of a kubernetes-mode network: its networks, dataDir, kubeconfig and nodeName', async () => {
  pods.add(pod('live', 'uid-live'));
  const alive = await add('c-live', pod('live', 'uid-live'));
  const gone = await add('c-gone', pod('gone', 'uid-gone'));
  for (const a of [alive, gone]) backdate(a);
  const conflist = path.join(dataDir, 'k8s.conflist');
  fs.writeFileSync(conflist, JSON.stringify({ cniVersion: '1.0.0', name: NETWORK, plugins: [{ type: 'bridge', ipam: { type: 'pod-ipam', mode: 'kubernetes', kubeconfig, nodeName: 'node-a', dataDir } }] }));
  const r = await cli(['reconcile', '--config', conflist, '--json']);
  expect(r.stderr).toBe('');
  expect(r.json).toMatchObject({ node: 'node-a', networks: [{ network: NETWORK, dataDir }] });
  expect(held()).toEqual([alive]);
});

test('without a way to reach the API: a usage error, nothing read', async () => {
  await add('c-x', pod('x', 'uid-x'));
  const r = await cli(['reconcile', '--data-dir', dataDir, '--node-name', 'node-a']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/give --kubeconfig FILE or --config of a kubernetes-mode network, or run it in a pod/);
});

describe('the API cannot be read completely: exit 3, nothing released', () => {
  let gone: string;
  let before: Record<string, string>;
  beforeEach(async () => {
    for (let i = 0; i < 4; i++) pods.add(pod(`p-${i}`, `uid-p-${i}`));
    gone = await add('c-gone', pod('gone', 'uid-gone'));
    backdate(gone);
    before = snapshotFiles(dataDir);
  });

  test('API server down', async () => {
    const down = fx.kubeconfig({ token: TOKEN });
    fs.writeFileSync(down, fs.readFileSync(down, 'utf8').replace(fx.server.url, 'https://127.0.0.1:1'));
    const r = await cli(['reconcile', '--data-dir', dataDir, '--kubeconfig', down, '--node-name', 'node-a']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/cannot read the pods of node node-a from the API: nothing released: cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1/);
    expect(snapshotFiles(dataDir)).toEqual(before);
  });

  test('403: the role lacks list on pods', async () => {
    fx.server.permissions.set(SA_USER, new Set(['nodes']));
    const r = await reconcile();
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refused "list on pods" \(403 Forbidden\)/);
    expect(snapshotFiles(dataDir)).toEqual(before);
  });

  test('a later page fails: the pods of the missing pages must not look gone', async () => {
    pods.failContinued = 500;
    const r = await reconcile('--page-size', '2');
    expect(pods.queries.length).toBe(2);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/HTTP 500: etcdserver: request timed out/);
    expect(snapshotFiles(dataDir)).toEqual(before);
  });

  test('a node name the API does not know (every pod would look gone)', async () => {
    const r = await cli(['reconcile', '--data-dir', dataDir, '--kubeconfig', kubeconfig, '--node-name', 'no-such-node']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/node "no-such-node" does not exist/);
    expect(snapshotFiles(dataDir)).toEqual(before);
  });
});
