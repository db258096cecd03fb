/**
 * conf-examples/daemonset.yaml: the conflist its ConfigMap installs is valid and served by
 * pod-ipam, and its install script is the one scripts/install.sh implements (run here for
 * real into a temp directory, the way the init container runs it).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXECUTABLE, ROOT, runPlugin, tempDataDir } from '../helpers/run-plugin';

const yaml = fs.readFileSync(path.join(ROOT, 'conf-examples', 'daemonset.yaml'), 'utf8');

/** The text of a YAML block scalar (`key: |`), by its indentation. */
function blockScalar(key: string): string {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => l.trimEnd().endsWith(`${key}: |`));
  if (start < 0) throw new Error(`no block scalar ${key}`);
  const body: string[] = [];
  let indent: number | undefined;
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') {
      body.push('');
      continue;
    }
    const n = line.length - line.trimStart().length;
    indent ??= n;
    if (n < indent) break;
    body.push(line.slice(indent));
  }
  return body.join('\n');
}

let tmp: ReturnType<typeof tempDataDir>;
beforeEach(() => {
  tmp = tempDataDir();
});
afterEach(() => tmp.cleanup());

test('the manifest holds a ConfigMap and a DaemonSet that mounts it and the host CNI directories', () => {
  const docs = yaml.split(/^---$/m);
  expect(docs.map((d) => /^kind: (\w+)$/m.exec(d)?.[1])).toEqual(['ConfigMap', 'DaemonSet']);
  expect(yaml).toMatch(/path: \/opt\/cni\/bin\n/);
  expect(yaml).toMatch(/path: \/etc\/cni\/net\.d\n/);
  expect(yaml).toMatch(/configMap:\n\s+name: pod-ipam-config\n/);
});

test('its conflist validates and serves ADD and DEL as a runtime hands it to pod-ipam', async () => {
  const list = JSON.parse(blockScalar('10-pod-ipam.conflist')) as { cniVersion: string; name: string; plugins: { ipam?: Record<string, unknown> }[] };
  const entry = list.plugins.find((p) => p.ipam?.type === 'pod-ipam');
  expect(entry).toBeDefined();
  const conf = { cniVersion: list.cniVersion, name: list.name, ...entry, ipam: { ...entry!.ipam, dataDir: tmp.dir } };
  const add = await runPlugin({ command: 'ADD', stdin: conf });
  expect(add.code).toBe(0);
  expect((add.json.ips as { address: string }[]).map((i) => i.address)).toEqual(['10.88.0.2/16', 'fd88::2/64']);
  expect((await runPlugin({ command: 'DEL', stdin: conf })).code).toBe(0);
});

test('its install script works as written (install.sh into a host directory, conflist moved into place)', () => {
  const script = /args:\n\s+- \|\n([\s\S]*?)\n\s+securityContext:/.exec(yaml)?.[1];
  expect(script).toBeDefined();
  // The image's /opt/pod-ipam, the host's directories and the ConfigMap mount, under tmp.
  const image = path.join(tmp.dir, 'image');
  fs.mkdirSync(image);
  fs.copyFileSync(path.join(ROOT, 'scripts', 'install.sh'), path.join(image, 'install.sh'));
  fs.symlinkSync(EXECUTABLE, path.join(image, 'pod-ipam'));
  fs.mkdirSync(path.join(tmp.dir, 'config'));
  fs.writeFileSync(path.join(tmp.dir, 'config', '10-pod-ipam.conflist'), blockScalar('10-pod-ipam.conflist'));
  fs.mkdirSync(path.join(tmp.dir, 'host', 'etc', 'cni', 'net.d'), { recursive: true });
  const local = script!
    .split('\n')
    .map((l) => l.trim())
    .join('\n')
    .replaceAll('/opt/pod-ipam/', `${image}/`)
    .replaceAll('/host/', `${tmp.dir}/host/`)
    .replaceAll('/config/', `${tmp.dir}/config/`);
  execFileSync('sh', ['-c', local], { stdio: 'pipe' });
  expect(fs.readdirSync(path.join(tmp.dir, 'host', 'opt', 'cni', 'bin'))).toEqual(['pod-ipam']);
  expect(fs.readdirSync(path.join(tmp.dir, 'host', 'etc', 'cni', 'net.d'))).toEqual(['10-pod-ipam.conflist']);
  const installed = execFileSync(path.join(tmp.dir, 'host', 'opt', 'cni', 'bin', 'pod-ipam'), { env: { CNI_COMMAND: 'VERSION' }, input: '{}', encoding: 'utf8' });
  expect(JSON.parse(installed).supportedVersions).toContain('1.0.0');
});
