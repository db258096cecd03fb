/**
 * cluster-pool through the built plugin, as a runtime runs it: many simulated nodes (own
 * data directory and node name each) claiming at once, with the file store, a real etcd
 * (plain and TLS) and the kubernetes store (stand-in API server), etcd outages before,
 * after and during claims. The kubernetes store's own cases: kubernetes-store.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatCidr, parseCidr } from '../../../src/core/ip';
import { openClusterStore } from '../../../src/store/cluster/cluster-store';
import type { ClusterStoreConfig } from '../../../src/store/cluster/cluster-store';
import { runPlugin, tempDataDir } from '../../helpers/run-plugin';
import type { PluginOutcome } from '../../helpers/run-plugin';
import { startEtcd } from '../../helpers/etcd-server';
import type { EtcdServer } from '../../helpers/etcd-server';
import { startKubeStoreBackend } from '../../helpers/fake-kube-claims';
import type { KubeStoreBackend } from '../../helpers/fake-kube-claims';

let tmp: { dir: string; cleanup: () => void };
let etcd: EtcdServer;
let kube: KubeStoreBackend;
beforeAll(async () => {
  tmp = tempDataDir('pod-ipam-cp-');
  etcd = await startEtcd();
  kube = await startKubeStoreBackend();
});
afterAll(async () => {
  await etcd?.stop();
  await kube?.close();
  tmp?.cleanup();
});

let seq = 0;
/** Kubernetes-store clusters have no path or prefix to name their node directories by. */
const kubeIds = new WeakMap<Record<string, unknown>, string>();
const clusterId = (store: Record<string, unknown>): string => String(store['path'] ?? store['prefix'] ?? kubeIds.get(store));
/** A fresh cluster: its own store (file directory or etcd prefix). */
function cluster(kind: 'file' | 'etcd' | 'kubernetes', server: EtcdServer = etcd): { store: Record<string, unknown>; config: ClusterStoreConfig } {
  seq++;
  if (kind === 'kubernetes') {
    kube.claims.clear();
    const store = kube.store();
    kubeIds.set(store, `kube-${seq}`);
    return { store, config: kube.config() };
  }
  if (kind === 'file') {
    const p = path.join(tmp.dir, `store-${seq}`);
    return { store: { type: 'file', path: p }, config: { type: 'file', path: p } };
  }
  const tls = server.clientTls;
  const store = { type: 'etcd', endpoints: [server.endpoint], prefix: `/c${seq}`, ...(tls ? { tls } : {}), timeoutSeconds: 1 };
  return { store, config: { type: 'etcd', endpoints: [server.endpoint], prefix: `/c${seq}`, ...(tls ? { tls } : {}) } };
}

const nodeDir = (clusterId: string, nodeName: string) => path.join(tmp.dir, clusterId, nodeName);

function conf(nodeName: string, store: Record<string, unknown>, ipam: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.1.0',
    name: 'podnet',
    ipam: { type: 'pod-ipam', mode: 'cluster-pool', dataDir: nodeDir(clusterId(store), nodeName), nodeName, clusterPoolIPv4PodCIDRList: ['10.64.0.0/16'], clusterStore: store, ...ipam },
  };
}

const add = (nodeName: string, store: Record<string, unknown>, containerId = 'c1', ipam: Record<string, unknown> = {}) =>
  runPlugin({ command: 'ADD', containerId, stdin: conf(nodeName, store, ipam) });

/** The /24 block a result's first address lies in. */
function blockOf(out: PluginOutcome, mask = 24): string {
  expect(out.stderr).not.toMatch(/at .*\.js:\d+/);
  if (out.code !== 0) throw new Error(`plugin failed: ${out.stdout} ${out.stderr}`);
  const cidr = parseCidr(out.json.ips[0].address)!.cidr;
  return formatCidr(parseCidr(`${formatCidr({ ...cidr, prefix: 32 }).split('/')[0]}/${mask}`)!.cidr);
}

async function owners(config: ClusterStoreConfig): Promise<Map<string, string>> {
  const store = await openClusterStore(config);
  try {
    return new Map((await store.list()).map((o) => [o.block, o.node]));
  } finally {
    await store.close();
  }
}

/** Every node's local record of its blocks. */
function localBlocks(store: Record<string, unknown>, nodes: string[]): Map<string, string[]> {
  return new Map(nodes.map((n) => {
    const file = path.join(nodeDir(clusterId(store), n), 'podnet', 'cluster-pool.json');
    return [n, fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { blocks: string[] }).blocks : []];
  }));
}

describe.each(['file', 'etcd', 'kubernetes'] as const)('%s store', (kind) => {
  test('50 nodes starting at once get 50 distinct blocks; a restarted node keeps its block', async () => {
    const { store, config } = cluster(kind);
    const nodes = Array.from({ length: 50 }, (_, i) => `node-${i}`);
    // A runtime retries code 11 ("try again"): 50 processes on a loaded 2-core host can
    // stall past the network lock's lease or etcd's timeout, and a retry must then succeed
    // with the node's one block (adopted back if its claim landed).
    const addRetrying = async (n: string) => {
      for (let i = 0; ; i++) {
        const out = await add(n, store);
        if (out.code === 0 || out.json?.code !== 11 || i >= 5) return out;
      }
    };
    const outs = await Promise.all(nodes.map(addRetrying));
    const blocks = outs.map((o) => blockOf(o));
    expect(new Set(blocks).size).toBe(50);
    const recorded = await owners(config);
    expect(recorded.size).toBe(50);
    nodes.forEach((n, i) => expect(recorded.get(blocks[i]!)).toBe(`${n}/podnet`));
    // "Restart": a later ADD on node-7 (a new process, as every call is) uses the same block.
    expect(blockOf(await add('node-7', store, 'c2'))).toBe(blocks[7]);
    expect((await owners(config)).size).toBe(50);
  });
});

test('pool exhaustion: code 106 naming pool and mask; STATUS code 50', async () => {
  const { store } = cluster('file');
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.70.0.0/23'] };
  blockOf(await add('a', store, 'c1', ipam));
  blockOf(await add('b', store, 'c1', ipam));
  const out = await add('c', store, 'c1', ipam);
  expect(out.code).not.toBe(0);
  expect(out.json.code).toBe(106);
  expect(out.json.msg).toContain('10.70.0.0/23 with /24 blocks');
  const status = await runPlugin({ command: 'STATUS', stdin: conf('c', store, ipam) });
  expect(status.json.code).toBe(50);
});

test.each(['file', 'etcd'] as const)('STATUS changes nothing (%s store): no block claimed on a new node, no check written on a due one', async (kind) => {
  const { store, config } = cluster(kind);
  const listed = async () => {
    const s = await openClusterStore(config);
    try {
      return (await s.list()).map((o) => `${o.block} ${o.node}`).sort();
    } finally {
      await s.close();
    }
  };
  const status = await runPlugin({ command: 'STATUS', stdin: conf('fresh', store) });
  expect(status.code).toBe(0); // an ADD could be served: the pool has a free block
  expect(await listed()).toEqual([]);
  expect(fs.existsSync(path.join(nodeDir(String(store['path'] ?? store['prefix']), 'fresh'), 'podnet', 'cluster-pool.json'))).toBe(false);
  blockOf(await add('a', store, 'c1', { storeCheckSeconds: 0 }));
  const owned = await listed();
  const record = path.join(nodeDir(String(store['path'] ?? store['prefix']), 'a'), 'podnet', 'cluster-pool.json');
  const before = fs.readFileSync(record, 'utf8');
  expect((await runPlugin({ command: 'STATUS', stdin: conf('a', store, { storeCheckSeconds: 0 }) })).code).toBe(0);
  expect(fs.readFileSync(record, 'utf8')).toBe(before);
  expect(await listed()).toEqual(owned);
});

test('maxBlocksPerNode 2: a full node claims a second block, then the range is exhausted', async () => {
  const { store, config } = cluster('file');
  // A /30 block holds one pod besides network, gateway and broadcast.
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.71.0.0/24'], clusterPoolIPv4MaskSize: 30, maxBlocksPerNode: 2 };
  const b1 = blockOf(await add('a', store, 'c1', ipam), 30);
  const b2 = blockOf(await add('a', store, 'c2', ipam), 30);
  expect(b2).not.toBe(b1);
  expect([...(await owners(config)).values()]).toEqual(['a/podnet', 'a/podnet']);
  const third = await add('a', store, 'c3', ipam);
  expect(third.json.code).toBe(100);
});

describe('etcd outages', () => {
  test('etcd stopped after the claim: ADD and DEL still work; before the claim: code 11, then fine once etcd is back', async () => {
    const { store } = cluster('etcd');
    const b = blockOf(await add('up', store, 'c1'));
    await etcd.kill();
    try {
      expect(blockOf(await add('up', store, 'c2'))).toBe(b);
      const del = await runPlugin({ command: 'DEL', containerId: 'c1', stdin: conf('up', store) });
      expect(del.code).toBe(0);
      const down = await add('late', store, 'c1');
      expect(down.json.code).toBe(11);
      expect(down.json.msg).toContain(new URL(etcd.endpoint).host);
    } finally {
      await etcd.start();
    }
    const late = blockOf(await add('late', store, 'c1'));
    expect(late).not.toBe(b);
  });

  test('etcd killed and restarted during a burst of claims: no block is owned twice', async () => {
    const { store, config } = cluster('etcd');
    const nodes = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    let retries = 0;
    let firstClaimed: () => void = () => undefined;
    const claimed = new Promise<void>((r) => (firstClaimed = r));
    // Runtimes retry code 11; so do these nodes, until each has a block.
    const attempt = async (n: string): Promise<string> => {
      for (let i = 0; i < 40; i++) {
        const out = await add(n, store);
        if (out.code === 0) {
          firstClaimed();
          return blockOf(out);
        }
        expect(out.json.code).toBe(11);
        retries++;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${n} never got a block`);
    };
    const burst = Promise.all(nodes.slice(0, 30).map(attempt));
    await claimed; // the burst is under way: kill etcd in the middle of it
    await etcd.kill();
    // A second wave starts during the outage, so the retry path is exercised even on a
    // machine fast enough to finish the first wave before the kill lands.
    const wave2 = Promise.all(nodes.slice(30).map(attempt));
    await new Promise((r) => setTimeout(r, 500));
    await etcd.start();
    const blocks = [...(await burst), ...(await wave2)];
    expect(retries).toBeGreaterThan(0);
    expect(new Set(blocks).size).toBe(nodes.length);
    const recorded = await owners(config);
    const local = localBlocks(store, nodes);
    const all = [...local.values()].flat();
    expect(new Set(all).size).toBe(all.length); // no block in two nodes' records
    for (const [n, bs] of local) {
      expect(bs).toHaveLength(1);
      expect(recorded.get(bs[0]!)).toBe(`${n}/podnet`); // and the store agrees with each node
    }
  });
});

test('etcd with TLS client certificates: nodes claim distinct blocks', async () => {
  const tlsEtcd = await startEtcd({ tls: true });
  try {
    const { store, config } = cluster('etcd', tlsEtcd);
    const nodes = ['t0', 't1', 't2', 't3', 't4'];
    const blocks = (await Promise.all(nodes.map((n) => add(n, store)))).map((o) => blockOf(o));
    expect(new Set(blocks).size).toBe(5);
    expect((await owners(config)).size).toBe(5);
    const noCert = await add('t5', { ...store, tls: { ca: tlsEtcd.clientTls!.ca } });
    expect(noCert.json.code).toBe(107); // a retry meets the same certificates: not code 11
    expect(noCert.json.msg).toMatch(/TLS handshake with etcd failed/);
  } finally {
    await tlsEtcd.stop();
  }
});

test('a TLS file that is not PEM: ADD answers code 7 naming the field, not 199', async () => {
  const junk = path.join(tmp.dir, 'junk-ca.pem');
  fs.writeFileSync(junk, 'not a certificate\n');
  const { store } = cluster('etcd');
  const out = await add('pem', { ...store, tls: { ca: junk } });
  expect(out.json.code).toBe(7);
  expect(out.json.msg).toMatch(/^ipam\.clusterStore\.tls\.ca: .* is not a usable PEM CA certificate/);
});
