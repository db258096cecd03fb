#!/usr/bin/env node
// npm run demo: pod-ipam doing its job, the way a container runtime drives it.
//
// 1. Builds if dist/ is missing or older than src/.
// 2. On a dual-stack node-local network in a temporary data directory (no root needed):
//    ADD for three containers, CHECK, GC (one container is no longer valid), DEL; prints
//    each CNI call, its result, and the state (`pod-ipam status`) in between.
// 3. As root, with the reference plugins (/usr/lib/cni/bridge) and `ip netns` present: two
//    network namespaces wired through the real bridge plugin with pod-ipam as its IPAM,
//    ping between them, then DEL. Everything it creates is removed at the end.
//
// POD_IPAM_DEMO_TARGET=node uses dist/pod-ipam.cjs instead of the single executable.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = path.join(ROOT, 'dist', 'pod-ipam.cjs');
const EXE = path.join(ROOT, 'dist', 'pod-ipam');
const REF = '/usr/lib/cni';
const tty = process.stdout.isTTY;
const bold = (s) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s) => (tty ? `\x1b[2m${s}\x1b[0m` : s);

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}
const useNode = process.env.POD_IPAM_DEMO_TARGET === 'node';
const artifacts = useNode ? [BUNDLE] : [BUNDLE, EXE];
const srcTime = Math.max(newestMtime(path.join(ROOT, 'src')), statSync(path.join(ROOT, 'package.json')).mtimeMs);
if (artifacts.some((a) => !existsSync(a) || statSync(a).mtimeMs < srcTime)) {
  console.log(dim('building (npm run build) ...'));
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), ...(useNode ? ['--no-exe'] : [])], { stdio: 'inherit' });
}
const plugin = useNode ? [process.execPath, BUNDLE] : [EXE];
console.log(`${bold('pod-ipam demo')} using ${useNode ? 'the Node.js bundle dist/pod-ipam.cjs' : 'the single executable dist/pod-ipam'}\n`);

const tmp = mkdtempSync(path.join(tmpdir(), 'pod-ipam-demo-'));
const dataDir = path.join(tmp, 'data');
const conf = {
  cniVersion: '1.1.0',
  name: 'demo',
  ipam: {
    type: 'pod-ipam',
    dataDir,
    ranges: [[{ subnet: '10.77.0.0/24' }], [{ subnet: 'fd77::/64' }]],
    routes: [{ dst: '10.77.0.0/16' }],
  },
};

/** One CNI call as a runtime makes it; prints it and what came back. */
function cni(command, containerId, stdin, { quiet = false } = {}) {
  const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' };
  if (containerId) Object.assign(env, { CNI_CONTAINERID: containerId, CNI_IFNAME: 'eth0', CNI_NETNS: `/var/run/netns/${containerId}` });
  const r = spawnSync(plugin[0], plugin.slice(1), { input: JSON.stringify(stdin), env, encoding: 'utf8' });
  if (!quiet) {
    console.log(bold(`$ CNI_COMMAND=${command}${containerId ? ` CNI_CONTAINERID=${containerId} CNI_IFNAME=eth0` : ''} pod-ipam < conf`));
    console.log(r.stdout.trim() === '' ? dim(`(no output, exit ${r.status})`) : `${r.stdout.trim()}\n${dim(`(exit ${r.status})`)}`);
    if (r.stderr.trim()) console.log(dim(r.stderr.trim()));
    console.log('');
  }
  if (r.status !== 0) throw new Error(`${command} ${containerId ?? ''} failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
  return r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout);
}

function showState(title) {
  console.log(bold(`--- state: ${title} (pod-ipam status --data-dir ...) ---`));
  const r = spawnSync(plugin[0], [...plugin.slice(1), 'status', '--data-dir', dataDir], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  console.log(`${(r.stdout || r.stderr).trimEnd()}\n`);
}

try {
  console.log(`network ${JSON.stringify(conf.ipam.ranges)} in ${dataDir}\n`);
  const results = {};
  for (const id of ['web-1', 'web-2', 'db-1']) results[id] = cni('ADD', id, conf);
  showState('three containers attached');

  cni('CHECK', 'web-1', { ...conf, prevResult: results['web-1'] });

  console.log(dim('The runtime restarts and only web-1 and db-1 still exist: GC releases the rest.'));
  cni('GC', undefined, { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'web-1', ifname: 'eth0' }, { containerID: 'db-1', ifname: 'eth0' }] });
  showState('after GC');

  cni('DEL', 'web-1', conf);
  cni('DEL', 'db-1', conf);
  cni('DEL', 'db-1', conf); // DEL is idempotent
  showState('after DEL');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

// Part two: the real thing, if this machine allows it.
const why =
  process.getuid?.() !== 0 ? 'not root'
  : !existsSync(path.join(REF, 'bridge')) ? `${REF}/bridge missing (apt-get install containernetworking-plugins)`
  : spawnSync('sh', ['-c', 'command -v ip && command -v ping'], { stdio: 'ignore' }).status !== 0 ? 'ip or ping missing (apt-get install iproute2 iputils-ping)'
  : undefined;
if (why) {
  console.log(dim(`Skipping the bridge part (${why}). As root with containernetworking-plugins, iproute2 and iputils-ping installed, the demo also wires two network namespaces through the bridge plugin.`));
  process.exit(0);
}

console.log(bold('=== with the real bridge plugin: two network namespaces ==='));
const tag = randomBytes(3).toString('hex');
const work = mkdtempSync(path.join(tmpdir(), 'pod-ipam-demo-'));
const bin = path.join(work, 'bin');
mkdirSync(bin);
if (useNode) {
  writeFileSync(path.join(bin, 'pod-ipam'), `#!/bin/sh\nexec '${process.execPath}' '${BUNDLE}' "$@"\n`);
  chmodSync(path.join(bin, 'pod-ipam'), 0o755);
} else {
  execFileSync('sh', [path.join(ROOT, 'scripts', 'install.sh'), bin], { stdio: 'inherit' });
}
const octet = 200 + (parseInt(tag, 16) % 50);
const net = {
  cniVersion: '1.0.0',
  name: `demo-${tag}`,
  type: 'bridge',
  bridge: `pidemo${tag}`,
  isGateway: false,
  ipMasq: false,
  ipam: { type: 'pod-ipam', dataDir: path.join(work, 'data'), ranges: [[{ subnet: `10.${octet}.${parseInt(tag.slice(0, 2), 16)}.0/24` }]] },
};
const namespaces = [`pidemo-${tag}-a`, `pidemo-${tag}-b`];
const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const bridgeCall = (command, ns, extra = {}) => {
  const r = spawnSync(path.join(REF, 'bridge'), [], {
    input: JSON.stringify({ ...net, ...extra }),
    encoding: 'utf8',
    env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: ns, CNI_NETNS: `/var/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: `${bin}:${REF}` },
  });
  console.log(bold(`$ CNI_COMMAND=${command} CNI_PATH=${bin}:${REF} ${REF}/bridge  (netns ${ns})`));
  console.log(r.stdout.trim() === '' ? dim(`(no output, exit ${r.status})`) : `${r.stdout.trim()}\n${dim(`(exit ${r.status})`)}`);
  if (r.status !== 0) throw new Error(`bridge ${command} failed: ${r.stdout}${r.stderr}`);
  return r.stdout.trim() === '' ? undefined : JSON.parse(r.stdout);
};
let failed = false;
try {
  // A long-lived bridge with a fixed MAC, as on a real node (a bridge whose MAC was never set
  // takes its ports' lowest, so it changes as pods come and go and the bridge CHECK trips on it).
  run('ip', ['link', 'add', 'name', net.bridge, 'type', 'bridge']);
  run('ip', ['link', 'set', net.bridge, 'address', `02:50:00:${tag.replace(/(..)(?!$)/g, '$1:')}`]);
  const results = [];
  for (const ns of namespaces) {
    run('ip', ['netns', 'add', ns]);
    results.push(bridgeCall('ADD', ns));
  }
  for (const ns of namespaces) console.log(`${ns}: ${run('ip', ['-n', ns, '-br', 'addr', 'show', 'dev', 'eth0']).trim()}`);
  const target = results[1].ips[0].address.split('/')[0];
  console.log(bold(`\n$ ip netns exec ${namespaces[0]} ping -c 3 ${target}`));
  const ping = spawnSync('ip', ['netns', 'exec', namespaces[0], 'ping', '-c', '3', '-i', '0.2', '-W', '2', target], { encoding: 'utf8' });
  console.log(ping.stdout.trim());
  if (ping.status !== 0) throw new Error('ping failed');
  console.log('');
  bridgeCall('CHECK', namespaces[0], { prevResult: results[0] });
  for (const ns of namespaces) bridgeCall('DEL', ns);
  console.log(bold('\npod-ipam served the real bridge plugin: both namespaces got their addresses and reached each other.'));
} catch (e) {
  failed = true;
  console.error(`demo failed: ${e.message}`);
} finally {
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  spawnSync('ip', ['link', 'del', net.bridge], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
