/**
 * A second real runtime: containerd 1.6 (Debian's `containerd`) with `ctr run --cni`, which
 * runs CNI through go-cni exactly as containerd's CRI does for Kubernetes. A private
 * containerd (own root, state and socket; CRI plugin off) runs three busybox-static
 * containers at once on a bridge network whose IPAM is pod-ipam; they get distinct
 * addresses, ping each other, and their addresses are released when ctr removes them.
 *
 * Everything runs in a private mount, network and PID namespace (containerd/inside.sh):
 * the conflist and /opt/cni/bin are bind-mounted there, so the host's /etc, /opt, links
 * and processes are untouched, and the kernel ends every process when the namespace's
 * init exits, even on failure. Skipped (not passed) where not root or a tool is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXECUTABLE } from '../helpers/run-plugin';

const REFERENCE = '/usr/lib/cni';
const HERE = path.join(__dirname, 'containerd');

function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const file of ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/containerd-shim-runc-v2', '/bin/busybox', `${REFERENCE}/bridge`, `${REFERENCE}/loopback`, EXECUTABLE]) {
    if (!fs.existsSync(file)) return `${file} missing (apt-get install containerd busybox-static containernetworking-plugins; npm run build)`;
  }
  for (const tool of ['unshare', 'runc', 'ip', 'timeout']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} missing`;
  }
  return undefined;
}
const skip = unavailable();

const SUBNET = '10.77.0';
/** The containerd namespace, unique per run: runc names the host cgroups it creates after it, so the test can remove exactly those. */
const NAMESPACE = `podipam${randomBytes(4).toString('hex')}`;

/** runc leaves the namespace's (empty) parent cgroup in each hierarchy: remove those, and only those. */
function removeOurCgroups(): void {
  const root = '/sys/fs/cgroup';
  if (!fs.existsSync(root)) return;
  for (const hierarchy of fs.readdirSync(root)) {
    const dir = path.join(root, hierarchy, NAMESPACE);
    if (!fs.existsSync(dir)) continue;
    for (const child of fs.readdirSync(dir, { withFileTypes: true })) if (child.isDirectory()) fs.rmdirSync(path.join(dir, child.name));
    fs.rmdirSync(dir);
  }
}
const ourCgroups = (): string[] => (fs.existsSync('/sys/fs/cgroup') ? fs.readdirSync('/sys/fs/cgroup').filter((h) => fs.existsSync(path.join('/sys/fs/cgroup', h, NAMESPACE))) : []);
const NETWORK = 'ctrnet';

/** The test's directory: rootfs, CNI binaries and config, containerd's config, the shared directory. */
function prepare(): string {
  const t = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-ctr-'));
  const rootfs = path.join(t, 'rootfs');
  for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'shared']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  for (const applet of ['sh', 'ip', 'ping', 'sleep', 'cat', 'ls', 'wc', 'awk', 'cut', 'mv']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  const bin = path.join(t, 'cni-bin');
  fs.mkdirSync(bin);
  for (const plugin of ['bridge', 'loopback']) fs.copyFileSync(path.join(REFERENCE, plugin), path.join(bin, plugin));
  fs.copyFileSync(EXECUTABLE, path.join(bin, 'pod-ipam'));
  for (const f of fs.readdirSync(bin)) fs.chmodSync(path.join(bin, f), 0o755);
  fs.mkdirSync(path.join(t, 'net.d'));
  // ctr loads only the first config file by name in /etc/cni/net.d.
  const conflist = {
    cniVersion: '1.0.0',
    name: NETWORK,
    plugins: [{ type: 'bridge', bridge: 'ctr0', isGateway: true, ipam: { type: 'pod-ipam', dataDir: path.join(t, 'data'), ranges: [[{ subnet: `${SUBNET}.0/24` }]] } }],
  };
  fs.writeFileSync(path.join(t, 'net.d', '10-pods.conflist'), JSON.stringify(conflist));
  fs.writeFileSync(
    path.join(t, 'containerd.toml'),
    [
      'version = 2',
      `root = "${t}/root"`,
      `state = "${t}/state"`,
      // No CRI (it would want its own CNI setup and a sandbox image); no snapshotter we do not need (ctr --rootfs uses none).
      'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]',
      '[grpc]',
      `  address = "${t}/containerd.sock"`,
      '',
    ].join('\n'),
  );
  fs.mkdirSync(path.join(t, 'shared'));
  fs.copyFileSync(path.join(HERE, 'container.sh'), path.join(t, 'container.sh'));
  return t;
}

const auditLines = (t: string): { verb: string; containerId: string; addresses?: string[] }[] =>
  fs.readFileSync(path.join(t, 'data', 'pod-ipam.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

(skip ? describe.skip : describe)(`containerd 1.6, ctr run --cni${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let t: string;
  let run: ReturnType<typeof spawnSync>;
  const hostLinksBefore = skip ? '' : execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });

  beforeAll(() => {
    t = prepare();
    // The whole run is bounded (each ctr has its own 90 s timeout inside), so CI cannot hang;
    // --kill-child ends the namespace's init, and with it every process inside, if unshare is killed.
    run = spawnSync('unshare', ['--mount', '--net', '--pid', '--fork', '--kill-child', '--mount-proc', '--propagation', 'private', 'bash', path.join(HERE, 'inside.sh'), t, NAMESPACE], { encoding: 'utf8', timeout: 150_000, killSignal: 'SIGKILL' });
  }, 180_000);

  afterAll(() => {
    removeOurCgroups();
    if (t) fs.rmSync(t, { recursive: true, force: true });
  });

  const explain = () => `unshare: status ${run.status} signal ${run.signal}\n${run.stderr}\n${['c1', 'c2', 'c3'].map((c) => `${c}: ${fs.existsSync(path.join(t, `${c}.out`)) ? fs.readFileSync(path.join(t, `${c}.out`), 'utf8') : '(no output)'}`).join('\n')}`;

  test('three containers get distinct addresses from pod-ipam and ping each other', () => {
    if (run.status !== 0) throw new Error(explain());
    const ips = ['c1', 'c2', 'c3'].map((c) => fs.readFileSync(path.join(t, 'shared', `${c}.ip`), 'utf8').trim());
    expect(new Set(ips).size).toBe(3);
    for (const ip of ips) expect(ip).toMatch(new RegExp(`^${SUBNET.replace(/\./g, '\\.')}\\.\\d+$`));
    for (const c of ['c1', 'c2', 'c3']) {
      const pings = fs.readFileSync(path.join(t, 'shared', `${c}.pinged`), 'utf8').trim().split('\n').sort();
      expect(pings).toEqual(ips.map((ip) => `ok ${ip}`).sort());
    }
  });

  test('CNI_CONTAINERID is <namespace>-<container id>; each ADD is matched by a DEL, and nothing stays reserved', () => {
    if (run.status !== 0) throw new Error(explain());
    const lines = auditLines(t);
    const adds = lines.filter((l) => l.verb === 'ADD').map((l) => l.containerId).sort();
    const dels = lines.filter((l) => l.verb === 'DEL').map((l) => l.containerId).sort();
    expect(adds).toEqual(['c1', 'c2', 'c3'].map((c) => `${NAMESPACE}-${c}`));
    expect(dels).toEqual(adds);
    expect(fs.readdirSync(path.join(t, 'data', NETWORK, 'ips'))).toEqual([]);
    expect(fs.readdirSync(path.join(t, 'data', NETWORK, 'attachments'))).toEqual([]);
  });

  test('the host is untouched: no mount, link, /etc/cni or cgroup left behind', () => {
    removeOurCgroups(); // runc's empty per-namespace parents; the containers' own are gone already
    expect(ourCgroups()).toEqual([]);
    expect(fs.readFileSync('/proc/self/mounts', 'utf8')).not.toContain(t);
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    expect(links).not.toContain('ctr0');
    expect(links.split('\n').length).toBe(hostLinksBefore.split('\n').length);
    expect(fs.existsSync('/etc/cni/net.d/10-pods.conflist')).toBe(false);
    expect(fs.existsSync('/opt/cni')).toBe(false);
  });
});
