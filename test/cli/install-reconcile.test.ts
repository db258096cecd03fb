/**
 * `pod-ipam install --watch --reconcile-every D`, as the DaemonSet's container runs it:
 * with its in-cluster service account against the stand-in API server, it reconciles the
 * template's network in the host's data directory (under --host-root) periodically: a
 * gone pod's reservation is released, a live pod's kept; an API that refuses releases
 * nothing and does not end the installer.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FakePodList } from '../helpers/fake-pod-list';
import { nodeLocalConf, pluginCommand, runPlugin } from '../helpers/run-plugin';
import { until } from '../helpers/until';
import { SA_USER, startKubeFixture } from '../modes/kubernetes/kube-fixture';
import type { KubeFixture } from '../modes/kubernetes/kube-fixture';
import { cli, expectUsageError } from './cli';

let fx: KubeFixture;
let pods: FakePodList;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-7', []);
  pods = new FakePodList(fx.server);
});
afterAll(() => fx.close());

test('the template\'s network on the host is reconciled periodically with the pod\'s service account; a refusing API releases nothing', async () => {
  const root = fs.mkdtempSync(path.join(fx.dir, 'host-'));
  // The host's data directory as the template names it; the container sees it under --host-root.
  const hostData = '/var/lib/cni/pod-ipam';
  const data = path.join(root, hostData);
  const template = path.join(root, 'template.conflist');
  fs.writeFileSync(template, JSON.stringify({ cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge', ipam: { type: 'pod-ipam', dataDir: hostData, ranges: [[{ subnet: '10.9.0.0/24' }]] } }] }));
  const add = async (id: string, uid: string): Promise<string> => {
    const r = await runPlugin({ command: 'ADD', containerId: id, stdin: nodeLocalConf(data, { name: 'pods' }, { ranges: [[{ subnet: '10.9.0.0/24' }]] }), cniArgs: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${id};K8S_POD_UID=${uid}` });
    const address = (r.json.ips as { address: string }[])[0]!.address.split('/')[0]!;
    const file = path.join(data, 'pods', 'ips', address);
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), since: new Date(Date.now() - 3_600_000).toISOString() }));
    return address;
  };
  pods.add({ namespace: 'default', name: 'live', uid: 'uid-live', nodeName: 'node-7' });
  const live = await add('live', 'uid-live');
  const gone = await add('gone', 'uid-gone');
  const held = (): string[] => fs.readdirSync(path.join(data, 'pods', 'ips')).sort();

  // First the API refuses (no list on pods): nothing released, the installer goes on.
  fx.server.permissions.set(SA_USER, new Set(['nodes']));
  const [cmd, ...pre] = pluginCommand();
  const args = ['install', '--host-root', root, '--template', template, '--cni-bin-dir', '/opt/cni/bin', '--cni-conf-dir', '/etc/cni/net.d', '--no-binary', '--serviceaccount-dir', fx.saDir, '--watch', '--interval-seconds', '0.2', '--reconcile-every', '1s'];
  const env = { PATH: process.env.PATH ?? '', KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(fx.server.port), NODE_NAME: 'node-7' };
  const watcher = spawn(cmd!, [...pre, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  watcher.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  watcher.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => watcher.on('close', (code) => resolve(code)));
  try {
    await until(() => /reconcile: cannot read the pods of node node-7 from the API: nothing released: .*"list on pods" \(403 Forbidden\)/.test(stderr)); // a refused reconcile is reported
    expect(held()).toEqual([gone, live].sort());
    expect(watcher.exitCode).toBeNull();

    // The role is fixed: the next period releases the gone pod's address, with the service account's identity.
    fx.server.permissions.clear();
    fx.server.requests.length = 0;
    await until(() => /reconcile: released 1 address\(es\) of pods gone from node node-7 in network pods: default\/gone \(uid uid-gone\)/.test(stdout)); // the gone pod's address is released
    expect(held()).toEqual([live]);
    expect(fx.server.requests.every((r) => r.user === SA_USER)).toBe(true);
    expect(fs.existsSync(path.join(root, 'etc/cni/net.d/template.conflist'))).toBe(true);
  } finally {
    watcher.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
});

test('--reconcile-every needs --watch and --template', async () => {
  expectUsageError(await cli(['install', '--no-binary', '--reconcile-every', '10m']), /--reconcile-every needs --watch and --template/);
  expectUsageError(await cli(['install', '--no-binary', '--watch', '--template', '/x.conflist', '--reconcile-every', 'often']), /--reconcile-every.*duration/);
});

test('durations longer than a timer can wait are refused, not run at once in a loop', async () => {
  // 600h is past setTimeout's 2^31-1 ms, which fires such a timer after 1 ms.
  expectUsageError(await cli(['install', '--no-binary', '--watch', '--template', '/x.conflist', '--reconcile-every', '600h']), /--reconcile-every.*at most 596h/);
  expectUsageError(await cli(['gc', '--keep-file', '/x', '--grace', '3000000000h']), /--grace.*at most 596h/);
  expectUsageError(await cli(['reconcile', '--node-name', 'n', '--grace', '700h']), /--grace.*at most 596h/);
});
