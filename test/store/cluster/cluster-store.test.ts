/**
 * One contract, run against every cluster store: the file store in a temp directory, the
 * etcd store against a real etcd, and the kubernetes store against the stand-in API
 * server (test/helpers/fake-kube-claims.ts; no real kube-apiserver runs here).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openClusterStore } from '../../../src/store/cluster/cluster-store';
import type { ClusterStore } from '../../../src/store/cluster/cluster-store';
import { ClusterStoreError, ConfigError, CorruptStateError, TryAgainError } from '../../../src/core/errors';
import { cidrsOverlap, parseCidr } from '../../../src/core/ip';
import { createClaim, removeClaim } from '../../../src/store/cluster/claim-files';
import { claimedBefore } from '../../../src/store/cluster/kube-claim-objects';
import { makeCerts, startEtcd } from '../../helpers/etcd-server';
import type { EtcdServer } from '../../helpers/etcd-server';
import { FakeKubeClaims } from '../../helpers/fake-kube-claims';
import { startKubeFixture } from '../../modes/kubernetes/kube-fixture';
import type { KubeFixture } from '../../modes/kubernetes/kube-fixture';

// The kubernetes store's cases make many HTTPS requests to an in-process stand-in: on a
// loaded machine they outlast jest's default 5 s.
jest.setTimeout(120000);

let etcd: EtcdServer;
let tmp: string;
let kube: KubeFixture;
let claims: FakeKubeClaims;
beforeAll(async () => {
  etcd = await startEtcd();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-cstore-'));
  kube = await startKubeFixture();
  claims = new FakeKubeClaims(kube.server);
  // Claims are owned by Node objects: every node name the contract uses exists.
  for (const n of ['node-a', 'node-b', 'a', 'b', 'c', ...Array.from({ length: 40 }, (_, i) => `n${i}`)]) kube.server.setNode(n, []);
});
afterAll(async () => {
  await etcd?.stop();
  await kube?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A fresh kubernetes store: the stand-in keeps one set of objects, so empty it. */
async function openKube(): Promise<ClusterStore> {
  claims.clear();
  return openClusterStore({ type: 'kubernetes', timeoutMs: 20000, env: kube.inClusterEnv() });
}

let seq = 0;
const stores: [string, () => Promise<ClusterStore>][] = [
  ['file', () => openClusterStore({ type: 'file', path: path.join(tmp, `store-${++seq}`) })],
  ['etcd', () => openClusterStore({ type: 'etcd', endpoints: [etcd.endpoint], prefix: `/test-${++seq}` })],
  ['kubernetes', openKube],
];

describe.each(stores)('%s cluster store', (_name, open) => {
  let store: ClusterStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.close();
  });

  test('claim, owner, list, release', async () => {
    expect(await store.list()).toEqual([]);
    expect(await store.owner('10.0.1.0/24')).toBeUndefined();
    expect(await store.claim('10.0.1.0/24', 'node-a')).toEqual({ owner: 'node-a', won: true });
    expect(await store.claim('10.0.1.0/24', 'node-b')).toEqual({ owner: 'node-a', won: false });
    // A retry by the owner (e.g. after a lost answer) counts as won.
    expect(await store.claim('10.0.1.0/24', 'node-a')).toEqual({ owner: 'node-a', won: true });
    expect(await store.claim('fd00::100/120', 'node-b')).toEqual({ owner: 'node-b', won: true });
    expect(await store.owner('10.0.1.0/24')).toBe('node-a');
    expect((await store.list()).sort((a, b) => a.block.localeCompare(b.block))).toEqual([
      { block: '10.0.1.0/24', node: 'node-a' },
      { block: 'fd00::100/120', node: 'node-b' },
    ]);
    expect(await store.release('10.0.1.0/24', 'node-b')).toBe(false);
    expect(await store.owner('10.0.1.0/24')).toBe('node-a');
    expect(await store.release('10.0.1.0/24', 'node-a')).toBe(true);
    expect(await store.release('10.0.1.0/24', 'node-a')).toBe(false);
    expect(await store.list()).toEqual([{ block: 'fd00::100/120', node: 'node-b' }]);
  });

  test('a claim fails while any claimed block overlaps it, whatever the masks', async () => {
    expect((await store.claim('10.0.0.0/23', 'a')).won).toBe(true);
    expect(await store.claim('10.0.1.0/24', 'b')).toEqual({ owner: 'a', won: false }); // inside a's block
    expect(await store.claim('10.0.0.0/22', 'c')).toEqual({ owner: 'a', won: false }); // contains it
    expect(await store.claim('10.0.0.128/25', 'a')).toEqual({ owner: 'a', won: false }); // even a's own
    expect((await store.claim('10.0.2.0/24', 'b')).won).toBe(true); // beside it
    expect((await store.claim('fd00::/120', 'b')).won).toBe(true);
    expect((await store.claim('fd00::80/121', 'c')).won).toBe(false);
    expect((await store.list()).map((o) => o.block).sort()).toEqual(['10.0.0.0/23', '10.0.2.0/24', 'fd00::/120']);
  });

  test('40 claims of masks /22 to /26 racing over one /22: the winners never overlap', async () => {
    const blocks = Array.from({ length: 40 }, (_, i) => {
      const mask = 22 + (i % 5);
      const size = 2 ** (32 - mask);
      const offset = ((i * 7) % (1024 / size)) * size;
      return `10.7.${offset >> 8}.${offset & 255}/${mask}`;
    });
    const results = await Promise.all(blocks.map((b, i) => store.claim(b, `n${i}`)));
    const won = blocks.filter((_, i) => results[i]!.won);
    expect(won.length).toBeGreaterThan(0);
    const cidrs = won.map((b) => parseCidr(b)!.cidr);
    cidrs.forEach((a, i) => cidrs.slice(i + 1).forEach((b) => expect(cidrsOverlap(a, b)).toBe(false)));
    expect((await store.list()).map((o) => o.block).sort()).toEqual([...won].sort());
  });

  test('heartbeats: valid for their time to live, per node', async () => {
    expect(await store.lastHeartbeat('a/net')).toBeUndefined();
    await store.heartbeat('a/net', 60);
    expect(Date.parse((await store.lastHeartbeat('a/net'))!)).toBeGreaterThan(0);
    expect(await store.lastHeartbeat('b/net')).toBeUndefined();
  });

  test('20 nodes racing for one block: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claim('10.9.0.0/24', `n${i}`)));
    const winners = results.filter((r) => r.won);
    expect(winners).toHaveLength(1);
    expect(results.every((r) => r.owner === winners[0]!.owner)).toBe(true);
    expect(await store.owner('10.9.0.0/24')).toBe(winners[0]!.owner);
  });
});

test('file store: a corrupt blocks file is reported, never reset', async () => {
  const dir = path.join(tmp, 'corrupt');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'blocks.json'), '{"version":1,"blocks":');
  const store = await openClusterStore({ type: 'file', path: dir });
  await expect(store.list()).rejects.toBeInstanceOf(CorruptStateError);
  await expect(store.claim('10.0.0.0/24', 'n')).rejects.toBeInstanceOf(CorruptStateError);
  fs.writeFileSync(path.join(dir, 'blocks.json'), '{"version":1,"blocks":{"10.0.0.0/24":5}}');
  await expect(store.list()).rejects.toBeInstanceOf(CorruptStateError);
  expect(fs.readFileSync(path.join(dir, 'blocks.json'), 'utf8')).toContain('5');
});

test('etcd store: unreadable TLS file is a ConfigError naming the field', async () => {
  const err = await openClusterStore({ type: 'etcd', endpoints: [etcd.endpoint], prefix: '/x', tls: { ca: path.join(tmp, 'nope.pem') } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).path).toBe('ipam.clusterStore.tls.ca');
});

test('etcd store: a TLS file that is not PEM is a ConfigError naming the field (code 7, not 199)', async () => {
  const junk = path.join(tmp, 'junk.pem');
  fs.writeFileSync(junk, 'this is not PEM\n');
  const certs = makeCerts(path.join(tmp, 'pem-certs'));
  for (const [tls, field] of [[{ ca: junk }, 'ca'], [{ cert: junk, key: junk }, 'cert'], [{ cert: certs.clientCert, key: junk }, 'key'], [{ cert: certs.clientCert, key: certs.serverKey }, 'key']] as const) {
    const err = await openClusterStore({ type: 'etcd', endpoints: [etcd.endpoint], prefix: '/x', tls }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).path).toBe(`ipam.clusterStore.tls.${field}`);
    expect((err as Error).message).toMatch(/is not a usable PEM/);
  }
});

test('file store: a store in the old single-file layout is converted on first use', async () => {
  const dir = path.join(tmp, 'legacy');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'blocks.json'), JSON.stringify({ version: 1, blocks: { '10.0.0.0/24': 'a/net', '10.0.1.0/24': 'b/net' } }));
  const store = await openClusterStore({ type: 'file', path: dir });
  expect((await store.list()).sort((x, y) => x.block.localeCompare(y.block))).toEqual([{ block: '10.0.0.0/24', node: 'a/net' }, { block: '10.0.1.0/24', node: 'b/net' }]);
  expect(fs.existsSync(path.join(dir, 'blocks.json'))).toBe(false);
  expect(fs.existsSync(path.join(dir, 'blocks.json.migrated'))).toBe(true);
  expect((await store.claim('10.0.0.128/25', 'c/net')).won).toBe(false);
});

test('file store: a release removes only a claim that names the releaser (fenced), never a newer owner\'s', () => {
  const dir = path.join(tmp, 'fenced');
  fs.mkdirSync(dir);
  expect(createClaim(dir, '10.0.0.0/24', 'new-owner/net')).toBe(true);
  // A stalled releaser that still believes the block is its own:
  expect(removeClaim(dir, '10.0.0.0/24', 'old-owner/net')).toBe(false);
  expect(fs.readdirSync(dir)).toEqual(['10.0.0.0_24']);
  expect(fs.readFileSync(path.join(dir, '10.0.0.0_24'), 'utf8')).toBe('new-owner/net\n');
  expect(removeClaim(dir, '10.0.0.0/24', 'new-owner/net')).toBe(true);
  expect(fs.readdirSync(dir)).toEqual([]);
});

test('etcd store: unreachable etcd is TryAgainError naming the endpoint', async () => {
  const store = await openClusterStore({ type: 'etcd', endpoints: ['http://127.0.0.1:1'], prefix: '/x', timeoutMs: 500 });
  const err = await store.claim('10.0.0.0/24', 'n').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TryAgainError);
  expect((err as Error).message).toContain('127.0.0.1:1');
  await store.close();
});

describe('kubernetes store', () => {
  let store: ClusterStore;
  beforeEach(async () => {
    store = await openKube();
    claims.allow();
  });

  test('a claim is one object per block: node, network, and an ownerReference to the Node', async () => {
    kube.server.setNode('worker-1', []);
    expect((await store.claim('fd00::100/120', 'worker-1/podnet')).won).toBe(true);
    const [object] = claims.objects();
    expect(object).toMatchObject({
      apiVersion: 'pod-ipam.io/v1',
      kind: 'IPAMBlockClaim',
      metadata: { name: 'v6-fd00--100-120', labels: { 'pod-ipam.io/node': 'worker-1' }, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'worker-1', uid: 'uid-worker-1' }] },
      spec: { block: 'fd00::100/120', node: 'worker-1', network: 'podnet' },
    });
    expect(await store.list()).toEqual([{ block: 'fd00::100/120', node: 'worker-1/podnet' }]);
  });

  test('deleting a Node frees its blocks (the garbage collector follows the ownerReference)', async () => {
    kube.server.setNode('gone', []);
    expect((await store.claim('10.3.0.0/24', 'gone/podnet')).won).toBe(true);
    expect((await store.claim('10.3.1.0/24', 'a/podnet')).won).toBe(true);
    await store.heartbeat('gone/podnet', 60);
    expect(claims.deleteNode('gone')).toBe(2); // its claim and its heartbeat
    expect(await store.list()).toEqual([{ block: '10.3.1.0/24', node: 'a/podnet' }]);
    expect(await store.lastHeartbeat('gone/podnet')).toBeUndefined();
    expect((await store.claim('10.3.0.0/24', 'b/podnet')).won).toBe(true);
  });

  test('a claim for a node with no Node object: TryAgainError naming it', async () => {
    const err = await store.claim('10.3.0.0/24', 'no-such-node/podnet').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TryAgainError);
    expect((err as Error).message).toContain('node "no-such-node" does not exist');
    expect(await store.list()).toEqual([]);
  });

  test('403 is a ClusterStoreError (code 107) naming the missing permission; unreachable is TryAgainError', async () => {
    claims.deny('create');
    const err = await store.claim('10.3.0.0/24', 'a/podnet').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterStoreError);
    expect((err as Error).message).toMatch(/refused "create on ipamblockclaims.pod-ipam.io" \(403 Forbidden\).*deploy-cluster-pool.yaml/);
    const down = await openClusterStore({ type: 'kubernetes', timeoutMs: 2000, env: { ...kube.inClusterEnv(), KUBERNETES_SERVICE_PORT: '1' } });
    const unreachable = await down.list().catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(TryAgainError);
    expect((unreachable as Error).message).toContain('cannot reach the Kubernetes API server at https://127.0.0.1:1');
  });

  test('an object the API server refuses (422 Invalid) is a ClusterStoreError (code 107), not "try again"', async () => {
    claims.refuseObjects();
    const err = await store.claim('10.3.0.0/24', 'a/podnet').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterStoreError);
    expect((err as Error).message).toMatch(/answered POST \/apis\/pod-ipam.io\/v1\/ipamblockclaims with HTTP 422: .* is invalid/);
  });

  test('a release is fenced: a claim made again meanwhile (new uid) is not removed by a stale releaser', async () => {
    expect((await store.claim('10.3.0.0/24', 'a/podnet')).won).toBe(true);
    expect(await store.release('10.3.0.0/24', 'b/podnet')).toBe(false);
    expect(await store.release('10.3.0.0/24', 'a/podnet')).toBe(true);
    expect(await store.list()).toEqual([]);
  });

  test('a list longer than a page is read whole', async () => {
    const blocks = Array.from({ length: 1100 }, (_, i) => `10.${100 + (i >> 8)}.${i & 255}.0/24`);
    blocks.forEach((b) => claims.createClaim(b, 'a', 'podnet', `v4-${b.replace('/', '-')}`));
    const listed = await store.list();
    expect(listed.length).toBe(1100); // three pages of 500
    expect(new Set(listed.map((c) => c.block))).toEqual(new Set(blocks));
  });
});

test('kubernetes store: a kubeconfig that cannot be read is a ConfigError naming ipam.clusterStore.kubeconfig', async () => {
  const err = await openClusterStore({ type: 'kubernetes', kubeconfig: path.join(tmp, 'nope'), timeoutMs: 1000, env: {} }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).path).toBe('ipam.clusterStore.kubeconfig');
});

describe('kubernetes store: the overlap rule in scripted interleavings (exclusive create, then a list)', () => {
  let store: ClusterStore;
  beforeEach(async () => {
    store = await openKube();
  });

  test('a claim created after an overlapping one that has not checked yet withdraws; the earlier one then stands', async () => {
    // b's /23 is created (b has not listed yet); then a claims the /24 inside it.
    claims.createClaim('10.5.0.0/23', 'b', 'net', 'v4-10.5.0.0-23');
    expect(await store.claim('10.5.1.0/24', 'a/net')).toEqual({ owner: 'b/net', won: false });
    expect(claims.claims()).toEqual(new Map([['10.5.0.0/23', 'b/net']])); // a withdrew its object
    // b's check now (its claim retried: 409, its own): nothing earlier overlaps: it stands.
    expect(await store.claim('10.5.0.0/23', 'b/net')).toEqual({ owner: 'b/net', won: true });
  });

  test('a claim created before an overlapping one stands; the later one withdraws at its check', async () => {
    expect(await store.claim('10.6.0.0/24', 'a/net')).toEqual({ owner: 'a/net', won: true });
    claims.createClaim('10.6.0.0/23', 'b', 'net', 'v4-10.6.0.0-23'); // created later, not checked yet
    expect(await store.claim('10.6.0.0/24', 'a/net')).toEqual({ owner: 'a/net', won: true }); // a's retry still stands
    // b's check: a's claim is earlier: b's claim does not stand, and its object is withdrawn.
    expect(await store.claim('10.6.0.0/23', 'b/net')).toEqual({ owner: 'a/net', won: false });
    expect(claims.claims()).toEqual(new Map([['10.6.0.0/24', 'a/net']]));
  });

  test.each([
    ['earlier resourceVersion', { rv: '5', created: 1000 }, { rv: '9', created: 1000 }, true],
    ['later resourceVersion', { rv: '12', created: 1000 }, { rv: '9', created: 1000 }, false],
    ['later resourceVersion but created over 2 s before (modified since)', { rv: '12', created: 1000 }, { rv: '9', created: 4000 }, true],
    ['a resourceVersion that is not a number', { rv: 'abc', created: 1000 }, { rv: '9', created: 1000 }, true],
    ['no creation time', { rv: '12', created: NaN }, { rv: '9', created: 1000 }, true],
  ])('claimedBefore: %s', (_name, other, mine, expected) => {
    const c = (x: { rv: string; created: number }) => ({ block: '10.0.0.0/24', node: 'n', name: 'x', uid: 'u', resourceVersion: x.rv, created: x.created });
    expect(claimedBefore(c(other), c(mine))).toBe(expected);
  });
});
