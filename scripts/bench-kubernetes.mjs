#!/usr/bin/env node
// Cold and warm ADD in kubernetes mode, timed as a runtime sees them: one plugin process
// per call (dist/pod-ipam.cjs; run `npm run build` first) against the fake API server of
// the tests, on loopback with a test CA. Reports medians from one run, with node-local
// ADD (same bundle, same dual-stack ranges, no API at all) as the baseline for the ratios.
//
//   cold        no podCIDR cache: loads the HTTPS client, TLS handshake, GET the Node
//   warm        fresh cache: no API call, node:https never loaded
//   annotation  warm cache + podAnnotations: one GET of the Pod per ADD
//
// Usage: node scripts/bench-kubernetes.mjs [iterations=30]
//        POD_IPAM_TARGET=exe node scripts/bench-kubernetes.mjs   (time dist/pod-ipam, the single executable)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { median } from './lib/bench-util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const exe = process.env.POD_IPAM_TARGET === 'exe';
const bundle = path.join(root, 'dist', exe ? 'pod-ipam' : 'pod-ipam.cjs');
const command = exe ? [bundle] : [process.execPath, bundle];
if (!fs.existsSync(bundle)) {
  console.error(`${path.relative(root, bundle)} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const iterations = Number(process.argv[2] ?? 30);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-bench-k8s-'));

// Reuse the tests' fake API server: compile the TypeScript helper with esbuild.
const helperFile = path.join(work, 'fake-kube-apiserver.cjs');
await build({ entryPoints: [path.join(root, 'test/helpers/fake-kube-apiserver.ts')], outfile: helperFile, bundle: true, platform: 'node', format: 'cjs', logLevel: 'warning' });
const { FakeKubeApiServer, makeTestPki } = createRequire(import.meta.url)(helperFile);

const pki = makeTestPki(fs.mkdtempSync(path.join(work, 'pki-')));
const server = await FakeKubeApiServer.start(pki);
server.tokens.set('bench-token', 'system:serviceaccount:kube-system:pod-ipam');
server.setNode('node-a', ['10.244.0.0/16', 'fd00:10:244::/64']);
server.setPod('default', 'web-0', { 'ipam.kubernetes.io/address': '10.244.200.1' });
const saDir = path.join(work, 'sa');
fs.mkdirSync(saDir);
fs.writeFileSync(path.join(saDir, 'token'), 'bench-token');
fs.copyFileSync(pki.caFile, path.join(saDir, 'ca.crt'));

const kubeEnv = { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(server.port), POD_IPAM_SERVICEACCOUNT_DIR: saDir, NODE_NAME: 'node-a' };

function run(containerId, ipam, extraEnv = {}) {
  const env = { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: containerId, CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...extraEnv };
  const stdin = JSON.stringify({ cniVersion: '1.1.0', name: 'bench', ipam: { type: 'pod-ipam', ...ipam } });
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command[0], command.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`ADD failed (${code}): ${out}`));
      else resolve(ms);
    });
    child.stdin.end(stdin);
  });
}


const cases = {
  'node-local (baseline)': (i) => run(`nl-${i}`, { mode: 'node-local', dataDir: path.join(work, 'nl'), ranges: [[{ subnet: '10.1.0.0/16' }], [{ subnet: 'fd00:1::/64' }]] }),
  'kubernetes cold': (i) => run(`cold-${i}`, { mode: 'kubernetes', dataDir: path.join(work, `cold-${i}`) }, kubeEnv),
  'kubernetes warm': (i) => run(`warm-${i}`, { mode: 'kubernetes', dataDir: path.join(work, 'warm') }, kubeEnv),
  'kubernetes warm + annotation': (i) => run(`ann-${i}`, { mode: 'kubernetes', dataDir: path.join(work, `ann-${i}`), podAnnotations: true, podCIDRCacheSeconds: 3600 }, { ...kubeEnv, CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0' }),
};

// Warm-up: fill the page cache and the warm case's podCIDR cache; not timed.
await run('prime', { mode: 'kubernetes', dataDir: path.join(work, 'warm') }, kubeEnv);
await cases['node-local (baseline)']('prime');
// The annotation case needs a warm podCIDR cache in each data dir (one address per pod, so one dir each).
for (let i = 0; i < iterations; i++) await run(`prime-${i}`, { mode: 'kubernetes', dataDir: path.join(work, `ann-${i}`), podCIDRCacheSeconds: 3600 }, kubeEnv);

// Interleave the cases so drift (thermal, other load) hits all of them alike.
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
const requestsBefore = server.requests.length;
for (let i = 0; i < iterations; i++) for (const [name, fn] of Object.entries(cases)) times[name].push(await fn(i));
const apiCalls = server.requests.slice(requestsBefore);

const base = median(times['node-local (baseline)']);
console.log(`pod-ipam kubernetes mode (${exe ? 'dist/pod-ipam executable' : `dist/pod-ipam.cjs on node ${process.version}`}), ADD per process, ${iterations} runs each, ${os.cpus()[0]?.model ?? ''}`);
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(`${name.padEnd(30)} median ${m.toFixed(1).padStart(6)} ms   min ${Math.min(...xs).toFixed(1).padStart(6)} ms   x${(m / base).toFixed(2)} of node-local`);
}
console.log(`API requests during the timed runs: ${apiCalls.filter((r) => r.path.startsWith('/api/v1/nodes/')).length} node GETs (expected ${iterations}: cold only), ${apiCalls.filter((r) => r.path.includes('/pods/')).length} pod GETs (expected ${iterations})`);
await server.close();
fs.rmSync(work, { recursive: true, force: true });
