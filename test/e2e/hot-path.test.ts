/**
 * "The hot path loads only what it uses": a build instrumented by scripts/build.mjs
 * (--instrument-loads) records every bundled module it evaluates, and a preload script
 * records the Node built-ins (process.moduleLoadList). An ADD in node-local mode must
 * evaluate neither commander and the operator CLI, nor the other modes, nor any
 * cluster-store client; a warm ADD in cluster-pool or kubernetes mode (the node already
 * knows its ranges) must evaluate nothing of its store or API client and no Node built-in
 * that a node-local ADD does not (node:crypto alone costs ~7 ms). The CLI and a cold
 * cluster-pool ADD must load what they use, or the instrument proves nothing. The bundle
 * is the same file Bun compiles, so this holds for both builds.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, cniEnv, nodeLocalConf, tempDataDir } from '../helpers/run-plugin';
import { startKubeFixture } from '../modes/kubernetes/kube-fixture';

const NOT_ON_THE_HOT_PATH = [/^node_modules\/commander\//, /^src\/cli\//, /^src\/modes\/(cluster-pool|kubernetes)\//, /^src\/store\/cluster\//];

/** Built-ins a warm ADD of any mode must not load: each costs start-up time, and none is needed. */
const HEAVY_BUILTINS = ['crypto', 'http', 'https', 'tls', 'child_process', 'worker_threads']; // not net: stdio pipes load it in every mode

let tmp: ReturnType<typeof tempDataDir>;
let bundle: string;
let preload: string;
beforeAll(() => {
  tmp = tempDataDir('pod-ipam-hot-path-');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--outdir', tmp.dir, '--no-exe', '--instrument-loads'], { cwd: ROOT, stdio: 'pipe' });
  bundle = path.join(tmp.dir, 'pod-ipam.cjs');
  preload = path.join(tmp.dir, 'report-builtins.cjs');
  fs.writeFileSync(preload, 'process.on("exit",()=>{require("fs").writeSync(2,"\\nPOD_IPAM_BUILTINS "+JSON.stringify(process.moduleLoadList.filter((m)=>m.startsWith("NativeModule ")).map((m)=>m.slice(13)))+"\\n")});\n');
});
afterAll(() => tmp.cleanup());

function loaded(env: Record<string, string>, argv: string[], stdin = ''): Promise<{ code: number | null; modules: string[]; builtins: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', preload, bundle, ...argv], { env: { ...env, POD_IPAM_REPORT_LOADS: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = /POD_IPAM_LOADED (.*)/.exec(stderr);
      const builtins = /POD_IPAM_BUILTINS (.*)/.exec(stderr);
      if (!line || !builtins) reject(new Error(`no load report (exit ${code}): ${stderr}`));
      else resolve({ code, modules: JSON.parse(line[1]!) as string[], builtins: JSON.parse(builtins[1]!) as string[] });
    });
    child.stdin.end(stdin);
  });
}

const offPath = (modules: string[]) => modules.filter((m) => NOT_ON_THE_HOT_PATH.some((re) => re.test(m)));

test('a node-local ADD evaluates no CLI, commander, other mode or cluster store', async () => {
  const dataDir = fs.mkdtempSync(path.join(tmp.dir, 'state-'));
  const { code, modules } = await loaded(cniEnv({ command: 'ADD' }), [], JSON.stringify(nodeLocalConf(dataDir)));
  expect(code).toBe(0);
  expect(modules).toEqual(expect.arrayContaining(['src/main.ts', 'src/modes/node-local/index.ts', 'src/cni/verbs/add.ts']));
  expect(offPath(modules)).toEqual([]);
});

test('the operator CLI does evaluate commander (the instrument sees lazy modules)', async () => {
  const { modules } = await loaded({ PATH: process.env.PATH ?? '' }, ['--version']);
  expect(modules.some((m) => m.startsWith('node_modules/commander/'))).toBe(true);
  expect(modules).toContain('src/cli/program.ts');
});

const heavy = (builtins: string[]) => builtins.filter((b) => HEAVY_BUILTINS.includes(b));

test('a warm cluster-pool ADD evaluates no cluster store and no heavy built-in; the cold one does', async () => {
  const dataDir = fs.mkdtempSync(path.join(tmp.dir, 'cp-'));
  const conf = { cniVersion: '1.1.0', name: 'cpnet', ipam: { type: 'pod-ipam', mode: 'cluster-pool', dataDir, nodeName: 'n1', clusterPoolIPv4PodCIDRList: ['10.90.0.0/16'], clusterStore: { type: 'file', path: path.join(dataDir, 'store') } } };
  const cold = await loaded(cniEnv({ command: 'ADD', containerId: 'c1' }), [], JSON.stringify(conf));
  expect(cold.code).toBe(0);
  expect(cold.modules).toEqual(expect.arrayContaining(['src/store/cluster/file-cluster-store.ts', 'src/modes/cluster-pool/index.ts']));
  expect(cold.builtins).toContain('crypto'); // the claim's hash: the instrument sees built-ins
  const warm = await loaded(cniEnv({ command: 'ADD', containerId: 'c2' }), [], JSON.stringify(conf));
  expect(warm.code).toBe(0);
  expect(warm.modules).toContain('src/modes/cluster-pool/index.ts');
  expect(warm.modules.filter((m) => m.startsWith('src/store/cluster/') || m.startsWith('src/cli/') || m.startsWith('node_modules/commander/'))).toEqual([]);
  expect(heavy(warm.builtins)).toEqual([]);
});

test('a warm kubernetes ADD loads no heavy built-in (no API call, no TLS)', async () => {
  const fx = await startKubeFixture();
  try {
    fx.server.setNode('node-a', ['10.244.1.0/24']);
    const dataDir = fs.mkdtempSync(path.join(tmp.dir, 'k8s-'));
    const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'k8snet', ipam: { type: 'pod-ipam', mode: 'kubernetes', dataDir } });
    const env = (id: string) => ({ ...cniEnv({ command: 'ADD', containerId: id }), ...fx.inClusterEnv(), NODE_NAME: 'node-a' });
    const cold = await loaded(env('c1'), [], conf);
    expect(cold.code).toBe(0);
    expect(cold.builtins).toContain('https');
    const warm = await loaded(env('c2'), [], conf);
    expect(warm.code).toBe(0);
    expect(heavy(warm.builtins)).toEqual([]);
  } finally {
    fx.close();
  }
});

test('a node-local ADD loads no heavy built-in', async () => {
  const dataDir = fs.mkdtempSync(path.join(tmp.dir, 'nl-'));
  const { code, builtins } = await loaded(cniEnv({ command: 'ADD' }), [], JSON.stringify(nodeLocalConf(dataDir)));
  expect(code).toBe(0);
  expect(heavy(builtins)).toEqual([]);
});
