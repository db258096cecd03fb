/**
 * "The hot path loads only what it uses": a build instrumented by scripts/build.mjs
 * (--instrument-loads) records every bundled module it evaluates. An ADD in node-local
 * mode must evaluate neither commander and the operator CLI, nor the other modes, nor any
 * cluster-store client; the CLI must evaluate commander (or the instrument proves nothing).
 * It runs the instrumented build of the single executable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildInstrumented, runInstrumented } from '../helpers/instrumented-build';
import { cniEnv, nodeLocalConf, tempDataDir } from '../helpers/run-plugin';

const NOT_ON_THE_HOT_PATH = [/^node_modules\/commander\//, /^node_modules\/yaml\//, /^src\/cli\//, /^src\/modes\/(cluster-pool|kubernetes)\//, /^src\/store\/cluster\//];

let tmp: ReturnType<typeof tempDataDir>;
let executable: string;
beforeAll(() => {
  tmp = tempDataDir('pod-ipam-hot-path-');
  executable = buildInstrumented(tmp.dir);
}, 120000);
afterAll(() => tmp.cleanup());

const loaded = (env: Record<string, string>, argv: string[], stdin = '') => runInstrumented(executable, env, argv, stdin);

const offPath = (modules: string[]) => modules.filter((m) => NOT_ON_THE_HOT_PATH.some((re) => re.test(m)));

test('a node-local ADD evaluates no CLI, commander, other mode or cluster store', async () => {
  const dataDir = fs.mkdtempSync(path.join(tmp.dir, 'state-'));
  const { code, modules } = await loaded(cniEnv({ command: 'ADD' }), [], JSON.stringify(nodeLocalConf(dataDir)));
  expect(code).toBe(0);
  expect(modules).toEqual(expect.arrayContaining(['src/main.ts', 'src/modes/node-local/index.ts', 'src/cni/verbs/add.ts']));
  expect(offPath(modules)).toEqual([]);
});

test('a kubernetes-mode ADD with a warm podCIDR cache evaluates no YAML library, kubeconfig reader or API client', async () => {
  // The kubeconfig is never opened on this path: a file that does not exist proves it.
  const dataDir = fs.mkdtempSync(path.join(tmp.dir, 'state-'));
  const stateDir = path.join(dataDir, 'k8snet');
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(stateDir, 'kubernetes-node.json'), JSON.stringify({ version: 1, node: 'node-a', podCIDRs: ['10.244.9.0/24'], fetchedAt: Date.now(), retired: [] }));
  const conf = { cniVersion: '1.1.0', name: 'k8snet', ipam: { type: 'pod-ipam', mode: 'kubernetes', kubeconfig: path.join(tmp.dir, 'no-such-kubeconfig'), nodeName: 'node-a', dataDir } };
  const { code, modules } = await loaded(cniEnv({ command: 'ADD' }), [], JSON.stringify(conf));
  expect(code).toBe(0);
  expect(modules).toContain('src/modes/kubernetes/index.ts');
  expect(modules.filter((m) => /^node_modules\/yaml\/|^src\/modes\/kubernetes\/(kubeconfig-|exec-credential|connection|api-client|remote)/.test(m))).toEqual([]);
});

test('the operator CLI does evaluate commander (the instrument sees lazy modules)', async () => {
  const { modules } = await loaded({ PATH: process.env.PATH ?? '' }, ['--version']);
  expect(modules.some((m) => m.startsWith('node_modules/commander/'))).toBe(true);
  expect(modules).toContain('src/cli/program.ts');
});

test('a warm cluster-pool ADD evaluates no cluster store; the cold one does', async () => {
  const dataDir = fs.mkdtempSync(path.join(tmp.dir, 'cp-'));
  const conf = { cniVersion: '1.1.0', name: 'cpnet', ipam: { type: 'pod-ipam', mode: 'cluster-pool', dataDir, nodeName: 'n1', clusterPoolIPv4PodCIDRList: ['10.90.0.0/16'], clusterStore: { type: 'file', path: path.join(dataDir, 'store') } } };
  const cold = await loaded(cniEnv({ command: 'ADD', containerId: 'c1' }), [], JSON.stringify(conf));
  expect(cold.code).toBe(0);
  expect(cold.modules).toEqual(expect.arrayContaining(['src/store/cluster/file-cluster-store.ts', 'src/modes/cluster-pool/index.ts']));
  const warm = await loaded(cniEnv({ command: 'ADD', containerId: 'c2' }), [], JSON.stringify(conf));
  expect(warm.code).toBe(0);
  expect(warm.modules).toContain('src/modes/cluster-pool/index.ts');
  expect(warm.modules.filter((m) => m.startsWith('src/store/cluster/') || m.startsWith('src/cli/') || m.startsWith('node_modules/commander/'))).toEqual([]);
});

test('with the kubernetes store: the cold ADD evaluates the store and API client, the warm one neither (nor the kubeconfig reader)', async () => {
  const { startKubeStoreBackend } = await import('../helpers/fake-kube-claims');
  const kube = await startKubeStoreBackend();
  try {
    const dataDir = fs.mkdtempSync(path.join(tmp.dir, 'cpk-'));
    const conf = { cniVersion: '1.1.0', name: 'cpnet', ipam: { type: 'pod-ipam', mode: 'cluster-pool', dataDir, nodeName: 'n1', clusterPoolIPv4PodCIDRList: ['10.90.0.0/16'], clusterStore: kube.store() } };
    const cold = await loaded(cniEnv({ command: 'ADD', containerId: 'c1' }), [], JSON.stringify(conf));
    expect(cold.code).toBe(0);
    expect(cold.modules).toEqual(expect.arrayContaining(['src/store/cluster/kubernetes-cluster-store.ts', 'src/modes/kubernetes/api-client.ts', 'src/modes/kubernetes/kubeconfig-connection.ts']));
    const warm = await loaded(cniEnv({ command: 'ADD', containerId: 'c2' }), [], JSON.stringify(conf));
    expect(warm.code).toBe(0);
    expect(warm.modules.filter((m) => /^src\/store\/cluster\/|^src\/modes\/kubernetes\/|^node_modules\/yaml\//.test(m))).toEqual([]);
  } finally {
    await kube.close();
  }
});
