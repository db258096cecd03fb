/**
 * The cluster-pool examples serve a real ADD: the file example with its paths moved to a
 * temp directory, the etcd example against a real etcd with TLS (endpoints and files
 * replaced by the test's), the kubernetes-store example against the stand-in API server.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, runPlugin, tempDataDir } from '../../helpers/run-plugin';
import { startEtcd } from '../../helpers/etcd-server';

const example = (name: string) => JSON.parse(fs.readFileSync(path.join(ROOT, 'conf-examples', name), 'utf8'));

function pluginConf(doc: { cniVersion: string; name: string; plugins: { ipam?: Record<string, unknown> }[] }, ipam: Record<string, unknown>) {
  const plugin = doc.plugins.find((p) => p.ipam?.['type'] === 'pod-ipam')!;
  return { cniVersion: doc.cniVersion, name: doc.name, ...plugin, ipam: { ...plugin.ipam, ...ipam } };
}

test('cluster-pool-file.conflist: dual-stack ADD from claimed blocks', async () => {
  const { dir, cleanup } = tempDataDir();
  try {
    const conf = pluginConf(example('cluster-pool-file.conflist'), { dataDir: dir, nodeName: 'n1', clusterStore: { type: 'file', path: path.join(dir, 'cp') } });
    const out = await runPlugin({ command: 'ADD', stdin: conf });
    expect(out.code).toBe(0);
    expect(out.json.ips.map((i: { address: string }) => i.address)).toEqual([expect.stringMatching(/^10\.244\.\d+\.2\/24$/), expect.stringMatching(/^fd00:10:244::[0-9a-f:]*2\/120$/)]);
  } finally {
    cleanup();
  }
});

test('cluster-pool-etcd.conflist: ADD through etcd with TLS', async () => {
  const etcd = await startEtcd({ tls: true });
  const { dir, cleanup } = tempDataDir();
  try {
    const doc = example('cluster-pool-etcd.conflist');
    const store = pluginConf(doc, {}).ipam['clusterStore'] as Record<string, unknown>;
    const conf = pluginConf(doc, { dataDir: dir, nodeName: 'n1', clusterStore: { ...store, endpoints: [etcd.endpoint], tls: etcd.clientTls } });
    const out = await runPlugin({ command: 'ADD', stdin: conf });
    expect(out.code).toBe(0);
    expect(out.json.ips[0].address).toMatch(/^10\.\d+\.\d+\.2\/24$/);
  } finally {
    cleanup();
    await etcd.stop();
  }
});

test('cluster-pool-kubernetes.conflist: ADD through the stand-in API server (kubeconfig replaced by the test\'s)', async () => {
  const { startKubeStoreBackend } = await import('../../helpers/fake-kube-claims');
  const kube = await startKubeStoreBackend();
  const { dir, cleanup } = tempDataDir();
  try {
    const doc = example('cluster-pool-kubernetes.conflist');
    const store = pluginConf(doc, {}).ipam['clusterStore'] as Record<string, unknown>;
    const conf = pluginConf(doc, { dataDir: dir, nodeName: 'n1', clusterStore: { ...store, kubeconfig: kube.kubeconfig } });
    const out = await runPlugin({ command: 'ADD', stdin: conf });
    expect(out.code).toBe(0);
    expect(out.json.ips[0].address).toMatch(/^10\.\d+\.\d+\.2\/24$/);
    expect([...kube.claims.claims().values()]).toEqual(['n1/pod-network']);
  } finally {
    cleanup();
    await kube.close();
  }
});
