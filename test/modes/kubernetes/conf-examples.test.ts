/** The kubernetes conf-examples are loaded and used, not just parsed. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getJson } from '../../../src/modes/kubernetes/api-client';
import { kubeconfigConnection } from '../../../src/modes/kubernetes/kubeconfig-connection';
import { parseKubeconfigText } from '../../../src/modes/kubernetes/kubeconfig-parse';
import { ROOT, runPlugin } from '../../helpers/run-plugin';
import { TOKEN, startKubeFixture } from './kube-fixture';
import type { KubeFixture } from './kube-fixture';

const example = (name: string): string => fs.readFileSync(path.join(ROOT, 'conf-examples', name), 'utf8');

let fx: KubeFixture;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-a', ['10.244.3.0/24', 'fd00:3::/64']);
});
afterAll(() => fx.close());

/** The example kubeconfig with its /etc/cni/net.d/pod-ipam files and server moved to the fixture. */
function installedKubeconfig(): string {
  const dir = fs.mkdtempSync(path.join(fx.dir, 'netd-'));
  fs.copyFileSync(fx.pki.caFile, path.join(dir, 'ca.crt'));
  fs.writeFileSync(path.join(dir, 'token'), TOKEN);
  const file = path.join(dir, 'kubeconfig');
  fs.writeFileSync(file, example('kubernetes-kubeconfig.yaml').replaceAll('/etc/cni/net.d/pod-ipam', dir).replace('https://10.96.0.1:443', fx.server.url));
  return file;
}

test('kubernetes-kubeconfig.yaml: a token-file kubeconfig that reaches the server', async () => {
  const conn = kubeconfigConnection(installedKubeconfig(), { env: {} });
  await expect(getJson(conn, '/api/v1/nodes/node-a', { timeoutMs: 2000, permission: 'get on nodes' })).resolves.toMatchObject({ kind: 'Node' });
});

test('kubernetes.conflist: the pod-ipam plugin entry serves a dual-stack ADD', async () => {
  const list = JSON.parse(example('kubernetes.conflist'));
  const plugin = list.plugins.find((p: { ipam?: { type?: string } }) => p.ipam?.type === 'pod-ipam');
  // What a runtime hands the bridge plugin (and bridge hands us): the entry plus name and cniVersion.
  const dataDir = fs.mkdtempSync(path.join(fx.dir, 'conflist-data-'));
  fx.server.setPod('default', 'unannotated'); // podAnnotations is on in the example
  const stdin = { cniVersion: list.cniVersion, name: list.name, ...plugin, ipam: { ...plugin.ipam, kubeconfig: installedKubeconfig(), dataDir } };
  const out = await runPlugin({ command: 'ADD', stdin, env: { NODE_NAME: 'node-a' }, cniArgs: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=unannotated' });
  expect(out.stderr).toBe('');
  expect(out.json).toEqual({
    cniVersion: '1.0.0',
    ips: [
      { address: '10.244.3.2/24', gateway: '10.244.3.1' },
      { address: 'fd00:3::2/64', gateway: 'fd00:3::1' },
    ],
    routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
    dns: {},
  });
});

test('kubernetes-rbac.yaml: get on nodes and pods, bound to the service account it defines', () => {
  const docs = example('kubernetes-rbac.yaml').split(/^---$/m).map((d, i) => parseKubeconfigText(d, `doc ${i}`) as Record<string, any>);
  const byKind = Object.fromEntries(docs.map((d) => [d.kind, d]));
  expect(Object.keys(byKind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ServiceAccount']);
  const rules = byKind.ClusterRole.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  for (const resource of ['nodes', 'pods']) {
    expect(rules).toContainEqual({ apiGroups: [''], resources: [resource], verbs: ['get'] });
  }
  expect(byKind.ClusterRoleBinding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: byKind.ClusterRole.metadata.name });
  expect(byKind.ClusterRoleBinding.subjects).toEqual([{ kind: 'ServiceAccount', name: byKind.ServiceAccount.metadata.name, namespace: byKind.ServiceAccount.metadata.namespace }]);
});
