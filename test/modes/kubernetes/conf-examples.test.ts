/** The kubernetes conflist example is loaded and used, not just parsed (the manifests: test/e2e/daemonset.test.ts). */
import * as fs from 'node:fs';
import * as path from 'node:path';
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

/** A kubeconfig as `pod-ipam install` writes it: token file and CA in one directory, all at the fixture. */
function installedKubeconfig(): string {
  const dir = fs.mkdtempSync(path.join(fx.dir, 'netd-'));
  fs.writeFileSync(path.join(dir, 'token'), TOKEN);
  return fx.kubeconfig({ tokenFile: path.join(dir, 'token') });
}

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
