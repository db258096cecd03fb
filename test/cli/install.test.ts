/**
 * `pod-ipam install`, run as the DaemonSet's container runs it, with temp directories
 * standing in for the host's: the files it writes (modes included), atomic replacement
 * (a new inode, never a half-written file, nothing left behind), a template `validate`
 * rejects changing nothing, a rotated token picked up by --watch and a removed conflist
 * restored; then the plugin it installed serves an ADD with the conflist and kubeconfig
 * it wrote, against the stand-in API server (test/helpers/fake-kube-apiserver.ts: no
 * real kube-apiserver runs here).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pluginCommand, cniEnv } from '../helpers/run-plugin';
import { until } from '../helpers/until';
import { startKubeFixture } from '../modes/kubernetes/kube-fixture';
import type { KubeFixture } from '../modes/kubernetes/kube-fixture';
import { cli } from './cli';

let fx: KubeFixture;
let n = 0;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-7', ['10.244.7.0/24']);
});
afterAll(() => fx.close());

interface Host {
  readonly root: string;
  readonly bin: string;
  readonly netd: string;
  readonly data: string;
  readonly template: string;
}

/** A fresh stand-in host and a conflist template (one bridge plugin with pod-ipam). */
function host(ipam: Record<string, unknown>): Host {
  const root = path.join(fx.dir, `host-${n++}`);
  const h = { root, bin: path.join(root, 'opt/cni/bin'), netd: path.join(root, 'etc/cni/net.d'), data: path.join(root, 'var/lib/cni/pod-ipam'), template: path.join(root, 'template', '10-pod-ipam.conflist') };
  fs.mkdirSync(path.dirname(h.template), { recursive: true });
  const list = { cniVersion: '1.0.0', name: 'pods', plugins: [{ type: 'bridge', bridge: 'cni0', ipam: { type: 'pod-ipam', dataDir: h.data, ...ipam } }, { type: 'portmap', capabilities: { portMappings: true } }] };
  fs.writeFileSync(h.template, JSON.stringify(list));
  return h;
}

/** Host paths are real paths here (--host-root /), so the files written name paths that exist. */
const dirs = (h: Host): string[] => ['--host-root', '/', '--template', h.template, '--cni-bin-dir', h.bin, '--cni-conf-dir', h.netd];
const kubeDirs = (h: Host): string[] => [...dirs(h), '--kubeconfig-dir', path.join(h.netd, 'pod-ipam'), '--serviceaccount-dir', fx.saDir];
const kubeEnv = (): Record<string, string> => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(fx.server.port), NODE_NAME: 'node-7' });
const mode = (file: string): number => fs.statSync(file).mode & 0o777;
const leftovers = (dir: string): string[] => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

/** ADD through the installed executable with the pod-ipam entry of the installed conflist. */
async function addWithInstalled(h: Host, containerId: string): Promise<{ code: number | null; json: any; stderr: string }> {
  const list = JSON.parse(fs.readFileSync(path.join(h.netd, '10-pod-ipam.conflist'), 'utf8'));
  const entry = list.plugins.find((p: { ipam?: { type?: string } }) => p.ipam?.type === 'pod-ipam');
  const stdin = JSON.stringify({ cniVersion: list.cniVersion, name: list.name, ...entry });
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(h.bin, 'pod-ipam'), [], { env: cniEnv({ command: 'ADD', containerId }), stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, json: out ? JSON.parse(out) : undefined, stderr: err }));
    child.stdin.end(stdin);
  });
}

test('node-local: the executable and the conflist land atomically, and the plugin serves an ADD', async () => {
  const h = host({ ranges: [[{ subnet: '10.9.0.0/24' }]] });
  const out = await cli(['install', ...dirs(h)]);
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
  expect(out.stdout).toMatch(/installed .*\/opt\/cni\/bin\/pod-ipam \(\{"cniVersion"/);
  expect(mode(path.join(h.bin, 'pod-ipam'))).toBe(0o755);
  expect(mode(path.join(h.netd, '10-pod-ipam.conflist'))).toBe(0o644);
  expect(JSON.parse(fs.readFileSync(path.join(h.netd, '10-pod-ipam.conflist'), 'utf8'))).toEqual(JSON.parse(fs.readFileSync(h.template, 'utf8')));
  expect([...leftovers(h.bin), ...leftovers(h.netd)]).toEqual([]);
  const add = await addWithInstalled(h, 'c1');
  expect(add.json).toMatchObject({ ips: [{ address: '10.9.0.2/24', gateway: '10.9.0.1' }] });
});

test('a second install replaces both files by rename (new inodes), and leaves unchanged files alone', async () => {
  const h = host({ ranges: [[{ subnet: '10.9.0.0/24' }]] });
  expect((await cli(['install', ...dirs(h)])).code).toBe(0);
  const conf = path.join(h.netd, '10-pod-ipam.conflist');
  const before = { bin: fs.statSync(path.join(h.bin, 'pod-ipam')).ino, conf: fs.statSync(conf).ino };
  // Unchanged template: the conflist is not rewritten; the executable always is.
  expect((await cli(['install', ...dirs(h)])).code).toBe(0);
  expect(fs.statSync(conf).ino).toBe(before.conf);
  expect(fs.statSync(path.join(h.bin, 'pod-ipam')).ino).not.toBe(before.bin);
  // A runtime holding the old conflist open keeps reading the old text: it was replaced, not rewritten.
  const fd = fs.openSync(conf, 'r');
  fs.writeFileSync(h.template, fs.readFileSync(h.template, 'utf8').replace('10.9.0.0/24', '10.9.1.0/24'));
  expect((await cli(['install', ...dirs(h)])).code).toBe(0);
  expect(fs.readFileSync(fd, 'utf8')).toContain('10.9.0.0/24');
  fs.closeSync(fd);
  expect(fs.readFileSync(conf, 'utf8')).toContain('10.9.1.0/24');
  expect(fs.statSync(conf).ino).not.toBe(before.conf);
  expect([...leftovers(h.bin), ...leftovers(h.netd)]).toEqual([]);
});

test('a template validate rejects changes nothing: no executable, no conflist, no temp file', async () => {
  const h = host({ ranges: [[{ subnet: '10.9.0.0/24' }]] });
  expect((await cli(['install', ...dirs(h)])).code).toBe(0);
  const snapshot = (): string[] => [h.bin, h.netd].flatMap((d) => fs.readdirSync(d).map((f) => `${f}:${fs.statSync(path.join(d, f)).ino}:${fs.readFileSync(path.join(d, f)).length}`));
  const before = snapshot();
  fs.writeFileSync(h.template, fs.readFileSync(h.template, 'utf8').replace('10.9.0.0/24', '10.9.0.5/24'));
  const out = await cli(['install', ...dirs(h)]);
  expect(out.code).toBe(1);
  expect(out.stderr).toMatch(/rendered conflist is not valid, .*10-pod-ipam.conflist is left as it was:\n\s+plugins\[0\]\.ipam\.ranges\[0\]\[0\]\.subnet: 10\.9\.0\.5\/24 has host bits set/);
  expect(snapshot()).toEqual(before);
});

test('an executable that does not run here is not installed; the old one stays', async () => {
  const h = host({ ranges: [[{ subnet: '10.9.0.0/24' }]] });
  expect((await cli(['install', ...dirs(h)])).code).toBe(0);
  const ino = fs.statSync(path.join(h.bin, 'pod-ipam')).ino;
  const broken = path.join(h.root, 'not-a-plugin');
  fs.writeFileSync(broken, '#!/bin/sh\necho "exec format error" >&2\nexit 126\n', { mode: 0o755 });
  const out = await cli(['install', ...dirs(h), '--binary', broken]);
  expect(out.code).toBe(1);
  expect(out.stderr).toMatch(/not-a-plugin does not run on this host as a CNI plugin .*exec format error.*left as it was/);
  expect(fs.statSync(path.join(h.bin, 'pod-ipam')).ino).toBe(ino);
  expect(leftovers(h.bin)).toEqual([]);
});

test('kubernetes mode needs NODE_NAME, and the API server from the pod environment or --api-server', async () => {
  const h = host({ mode: 'kubernetes' });
  const noNode = await cli(['install', ...kubeDirs(h)], { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: '1' });
  expect(noNode.code).toBe(1);
  expect(noNode.stderr).toMatch(/needs the node name: set NODE_NAME \(downward API fieldRef spec.nodeName\)/);
  const noServer = await cli(['install', ...kubeDirs(h)], { NODE_NAME: 'node-7' });
  expect(noServer.stderr).toMatch(/KUBERNETES_SERVICE_HOST\/KUBERNETES_SERVICE_PORT are not set .*--api-server/);
  expect(fs.existsSync(h.netd)).toBe(false);
  expect(fs.existsSync(h.bin)).toBe(false);
});

describe('kubernetes mode with --watch', () => {
  let watcher: ChildProcess | undefined;
  afterEach(() => {
    watcher?.kill('SIGKILL');
    watcher = undefined;
  });

  test('kubeconfig and token for the plugin, a rotated token picked up, a removed conflist restored, SIGTERM ends it', async () => {
    const h = host({ mode: 'kubernetes' });
    const [cmd, ...pre] = pluginCommand();
    watcher = spawn(cmd!, [...pre, 'install', ...kubeDirs(h), '--watch', '--interval-seconds', '0.2'], { env: { PATH: process.env.PATH ?? '', ...kubeEnv() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    watcher.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    watcher.stdout!.resume();
    const exited = new Promise<number | null>((resolve) => watcher!.on('close', (code) => resolve(code)));
    const conf = path.join(h.netd, '10-pod-ipam.conflist');
    const kdir = path.join(h.netd, 'pod-ipam');
    await until(() => fs.existsSync(conf)); // the conflist is installed

    const list = JSON.parse(fs.readFileSync(conf, 'utf8'));
    expect(list.plugins[0].ipam).toMatchObject({ mode: 'kubernetes', nodeName: 'node-7', kubeconfig: path.join(kdir, 'kubeconfig') });
    expect([mode(path.join(kdir, 'kubeconfig')), mode(path.join(kdir, 'token')), mode(path.join(kdir, 'ca.crt'))]).toEqual([0o600, 0o600, 0o644]);
    expect(fs.readFileSync(path.join(kdir, 'token'), 'utf8')).toBe(fs.readFileSync(path.join(fx.saDir, 'token'), 'utf8'));
    expect(fs.readFileSync(path.join(kdir, 'kubeconfig'), 'utf8')).toContain(`server: "${fx.server.url}"`);

    // The installed plugin, with the conflist and kubeconfig it was given, reads its Node.
    fx.server.requests.length = 0;
    const first = await addWithInstalled(h, 'c1');
    expect(first.json).toMatchObject({ ips: [{ address: '10.244.7.2/24', gateway: '10.244.7.1' }] });
    expect(fx.server.requests.map((r) => r.user)).toEqual(['system:serviceaccount:kube-system:pod-ipam']);

    // kubelet rotates the pod's token; the old one stops working.
    const rotated = `rotated-${n}`;
    fx.server.tokens.set(rotated, 'system:serviceaccount:kube-system:pod-ipam-rotated');
    const old = fs.readFileSync(path.join(fx.saDir, 'token'), 'utf8').trim();
    fs.writeFileSync(path.join(fx.saDir, 'token.new'), `${rotated}\n`);
    fs.renameSync(path.join(fx.saDir, 'token.new'), path.join(fx.saDir, 'token'));
    fx.server.tokens.delete(old);
    try {
      await until(() => fs.readFileSync(path.join(kdir, 'token'), 'utf8') === `${rotated}\n`); // the host token follows the rotation
      fs.rmSync(path.join(h.data, 'pods'), { recursive: true }); // a cold cache: the next ADD must call the API
      const second = await addWithInstalled(h, 'c2');
      expect(second.json).toMatchObject({ ips: [{ address: '10.244.7.2/24' }] });
      expect(fx.server.requests.at(-1)?.user).toBe('system:serviceaccount:kube-system:pod-ipam-rotated');
    } finally {
      fx.server.tokens.set(old, 'system:serviceaccount:kube-system:pod-ipam');
      fs.writeFileSync(path.join(fx.saDir, 'token'), `${old}\n`);
    }

    const text = fs.readFileSync(conf, 'utf8');
    fs.rmSync(conf);
    await until(() => fs.existsSync(conf)); // the removed conflist comes back
    expect(fs.readFileSync(conf, 'utf8')).toBe(text);

    watcher.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    expect([...leftovers(h.netd), ...leftovers(kdir)]).toEqual([]);
  });
});

test('cluster-pool with etcd: the Secret copied 0600 and the conflist pointed at it', async () => {
  const h = host({ mode: 'cluster-pool', clusterPoolIPv4PodCIDRList: ['10.60.0.0/16'], clusterStore: { type: 'etcd', endpoints: ['https://127.0.0.1:2379'] } });
  const secret = path.join(h.root, 'secret');
  fs.mkdirSync(secret);
  for (const f of ['ca.crt', 'tls.crt', 'tls.key']) fs.writeFileSync(path.join(secret, f), `-----BEGIN ${f}-----\n`);
  const certDir = path.join(h.root, 'etc/pod-ipam/etcd');
  const out = await cli(['install', ...dirs(h), '--etcd-secret-dir', secret, '--etcd-cert-dir', certDir], { NODE_NAME: 'node-7' });
  expect(out.stderr).toBe('');
  const ipam = JSON.parse(fs.readFileSync(path.join(h.netd, '10-pod-ipam.conflist'), 'utf8')).plugins[0].ipam;
  expect(ipam).toMatchObject({ nodeName: 'node-7', clusterStore: { type: 'etcd', endpoints: ['https://127.0.0.1:2379'], tls: { ca: path.join(certDir, 'ca.crt'), cert: path.join(certDir, 'client.crt'), key: path.join(certDir, 'client.key') } } });
  for (const [to, from] of [['ca.crt', 'ca.crt'], ['client.crt', 'tls.crt'], ['client.key', 'tls.key']] as const) {
    expect(mode(path.join(certDir, to))).toBe(0o600);
    expect(fs.readFileSync(path.join(certDir, to), 'utf8')).toBe(`-----BEGIN ${from}-----\n`);
  }
});
