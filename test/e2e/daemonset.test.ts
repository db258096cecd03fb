/**
 * conf-examples/deploy-*.yaml, one manifest per mode: the objects each holds and how
 * they fit together, then the DaemonSet's container run for real (its command and
 * arguments, with the host's directories, its ConfigMap, Secret and service account
 * mounted from temp directories) and the plugin it installed serving an ADD with the
 * conflist it rendered: against the stand-in API server (no real kube-apiserver runs
 * here) for kubernetes mode and cluster-pool's kubernetes store, against a real etcd
 * with TLS for cluster-pool with etcd; then the whole command, --watch and
 * --reconcile-every included, releasing the address of a pod the API does not have.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startEtcd } from '../helpers/etcd-server';
import type { EtcdServer } from '../helpers/etcd-server';
import { FakePodList } from '../helpers/fake-pod-list';
import { MANIFESTS, readManifest } from '../helpers/manifest';
import type { Manifest } from '../helpers/manifest';
import { cniEnv, pluginCommand } from '../helpers/run-plugin';
import { until } from '../helpers/until';
import { FakeKubeClaims } from '../helpers/fake-kube-claims';
import { startKubeFixture } from '../modes/kubernetes/kube-fixture';
import type { KubeFixture } from '../modes/kubernetes/kube-fixture';

let fx: KubeFixture;
let etcd: EtcdServer;
let claims: FakeKubeClaims;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-a', ['10.244.5.0/24', 'fd00:5::/64']);
  new FakePodList(fx.server); // no pod on node-a: every reservation with a pod UID is a leak
  claims = new FakeKubeClaims(fx.server); // as if cluster-pool-crds.yaml had been applied
  etcd = await startEtcd({ tls: true });
});
afterAll(async () => {
  await etcd?.stop();
  await fx?.close();
});

describe.each(MANIFESTS)('%s', (file) => {
  const m: Manifest = readManifest(file);
  const pod = m.byKind('DaemonSet').spec.template.spec;

  test('holds exactly a ServiceAccount, a ClusterRole bound to it, the ConfigMap and the DaemonSet', () => {
    expect(m.objects.map((o) => o.kind)).toEqual(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet']);
    const sa = m.byKind('ServiceAccount').metadata;
    expect(m.byKind('ClusterRoleBinding')).toMatchObject({
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: m.byKind('ClusterRole').metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace }],
    });
    expect(pod.serviceAccountName).toBe(sa.name);
  });

  test('the DaemonSet: host network, every taint tolerated, system-node-critical, the install container', () => {
    expect(pod).toMatchObject({ hostNetwork: true, priorityClassName: 'system-node-critical', tolerations: [{ operator: 'Exists' }] });
    expect(m.container.command).toEqual(['/opt/pod-ipam/pod-ipam', 'install']);
    expect(m.args.get('--watch')).toBe(true);
    expect(m.args.get('--reconcile-every')).toBe('10m');
    // The reconcile asks the API with the pod's service account: its token must be mounted.
    expect(m.byKind('ServiceAccount').automountServiceAccountToken).not.toBe(false);
    expect(pod.automountServiceAccountToken).not.toBe(false);
    expect(m.container.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    // Every host directory the installer writes is a hostPath volume mounted at --host-root + that path.
    const root = m.args.get('--host-root') as string;
    // ... and so is the conflist's dataDir, which --reconcile-every reads.
    const dataDir = JSON.parse(m.template.text).plugins.find((p: any) => p.ipam?.type === 'pod-ipam').ipam.dataDir as string;
    for (const flag of ['--cni-bin-dir', '--cni-conf-dir', '--kubeconfig-dir', '--etcd-cert-dir', 'dataDir']) {
      const dir = flag === 'dataDir' ? dataDir : m.args.get(flag);
      if (typeof dir !== 'string') continue;
      const mount = m.container.volumeMounts.find((v: any) => `${root}${dir}/`.startsWith(`${v.mountPath}/`));
      expect(mount).toBeDefined();
      const hostPath = pod.volumes.find((v: any) => v.name === mount.name).hostPath.path;
      expect(`${hostPath}${`${root}${dir}`.slice(mount.mountPath.length)}`).toBe(dir);
    }
  });

  test('its container installs pod-ipam on a stand-in host, the plugin serves an ADD with what it wrote, and its whole command (--watch, --reconcile-every) releases a gone pod\'s address', async () => {
    const tmp = fs.mkdtempSync(path.join(fx.dir, 'node-'));
    const hostDir = (flag: string): string => path.join(tmp, 'host', m.args.get(flag) as string);
    // The operator's edits: etcd endpoints of their cluster (here the test's etcd).
    const template = m.template.text.replace(/"endpoints": \[[^\]]*\]/, `"endpoints": [${JSON.stringify(etcd.endpoint)}]`);
    const inPod = (p: string): string => path.join(tmp, 'pod', p);
    fs.mkdirSync(path.dirname(inPod(m.args.get('--template') as string)), { recursive: true });
    fs.writeFileSync(inPod(m.args.get('--template') as string), template);
    const args: string[] = [];
    for (const [flag, value] of m.args) {
      if (flag === '--watch' || flag === '--reconcile-every') continue; // here one pass; the whole command runs below
      if (flag === '--host-root') args.push('--host-root=/'); // host paths are real paths here
      else if (['--cni-bin-dir', '--cni-conf-dir', '--kubeconfig-dir', '--etcd-cert-dir'].includes(flag)) args.push(`${flag}=${hostDir(flag)}`);
      else args.push(`${flag}=${inPod(value as string)}`);
    }
    if (m.args.has('--etcd-secret-dir')) {
      const secret = inPod(m.args.get('--etcd-secret-dir') as string);
      fs.mkdirSync(secret, { recursive: true });
      for (const [name, from] of [['ca.crt', etcd.clientTls!.ca], ['tls.crt', etcd.clientTls!.cert], ['tls.key', etcd.clientTls!.key]] as const) fs.copyFileSync(from, path.join(secret, name));
    }
    if (m.byKind('ServiceAccount').automountServiceAccountToken !== false) args.push(`--serviceaccount-dir=${fx.saDir}`);
    const env = { PATH: process.env.PATH ?? '', NODE_NAME: 'node-a', KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(fx.server.port) };
    const installed = await run(pluginCommand(), ['install', ...args], env, '');
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);

    const confFile = path.join(hostDir('--cni-conf-dir'), m.template.key);
    const list = JSON.parse(fs.readFileSync(confFile, 'utf8'));
    const entry = list.plugins.find((p: any) => p.ipam?.type === 'pod-ipam');
    const dataDir = path.join(tmp, 'host', 'var/lib/cni/pod-ipam');
    const stdin = JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...entry, ipam: { ...entry.ipam, dataDir } });
    const add = await run([path.join(hostDir('--cni-bin-dir'), 'pod-ipam')], [], cniEnv({ command: 'ADD', containerId: 'pod-1', cniArgs: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=gone;K8S_POD_UID=uid-gone' }), stdin);
    expect(add.stderr).toBe('');
    const ips = (JSON.parse(add.stdout).ips as { address: string }[]).map((i) => i.address);
    const expected: Record<string, RegExp[]> = {
      'node-local': [/^10\.88\.0\.2\/16$/, /^fd88::2\/64$/],
      kubernetes: [/^10\.244\.5\.2\/24$/, /^fd00:5::2\/64$/],
      'cluster-pool': [/^10\.\d+\.\d+\.2\/24$/],
    };
    const modeExpected = expected[entry.ipam.mode as string]!;
    expect(ips).toHaveLength(modeExpected.length);
    ips.forEach((ip, i) => expect(ip).toMatch(modeExpected[i]!));
    if (entry.ipam.mode !== 'node-local') expect(entry.ipam.nodeName).toBe('node-a');
    if (entry.ipam.clusterStore?.type === 'kubernetes') {
      // The installer's kubeconfig reached the API: the block is claimed there for this node.
      expect(entry.ipam.clusterStore.kubeconfig).toBe(path.join(hostDir('--kubeconfig-dir'), 'kubeconfig'));
      expect([...claims.claims().values()]).toEqual([`node-a/${list.name}`]);
    }

    // The container's whole command (--watch, --reconcile-every) with the stand-in host at
    // --host-root: its first reconcile releases the address of the pod the API does not have.
    const ipsDir = path.join(dataDir, list.name, 'ips');
    for (const name of fs.readdirSync(ipsDir)) {
      const file = path.join(ipsDir, name);
      fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), since: new Date(Date.now() - 3_600_000).toISOString() }));
    }
    const whole = [...m.args].map(([flag, value]) =>
      flag === '--host-root' ? `--host-root=${path.join(tmp, 'host')}` : ['--template', '--etcd-secret-dir'].includes(flag) ? `${flag}=${inPod(value as string)}` : value === true ? flag : `${flag}=${value}`);
    const [cmd, ...pre] = pluginCommand();
    const child = spawn(cmd!, [...pre, 'install', ...whole, `--serviceaccount-dir=${fx.saDir}`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await until(() => /reconcile: released/.test(out) || child.exitCode !== null);
      expect(err).toBe('');
      expect(out).toMatch(new RegExp(`reconcile: released ${modeExpected.length} address\\(es\\) of pods gone from node node-a in network ${list.name}: default/gone \\(uid uid-gone\\)`));
      expect(fs.readdirSync(ipsDir)).toEqual([]);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});

function run(command: string[], args: string[], env: Record<string, string>, stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, [...command.slice(1), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
