/**
 * Process-level: the built plugin (dist/pod-ipam, `npm run build`) run as a runtime
 * runs it, against the fake API server, with the in-cluster env pointing at it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runPlugin } from '../../helpers/run-plugin';
import type { PluginCall, PluginOutcome } from '../../helpers/run-plugin';
import { startKubeFixture } from './kube-fixture';
import type { KubeFixture } from './kube-fixture';

let fx: KubeFixture;
let dataDir: string;
let n = 0;
beforeAll(async () => {
  fx = await startKubeFixture();
});
afterAll(() => fx.close());
beforeEach(() => {
  dataDir = path.join(fx.dir, `data-${n++}`);
  fx.server.requests.length = 0;
  fx.server.setNode('node-a', ['10.244.1.0/24']);
});

const conf = (ipam: Record<string, unknown> = {}): Record<string, unknown> => ({
  cniVersion: '1.1.0',
  name: 'k8snet',
  ipam: { type: 'pod-ipam', mode: 'kubernetes', dataDir, ...ipam },
});

function call(command: PluginCall['command'], containerId: string, options: { ipam?: Record<string, unknown>; env?: Record<string, string>; cniArgs?: string; stdin?: unknown } = {}): Promise<PluginOutcome> {
  return runPlugin({
    command,
    containerId,
    stdin: options.stdin ?? conf(options.ipam),
    env: { ...fx.inClusterEnv(), NODE_NAME: 'node-a', ...options.env },
    ...(options.cniArgs !== undefined && { cniArgs: options.cniArgs }),
  });
}

const addresses = (out: PluginOutcome): string[] => {
  if (out.code !== 0) throw new Error(`plugin failed: ${out.stdout} ${out.stderr}`);
  return (out.json.ips as { address: string; gateway: string }[]).map((ip) => `${ip.address} gw ${ip.gateway}`);
};
const API_DOWN = { KUBERNETES_SERVICE_PORT: '1' };

test('cold ADD reads the Node once; warm ADD, CHECK and DEL make no request', async () => {
  expect(addresses(await call('ADD', 'c1'))).toEqual(['10.244.1.2/24 gw 10.244.1.1']);
  expect(fx.server.requests).toEqual([{ method: 'GET', path: '/api/v1/nodes/node-a', user: 'system:serviceaccount:kube-system:pod-ipam' }]);
  expect(addresses(await call('ADD', 'c2'))).toEqual(['10.244.1.3/24 gw 10.244.1.1']);
  const prevResult = { cniVersion: '1.1.0', ips: [{ address: '10.244.1.3/24', gateway: '10.244.1.1' }] };
  expect((await call('CHECK', 'c2', { stdin: { ...conf(), prevResult } })).code).toBe(0);
  expect((await call('DEL', 'c1')).code).toBe(0);
  expect(fx.server.count()).toBe(1);
});

test('dual-stack podCIDRs give one address per family', async () => {
  fx.server.setNode('node-a', ['10.244.1.0/24', 'fd00:10:244:1::/64']);
  expect(addresses(await call('ADD', 'c1'))).toEqual(['10.244.1.2/24 gw 10.244.1.1', 'fd00:10:244:1::2/64 gw fd00:10:244:1::1']);
});

test('a node without podCIDR: code 11', async () => {
  fx.server.setNode('node-a', []);
  const out = await call('ADD', 'c1');
  expect(out.code).not.toBe(0);
  expect(out.json).toMatchObject({ code: 11, msg: 'node node-a has no podCIDR yet (kube-controller-manager assigns one when it runs with --allocate-node-cidrs)' });
});

test('API down with a cold cache: code 11 naming the server; STATUS: code 50', async () => {
  const out = await call('ADD', 'c1', { env: API_DOWN });
  expect(out.json).toMatchObject({ code: 11, msg: 'cannot reach the Kubernetes API server at https://127.0.0.1:1: ECONNREFUSED' });
  expect((await call('STATUS', '', { env: API_DOWN })).json).toMatchObject({ code: 50, msg: expect.stringMatching(/cannot reach the Kubernetes API server/) });
});

test('API down with a warm cache, even a stale one: ADD works and warns on stderr', async () => {
  await call('ADD', 'c1');
  const out = await call('ADD', 'c2', { env: API_DOWN, ipam: { podCIDRCacheSeconds: 0 } });
  expect(addresses(out)).toEqual(['10.244.1.3/24 gw 10.244.1.1']);
  expect(out.stderr).toMatch(/warning: serving node node-a's cached podCIDRs \(10\.244\.1\.0\/24, read \d+ s ago\): cannot refresh them: cannot reach/);
});

test('a wrong CA is refused: code 11 naming the TLS failure', async () => {
  const kubeconfig = fx.kubeconfig({ token: 'sa-token-123' }, { 'certificate-authority': fx.pki.otherCaFile });
  const out = await call('ADD', 'c1', { ipam: { kubeconfig } });
  expect(out.json).toMatchObject({ code: 11, msg: expect.stringMatching(/^TLS verification of the API server at https:\/\/127\.0\.0\.1:\d+ failed/) });
  expect(fx.server.count()).toBe(0);
});

test('a kubeconfig with a client certificate', async () => {
  const kubeconfig = fx.kubeconfig({ 'client-certificate': fx.pki.clientCertFile, 'client-key': fx.pki.clientKeyFile });
  expect(addresses(await call('ADD', 'c1', { ipam: { kubeconfig }, env: API_DOWN }))).toEqual(['10.244.1.2/24 gw 10.244.1.1']);
  expect(fx.server.requests.map((r) => r.user)).toEqual([fx.pki.clientUser]);
});

test('a malformed kubeconfig is code 7 with the line, not a stack trace', async () => {
  const kubeconfig = path.join(fx.dir, 'broken-kubeconfig');
  fs.writeFileSync(kubeconfig, 'clusters:\n- name: a\n   cluster: {}\n');
  const out = await call('ADD', 'c1', { ipam: { kubeconfig } });
  expect(out.json).toMatchObject({ code: 7, msg: expect.stringMatching(/^ipam\.kubeconfig \(.*broken-kubeconfig\): is not valid YAML at line 2: /) });
  expect(out.stdout).not.toMatch(/\n\s+at /);
});

test('a retried ADD with a one-family annotation on a dual-stack node keeps the other family (issue 11)', async () => {
  fx.server.setNode('node-a', ['10.244.1.0/24', 'fd00:10:244:1::/64']);
  fx.server.setPod('default', 'web-9', { 'ipam.kubernetes.io/address': '10.244.1.50' });
  const options = { ipam: { podAnnotations: true }, cniArgs: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-9' };
  const first = addresses(await call('ADD', 'c1', options));
  expect(first).toEqual(['10.244.1.50/24 gw 10.244.1.1', 'fd00:10:244:1::2/64 gw fd00:10:244:1::1']);
  for (let i = 0; i < 2; i++) expect(addresses(await call('ADD', 'c1', options))).toEqual(first);
  expect(addresses(await call('ADD', 'c2'))).toEqual(['10.244.1.51/24 gw 10.244.1.1', 'fd00:10:244:1::3/64 gw fd00:10:244:1::1']);
});

test('the pod annotation picks the address; it comes back on DEL; held elsewhere is refused', async () => {
  const args = (name: string): string => `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name}`;
  fx.server.setPod('default', 'web-0', { 'ipam.kubernetes.io/address': '10.244.1.77' });
  fx.server.setPod('default', 'web-1', { 'ipam.kubernetes.io/address': '10.244.1.77' });
  fx.server.setPod('default', 'web-2', { 'ipam.kubernetes.io/address': '10.9.9.9' });
  const ipam = { podAnnotations: true };
  expect(addresses(await call('ADD', 'c1', { ipam, cniArgs: args('web-0') }))).toEqual(['10.244.1.77/24 gw 10.244.1.1']);
  const taken = await call('ADD', 'c2', { ipam, cniArgs: args('web-1') });
  expect(taken.json).toMatchObject({ code: 101, msg: expect.stringMatching(/10\.244\.1\.77 is already reserved for/) });
  const outside = await call('ADD', 'c3', { ipam, cniArgs: args('web-2') });
  expect(outside.json).toMatchObject({ code: 102, msg: expect.stringMatching(/^pod default\/web-2: annotated address 10\.9\.9\.9 is outside node node-a's podCIDRs/) });
  expect((await call('DEL', 'c1')).code).toBe(0);
  expect(addresses(await call('ADD', 'c2', { ipam, cniArgs: args('web-1') }))).toEqual(['10.244.1.77/24 gw 10.244.1.1']);
});

test('after a CIDR change: new addresses from the new CIDR, the old reservation is kept until DEL, STATUS warns', async () => {
  expect(addresses(await call('ADD', 'c1'))).toEqual(['10.244.1.2/24 gw 10.244.1.1']);
  fx.server.setNode('node-a', ['10.244.8.0/24']);
  const ipam = { podCIDRCacheSeconds: 0 };
  const out = await call('ADD', 'c2', { ipam });
  expect(addresses(out)).toEqual(['10.244.8.2/24 gw 10.244.8.1']);
  expect(out.stderr).toMatch(/warning: node node-a's podCIDRs changed from 10\.244\.1\.0\/24 to 10\.244\.8\.0\/24/);
  const prevResult = { cniVersion: '1.1.0', ips: [{ address: '10.244.1.2/24', gateway: '10.244.1.1' }] };
  expect((await call('CHECK', 'c1', { stdin: { ...conf(ipam), prevResult } })).code).toBe(0);
  const status = await call('STATUS', '', { ipam });
  expect(status.code).toBe(0);
  expect(status.stderr).toMatch(/warning: node node-a no longer has podCIDR 10\.244\.1\.0\/24 .*existing reservations are kept/);
  expect((await call('DEL', 'c1')).code).toBe(0);
});

test('STATUS makes no API call and writes nothing, with a fresh cache or an expired one', async () => {
  expect((await call('ADD', 'c1')).code).toBe(0);
  expect(fx.server.count()).toBe(1);
  const netDir = path.join(dataDir, 'k8snet');
  const snapshot = () => fs.readdirSync(netDir).sort().map((f) => [f, fs.statSync(path.join(netDir, f)).mtimeMs, fs.statSync(path.join(netDir, f)).isFile() ? fs.readFileSync(path.join(netDir, f), 'utf8') : '']);
  const before = snapshot();
  for (let i = 0; i < 3; i++) expect((await call('STATUS', '')).code).toBe(0);
  expect(fx.server.count()).toBe(1);
  expect(snapshot()).toEqual(before);
  // Expired: a Node's podCIDRs do not change once assigned, and runtimes ask STATUS every
  // few seconds; the next ADD refreshes the cache.
  const expired = { podCIDRCacheSeconds: 0 };
  for (let i = 0; i < 3; i++) expect((await call('STATUS', '', { ipam: expired })).code).toBe(0);
  expect(fx.server.count()).toBe(1);
  expect(snapshot()).toEqual(before);
  expect((await call('ADD', 'c2', { ipam: expired })).code).toBe(0);
  expect(fx.server.count()).toBe(2);
});

test('STATUS with no cache reads the Node once per call and writes no cache', async () => {
  const netDir = path.join(dataDir, 'k8snet');
  expect((await call('STATUS', '')).code).toBe(0);
  expect((await call('STATUS', '')).code).toBe(0);
  expect(fx.server.count()).toBe(2);
  expect(fs.existsSync(path.join(netDir, 'kubernetes-node.json'))).toBe(false);
});
