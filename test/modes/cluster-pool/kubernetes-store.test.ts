/**
 * cluster-pool with `"clusterStore": {"type": "kubernetes"}`, through the built plugin
 * against the stand-in API server (test/helpers/fake-kube-claims.ts; no real
 * kube-apiserver runs here): claims as objects owned by their Node, the cold path only
 * (warm ADDs make no request, counted on the stand-in), a deleted Node's blocks freed,
 * the API down before and after the first claim, a refusal (403), exhaustion, and the
 * operator commands reading this store. The contract and the interleavings shared with
 * the other stores: cluster-store.test.ts, interleavings.test.ts, plugin.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runPlugin, tempDataDir } from '../../helpers/run-plugin';
import { startKubeStoreBackend } from '../../helpers/fake-kube-claims';
import type { KubeStoreBackend } from '../../helpers/fake-kube-claims';
import { addRetrying, addressOf, call, localRecord, newCluster, nodeConf, storeOwners } from './cluster-fixture';

jest.setTimeout(240000);

let tmp: { dir: string; cleanup: () => void };
let kube: KubeStoreBackend;
beforeAll(async () => {
  tmp = tempDataDir('pod-ipam-kstore-');
  kube = await startKubeStoreBackend();
});
afterAll(async () => {
  await kube?.close();
  tmp?.cleanup();
});

const claimRequests = () => kube.fx.server.requests.filter((r) => r.path.startsWith('/apis/') || r.path.startsWith('/api/')).length;
const fresh = () => newCluster(tmp.dir, 'kubernetes', undefined, kube);

test('the first ADD claims (Node read, object created, list, heartbeat); later ADD, CHECK and DEL make no API call', async () => {
  const cluster = fresh();
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.90.0.0/16'] };
  kube.fx.server.requests.length = 0;
  const first = addressOf(await call(cluster, 'worker-1', 'ADD', 'c1', ipam));
  const block = localRecord(cluster, 'worker-1').blocks[0]!;
  expect(kube.claims.claims()).toEqual(new Map([[block, 'worker-1/podnet']]));
  const paths = kube.fx.server.requests.map((r) => `${r.method} ${r.path}`);
  expect(paths).toEqual(expect.arrayContaining(['GET /api/v1/nodes/worker-1', 'POST /apis/pod-ipam.io/v1/ipamblockclaims', 'GET /apis/pod-ipam.io/v1/ipamblockclaims']));
  const cold = claimRequests();
  for (let i = 2; i <= 6; i++) addressOf(await call(cluster, 'worker-1', 'ADD', `c${i}`, ipam));
  const prevResult = { cniVersion: '1.1.0', ips: [{ address: `${first}/24` }] };
  expect((await call(cluster, 'worker-1', 'CHECK', 'c1', ipam, 'podnet', { stdin: { ...nodeConf(cluster, 'worker-1', ipam), prevResult } })).code).toBe(0);
  expect((await call(cluster, 'worker-1', 'DEL', 'c3', ipam)).code).toBe(0);
  expect(claimRequests()).toBe(cold); // not one request after the claim
});

test('the claim object records node and network and is owned by the Node; deleting the Node frees the block for another node', async () => {
  const cluster = fresh();
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.91.0.0/24'], clusterPoolIPv4MaskSize: 25 }; // two blocks
  addressOf(await call(cluster, 'old-node', 'ADD', 'c1', ipam));
  const [object] = kube.claims.objects();
  expect(object).toMatchObject({
    kind: 'IPAMBlockClaim',
    metadata: { name: expect.stringMatching(/^v4-10\.91\.0\.(0|128)-25$/), ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'old-node', uid: 'uid-old-node' }] },
    spec: { block: localRecord(cluster, 'old-node').blocks[0], node: 'old-node', network: 'podnet' },
  });
  const oldBlock = localRecord(cluster, 'old-node').blocks[0]!;
  addressOf(await call(cluster, 'other', 'ADD', 'c1', ipam));
  const full = await call(cluster, 'new-node', 'ADD', 'c1', ipam);
  expect(full.json).toMatchObject({ code: 106, msg: expect.stringContaining('10.91.0.0/24 with /25 blocks') });
  kube.claims.deleteNode('old-node'); // the garbage collector removes what the Node owned
  expect(kube.claims.objects().map((o) => o.spec.node)).toEqual(['other']);
  addressOf(await call(cluster, 'new-node', 'ADD', 'c2', ipam));
  expect((await storeOwners(cluster)).get(oldBlock)).toBe('new-node/podnet');
});

test('a restarted node keeps its block, also when its local record is lost (adopted back from its claim)', async () => {
  const cluster = fresh();
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.92.0.0/16'] };
  addressOf(await call(cluster, 'r', 'ADD', 'c1', ipam));
  const block = localRecord(cluster, 'r').blocks[0]!;
  addressOf(await call(cluster, 'r', 'ADD', 'c2', ipam)); // a new process, as every call is
  fs.rmSync(path.join(cluster.dir, 'r', 'podnet', 'cluster-pool.json')); // a re-imaged node
  // Debug output on: the mode says whether it claimed a block or adopted its own claim.
  const out = await call(cluster, 'r', 'ADD', 'c3', ipam, 'podnet', { env: { POD_IPAM_LOG: 'debug' } });
  addressOf(out);
  expect(localRecord(cluster, 'r').blocks).toEqual([block]);
  expect(out.stderr).toMatch(/adopted block/);
  expect(out.stderr).not.toMatch(/claimed block/);
  expect(kube.claims.objects()).toHaveLength(1);
});

test('API down before the first claim: code 11 naming the server, state unchanged; down after it: warm ADDs work', async () => {
  const cluster = fresh();
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.93.0.0/16'] };
  const unreachable = path.join(cluster.dir, 'kubeconfig-down');
  fs.writeFileSync(unreachable, fs.readFileSync(kube.kubeconfig, 'utf8').replace(kube.fx.server.url, 'https://127.0.0.1:1'));
  const down = { ...cluster, store: { ...cluster.store, kubeconfig: unreachable } };
  const refused = await call(down, 'late', 'ADD', 'c1', ipam);
  expect(refused.json).toMatchObject({ code: 11, msg: expect.stringContaining('cannot reach the Kubernetes API server at https://127.0.0.1:1') });
  expect(localRecord(cluster, 'late').blocks).toEqual([]);
  expect(kube.claims.objects()).toEqual([]);

  const b = addressOf(await call(cluster, 'up', 'ADD', 'c1', ipam));
  const warm = await call(down, 'up', 'ADD', 'c2', ipam);
  expect(addressOf(warm)).not.toBe(b);
  expect((await call(down, 'up', 'DEL', 'c1', ipam)).code).toBe(0);
  // Its store check comes due: it only warns and keeps serving.
  const checked = await call(down, 'up', 'ADD', 'c3', { ...ipam, storeCheckSeconds: 0 });
  addressOf(checked);
  expect(checked.stderr).toMatch(/could not compare this node's blocks with the cluster store \(cannot reach the Kubernetes API server/);
  addressOf(await call(cluster, 'late', 'ADD', 'c1', ipam)); // and the late node claims once the API is back
});

test('the API refuses (403): code 107 naming the permission and the manifest; nothing claimed', async () => {
  const cluster = fresh();
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.94.0.0/16'] };
  kube.claims.deny('create');
  try {
    const out = await call(cluster, 'n403', 'ADD', 'c1', ipam);
    expect(out.json).toMatchObject({ code: 107, msg: expect.stringMatching(/refused "create on ipamblockclaims\.pod-ipam\.io" \(403 Forbidden\).*conf-examples\/deploy-cluster-pool\.yaml/) });
    expect(localRecord(cluster, 'n403').blocks).toEqual([]);
    // STATUS changes nothing (issue 11), so it cannot try a claim: it sees a free block
    // in the store and answers ready; the refusal shows on each ADD and in the audit log.
    const status = await call(cluster, 'n403', 'STATUS', 'x', ipam);
    expect(status.code).toBe(0);
    expect(kube.claims.objects()).toEqual([]);
  } finally {
    kube.claims.allow();
  }
  expect(kube.claims.objects()).toEqual([]);
  addressOf(await call(cluster, 'n403', 'ADD', 'c1', ipam));
});

test('a node whose Node object does not exist: code 11 naming it (its claim could have no owner)', async () => {
  const cluster = fresh();
  kube.claims.deleteNode('ghost');
  const out = await call(cluster, 'ghost', 'ADD', 'c1', { clusterPoolIPv4PodCIDRList: ['10.95.0.0/16'] });
  expect(out.json).toMatchObject({ code: 11, msg: expect.stringContaining('node "ghost" does not exist in the API server') });
});

test('blocks list, blocks show, blocks release and metrics read the kubernetes store', async () => {
  const cluster = fresh();
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.96.0.0/22'] };
  const outs = await Promise.all(['m0', 'm1', 'm2'].map((n) => addRetrying(cluster, n, 'c1', ipam)));
  outs.forEach(addressOf);
  // The operator's host holds no node's state: only the store (and heartbeats) tell it anything.
  const conf = path.join(cluster.dir, 'operator.conf');
  fs.writeFileSync(conf, JSON.stringify(nodeConf(cluster, 'operator-host', ipam)));
  const onM0 = path.join(cluster.dir, 'm0.conf');
  fs.writeFileSync(onM0, JSON.stringify(nodeConf(cluster, 'm0', ipam)));
  const list = await runPlugin({ command: undefined, argv: ['blocks', 'list', '--config', conf] });
  expect(list.code).toBe(0);
  expect(list.stdout.trim().split('\n').map((l) => l.split('\t')[1]).sort()).toEqual(['m0/podnet', 'm1/podnet', 'm2/podnet']);
  const metrics = await runPlugin({ command: undefined, argv: ['metrics', '--config', onM0, '--data-dir', path.join(cluster.dir, 'm0')] });
  expect(metrics.stdout).toMatch(/pod_ipam_pool_blocks_claimed\{network="podnet",family="ipv4"\} 3/);
  const show = await runPlugin({ command: undefined, argv: ['blocks', 'show', '--config', onM0] });
  expect(show.code).toBe(0);
  expect(show.stdout).toContain('m1');
  // m2's heartbeat is valid: a remote release is refused; m2's Node gone would free it anyway.
  const release = await runPlugin({ command: undefined, argv: ['blocks', 'release', '--config', conf, '--node', 'm2'] });
  expect(release.code).toBe(1);
  expect(release.stderr).toMatch(/node m2 looks alive: its heartbeat in kubernetes API/);
  const forced = await runPlugin({ command: undefined, argv: ['blocks', 'release', '--config', conf, '--node', 'm2', '--force'] });
  expect(forced.code).toBe(0);
  expect([...(await storeOwners(cluster)).values()].sort()).toEqual(['m0/podnet', 'm1/podnet']);
});
