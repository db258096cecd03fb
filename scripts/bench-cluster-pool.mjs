#!/usr/bin/env node
// cluster-pool: 200 simulated nodes claim their first block at once from a real etcd
// (Debian's etcd-server, started by test/helpers/etcd-server.ts on loopback ports), and
// (--store kubernetes or both, the default) from the kubernetes store against the tests'
// stand-in API server (scripts/lib/fake-kube-api.mjs, in a node process of its own, a
// fresh one per round; not a real kube-apiserver).
// Each node is one plugin process doing its first ADD (which claims a /24 of
// 10.64.0.0/16); a node told "try again" (code 11) retries after 100 ms, as a runtime
// does. Reports the total wall time until every node has a block, the retries, and
// checks that the 200 blocks are distinct and that etcd records each node as the owner
// of exactly its block.
//
// Also claims 200 blocks at once in one process through the store API, wrapping the
// store to count claim() calls: every call beyond 200 is a race lost to another node.
//
// And the warm ADD (a node that already owns its block, store check not due): --warm N
// interleaved ADDs each of node-local, cluster-pool with the file store and cluster-pool
// with etcd, one plugin process each, medians (0 skips it).
//
//   node scripts/bench-cluster-pool.mjs [--nodes 200] [--rounds 3] [--warm 40] [--target exe|node] [--store etcd|kubernetes|both]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { option, median } from './lib/bench-util.mjs';
import { spawnFakeKubeApi } from './lib/fake-kube-api.mjs';

const nodes = Number(option('nodes', '200'));
const rounds = Number(option('rounds', '3'));
const warmRuns = Number(option('warm', '40'));
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const exe = path.join(root, 'dist/pod-ipam');
const target = option('target', fs.existsSync(exe) ? 'exe' : 'node');
const stores = { etcd: ['etcd'], kubernetes: ['kubernetes'], both: ['etcd', 'kubernetes'] }[option('store', 'both')];
if (!stores) throw new Error('--store must be etcd, kubernetes or both');
const cmd = target === 'exe' ? [exe] : [process.execPath, path.join(root, 'dist/pod-ipam.cjs')];
if (!fs.existsSync('/usr/bin/etcd') && option('store', 'both') !== 'kubernetes') {
  console.log('bench-cluster-pool: skipped, etcd is not installed (apt-get install etcd-server)');
  process.exit(0);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-bench-cp-'));
// The etcd helper and the store are TypeScript: bundle them for this script.
const helperFile = path.join(work, 'helpers.cjs');
fs.writeFileSync(
  path.join(work, 'entry.ts'),
  `export { startEtcd } from ${JSON.stringify(path.join(root, 'test/helpers/etcd-server'))};
   export { openClusterStore } from ${JSON.stringify(path.join(root, 'src/store/cluster/cluster-store'))};
   export { claimFreeBlock } from ${JSON.stringify(path.join(root, 'src/modes/cluster-pool/claim'))};
   export { BlockGrid } from ${JSON.stringify(path.join(root, 'src/modes/cluster-pool/block-grid'))};
   export { parseClusterPoolConfig } from ${JSON.stringify(path.join(root, 'src/modes/cluster-pool/config'))};`,
);
await build({ entryPoints: [path.join(work, 'entry.ts')], outfile: helperFile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', absWorkingDir: root });
const { startEtcd, openClusterStore } = createRequire(import.meta.url)(helperFile);

function add(nodeName, dirName, clusterStore) {
  const conf = {
    cniVersion: '1.1.0',
    name: 'podnet',
    ipam: { type: 'pod-ipam', mode: 'cluster-pool', dataDir: path.join(work, dirName, nodeName), nodeName, clusterPoolIPv4PodCIDRList: ['10.64.0.0/16'], clusterStore },
  };
  const env = { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'first-pod', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, json: stdout ? JSON.parse(stdout) : undefined }));
    child.stdin.end(JSON.stringify(conf));
  });
}

const blockOf = (address) => `${address.split('.').slice(0, 3).join('.')}.0/24`;

/** One round of `nodes` first ADDs at once against one store: { store, config, dirName } from the caller. */
async function processRound({ store: clusterStore, config, dirName, name }) {
  let retries = 0;
  const t = process.hrtime.bigint();
  const blocks = await Promise.all(
    Array.from({ length: nodes }, async (_, i) => {
      for (let attempt = 0; attempt < 50; attempt++) {
        const out = await add(`node-${i}`, dirName, clusterStore);
        if (out.code === 0) return blockOf(out.json.ips[0].address);
        if (out.json?.code !== 11) throw new Error(`node-${i}: ${JSON.stringify(out.json)}`);
        retries++;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`node-${i} never got a block`);
    }),
  );
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (new Set(blocks).size !== nodes) throw new Error(`${nodes} nodes got ${new Set(blocks).size} distinct blocks`);
  const store = await openClusterStore(config);
  try {
    const owners = new Map((await store.list()).map((o) => [o.block, o.node]));
    if (owners.size !== nodes) throw new Error(`${name} records ${owners.size} blocks for ${nodes} nodes`);
    blocks.forEach((b, i) => {
      if (owners.get(b) !== `node-${i}/podnet`) throw new Error(`${name} says ${b} belongs to ${owners.get(b)}, node-${i} uses it`);
    });
  } finally {
    await store.close();
  }
  return { ms, retries };
}

async function storeRound(config) {
  const { claimFreeBlock, BlockGrid, parseClusterPoolConfig } = createRequire(import.meta.url)(helperFile);
  const store = await openClusterStore(config);
  let calls = 0;
  let relists = 0;
  const counting = { ...store, description: store.description, claim: (b, n) => (calls++, store.claim(b, n)), list: () => store.list() };
  const pools = parseClusterPoolConfig({ clusterPoolIPv4PodCIDRList: ['10.64.0.0/16'] }, {}, '/tmp');
  const grid = new BlockGrid(pools.families[0]);
  const t = process.hrtime.bigint();
  try {
    // Each node lists the claims and claims a block; after too many lost races
    // ("try again") it lists again and retries, as the plugin's caller would.
    const claimOne = async (node) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          return await claimFreeBlock(counting, grid, node, await store.list());
        } catch (e) {
          if (!/lost \d+ races/.test(e.message)) throw e;
          relists++;
        }
      }
      throw new Error(`${node} never got a block`);
    };
    const got = await Promise.all(Array.from({ length: nodes }, (_, i) => claimOne(`node-${i}/podnet`)));
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (new Set(got.map((c) => c.network)).size !== nodes) throw new Error('store-level claims: a block was handed out twice');
    return { ms, lost: calls - nodes, relists };
  } finally {
    await store.close();
  }
}

/** One plugin process; resolves with its wall time in ms once it exits 0. */
function timedAdd(conf, containerId) {
  const env = { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint();
    const child = spawn(cmd[0], cmd.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t) / 1e6) : reject(new Error(`ADD failed: ${stdout}`))));
    child.stdin.end(JSON.stringify(conf));
  });
}

async function warmRound(etcd, kube) {
  const dir = (name) => path.join(work, 'warm', name);
  const cp = (store) => ({ mode: 'cluster-pool', nodeName: 'warm-node', clusterPoolIPv4PodCIDRList: ['10.66.0.0/16'], clusterStore: store });
  const confs = {
    'node-local': { cniVersion: '1.1.0', name: 'warmnet', ipam: { type: 'pod-ipam', dataDir: dir('nl'), ranges: [[{ subnet: '10.65.0.0/24' }]] } },
    'cluster-pool, file store': { cniVersion: '1.1.0', name: 'warmnet', ipam: { type: 'pod-ipam', dataDir: dir('cpf'), ...cp({ type: 'file', path: dir('store') }) } },
    'cluster-pool, etcd': { cniVersion: '1.1.0', name: 'warmnet', ipam: { type: 'pod-ipam', dataDir: dir('cpe'), ...cp({ type: 'etcd', endpoints: [etcd.endpoint], prefix: '/warm' }) } },
    ...(kube && { 'cluster-pool, kubernetes store': { cniVersion: '1.1.0', name: 'warmnet', ipam: { type: 'pod-ipam', dataDir: dir('cpk'), ...cp(kube.store()) } } }),
  };
  const times = Object.fromEntries(Object.keys(confs).map((k) => [k, []]));
  // The first ADD of each claims (or writes ranges.json): not measured.
  for (const conf of Object.values(confs)) await timedAdd(conf, 'warm-up');
  for (let i = 0; i < warmRuns; i++) for (const [k, conf] of Object.entries(confs)) times[k].push(await timedAdd(conf, `pod-${i}`));
  return times;
}

const etcd = stores.includes('etcd') || warmRuns > 0 ? await startEtcd() : undefined;
/** The stand-in of the current kubernetes round (a fresh process, hence an empty store, per round). */
let kube = stores.includes('kubernetes') ? await spawnFakeKubeApi(work) : undefined;
/** Each round of each store gets a fresh store: an etcd prefix, or the stand-in emptied. */
const backends = {
  etcd: (r, tag) => {
    const prefix = `/bench-${tag}-${r}`;
    return { name: 'etcd', dirName: `etcd-${tag}-${r}`, store: { type: 'etcd', endpoints: [etcd.endpoint], prefix, timeoutSeconds: 10 }, config: { type: 'etcd', endpoints: [etcd.endpoint], prefix } };
  },
  kubernetes: async (r, tag) => {
    await kube.close();
    kube = await spawnFakeKubeApi(work);
    return { name: 'the kubernetes store', dirName: `kube-${tag}-${r}`, store: kube.store(), config: kube.config() };
  },
};
const proc = Object.fromEntries(stores.map((s) => [s, []]));
const direct = Object.fromEntries(stores.map((s) => [s, []]));
let warm;
try {
  if (warmRuns > 0) warm = await warmRound(etcd, kube);
  for (let r = 0; r < rounds; r++) {
    for (const s of stores) {
      proc[s].push(await processRound(await backends[s](r, 'proc')));
      try {
        direct[s].push(await storeRound((await backends[s](r, 'store')).config));
      } catch (e) {
        console.error(`bench-cluster-pool: ${s} store-level round skipped: ${e.message}`);
      }
      console.error(`bench-cluster-pool: ${s} round ${r + 1}/${rounds}: ${proc[s].at(-1).ms.toFixed(0)} ms, ${proc[s].at(-1).retries} retries`);
    }
  }
} finally {
  await etcd?.stop();
  await kube?.close();
  fs.rmSync(work, { recursive: true, force: true });
}
const where = { etcd: 'one etcd', kubernetes: 'the kubernetes store on the stand-in API server (test/helpers/fake-kube-claims.ts in one node process; not a real kube-apiserver)' };
for (const s of stores) {
  if (!proc[s].length) continue;
  const p = proc[s];
  const d = direct[s];
  console.log(`# cluster-pool: ${nodes} nodes claim a /24 of 10.64.0.0/16 at once from ${where[s]} (${target}); ${rounds} rounds, ${os.cpus().length} cores, ${new Date().toISOString()}, load average ${os.loadavg()[0].toFixed(1)}\n`);
  console.log('| measure | median | all rounds |');
  console.log('| --- | ---: | --- |');
  console.log(`| ${nodes} first ADDs (processes), total wall time | ${median(p.map((x) => x.ms)).toFixed(0)} ms | ${p.map((x) => x.ms.toFixed(0)).join(', ')} |`);
  console.log(`| retries (ADDs answered code 11, retried after 100 ms) | ${median(p.map((x) => x.retries))} | ${p.map((x) => x.retries).join(', ')} |`);
  console.log(`| distinct blocks, each recorded in the store for its node | ${nodes} of ${nodes} | every round |`);
  if (d.length) {
    console.log(`| ${nodes} claims through the store API in one process, wall time | ${median(d.map((x) => x.ms)).toFixed(0)} ms | ${d.map((x) => x.ms.toFixed(0)).join(', ')} |`);
    console.log(`| races lost (claim calls beyond ${nodes}) | ${median(d.map((x) => x.lost))} | ${d.map((x) => x.lost).join(', ')} |`);
    console.log(`| nodes that gave up after 32 lost races and listed again | ${median(d.map((x) => x.relists))} | ${d.map((x) => x.relists).join(', ')} |`);
  }
  console.log('');
}
if (warm) {
  const base = median(warm['node-local']);
  console.log(`\n# warm ADD (the node owns its block; no store contact): ${warmRuns} interleaved runs each (${target}), load average ${os.loadavg()[0].toFixed(1)}\n`);
  console.log('| ADD | median | vs node-local |');
  console.log('| --- | ---: | ---: |');
  for (const [k, xs] of Object.entries(warm)) console.log(`| ${k} | ${median(xs).toFixed(1)} ms | ${(median(xs) / base).toFixed(2)} |`);
}
