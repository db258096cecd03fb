/**
 * "Nothing Kubernetes-related may load on the warm path": an instrumented build records
 * every module it evaluates; a warm ADD must not evaluate the HTTPS client, the
 * kubeconfig reader, its YAML library or the connection code, and a cold one must (or
 * this test proves nothing). The YAML library loads only where a kubeconfig is read:
 * an in-cluster cold ADD does without it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildInstrumented, runInstrumented } from '../../helpers/instrumented-build';
import { cniEnv } from '../../helpers/run-plugin';
import { TOKEN, startKubeFixture } from './kube-fixture';
import type { KubeFixture } from './kube-fixture';

const REMOTE_ONLY = ['api-client.ts', 'connection.ts', 'remote.ts', 'node-cidrs.ts', 'pod-annotation.ts'].map((f) => `src/modes/kubernetes/${f}`);
const KUBECONFIG_ONLY = ['kubeconfig-connection.ts', 'kubeconfig-parse.ts', 'exec-credential.ts', 'exec-credential-cache.ts'].map((f) => `src/modes/kubernetes/${f}`);
const isYaml = (m: string): boolean => m.startsWith('node_modules/yaml/');

let fx: KubeFixture;
let executable: string;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-a', ['10.244.1.0/24']);
  executable = buildInstrumented(fs.mkdtempSync(path.join(fx.dir, 'instrumented-')));
}, 120000);
afterAll(() => fx.close());

async function loadedBy(containerId: string, dataDir: string, kubeconfig?: string): Promise<string[]> {
  const env = { ...cniEnv({ command: 'ADD', containerId }), ...fx.inClusterEnv(), NODE_NAME: 'node-a' };
  const stdin = JSON.stringify({ cniVersion: '1.1.0', name: 'k8snet', ipam: { type: 'pod-ipam', mode: 'kubernetes', dataDir, ...(kubeconfig && { kubeconfig }) } });
  const { code, stdout, modules } = await runInstrumented(executable, env, [], stdin);
  if (code !== 0) throw new Error(`ADD failed (${code}): ${stdout}`);
  return modules;
}

test('in-cluster: a warm ADD loads none of the API client; a cold one does, but no YAML', async () => {
  const dataDir = fs.mkdtempSync(path.join(fx.dir, 'loads-'));
  const cold = await loadedBy('c1', dataDir);
  expect(cold).toEqual(expect.arrayContaining(REMOTE_ONLY));
  expect(cold.filter((m) => KUBECONFIG_ONLY.includes(m) || isYaml(m))).toEqual([]);
  const warm = await loadedBy('c2', dataDir);
  expect(warm).toContain('src/modes/kubernetes/index.ts');
  expect(warm.filter((m) => REMOTE_ONLY.includes(m) || KUBECONFIG_ONLY.includes(m) || isYaml(m))).toEqual([]);
  expect(fx.server.count()).toBe(1);
});

test('kubeconfig: a cold ADD loads the reader and the yaml library; a warm one neither', async () => {
  const dataDir = fs.mkdtempSync(path.join(fx.dir, 'loads-'));
  const kubeconfig = fx.kubeconfig({ token: TOKEN });
  const cold = await loadedBy('c1', dataDir, kubeconfig);
  expect(cold).toEqual(expect.arrayContaining([...REMOTE_ONLY, ...KUBECONFIG_ONLY]));
  expect(cold.some(isYaml)).toBe(true);
  const warm = await loadedBy('c2', dataDir, kubeconfig);
  expect(warm.filter((m) => REMOTE_ONLY.includes(m) || KUBECONFIG_ONLY.includes(m) || isYaml(m))).toEqual([]);
});
