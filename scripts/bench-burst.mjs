#!/usr/bin/env node
// Burst: N concurrent ADDs into an empty network, then N concurrent DELs, as a node
// starting many pods at once sees them. Three contenders, interleaved round by round:
//   pod-ipam     the single executable dist/pod-ipam
//   bare bun     an empty program compiled by `bun build --compile` with pod-ipam's flags
//                but Bun's default JIT policy: the runtime's own start, the floor
//   bare bun, pod-ipam's JIT policy   the same program with pod-ipam's
//                --compile-jit-policy too: the floor pod-ipam itself could reach
//   host-local   the reference plugin (/usr/lib/cni/host-local, Debian's package)
// Each phase is started by one bash (N background jobs, then `wait`), so every contender
// pays the same fork cost; bash's `times` gives the children's CPU time. Reports the
// median wall time of each phase, its ratio to the floor and to host-local, CPU per call,
// and checks that every ADD succeeded with a distinct address and the DELs emptied it.
//
//   node scripts/bench-burst.mjs [--rounds 5] [--pods 100]
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findBun } from './lib/find-bun.mjs';
import { median, option } from './lib/bench-util.mjs';

const rounds = Number(option('rounds', '5'));
const pods = Number(option('pods', '100'));
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const HOST_LOCAL = '/usr/lib/cni/host-local';
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-burst-'));

fs.writeFileSync(path.join(work, 'bare.js'), "process.stdout.write('');\n");
/** The bare program, compiled with pod-ipam's flags (scripts/build.mjs) plus `extra`. */
function compileBare(name, extra) {
  const file = path.join(work, name);
  execFileSync(findBun(root), ['build', '--compile', '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', '--bytecode', ...extra, '--format=cjs', path.join(work, 'bare.js'), '--outfile', file], { stdio: 'ignore' });
  return file;
}
const JIT_FLOOR = 'bare bun, pod-ipam\'s JIT policy';

const contenders = [
  { name: 'pod-ipam (exe)', cmd: path.join(root, 'dist/pod-ipam'), type: 'pod-ipam' },
  { name: 'bare bun (floor)', cmd: compileBare('bare-bun', []), type: 'none' },
  { name: JIT_FLOOR, cmd: compileBare('bare-bun-jit-policy', ['--compile-jit-policy=1000']), type: 'none' },
  ...(fs.existsSync(HOST_LOCAL) ? [{ name: 'host-local', cmd: HOST_LOCAL, type: 'host-local' }] : []),
];

/** Runs `pods` copies of the contender at once; returns wall ms, children's CPU ms and the outputs. */
function phase(contender, command, confFile, outDir, round) {
  fs.mkdirSync(outDir, { recursive: true });
  const script = `for i in $(seq 1 ${pods}); do CNI_CONTAINERID=burst-${round}-$i "$0" <"$1" >"$2/$i" 2>&1 & done; wait; times`;
  const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_NETNS: '/var/run/netns/bench', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
  const t = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', script, contender.cmd, confFile, outDir], { env, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
  // `times`: the shell's user/sys, then its children's, as "0m1.234s 0m0.567s".
  const children = r.stdout.trim().split('\n').pop().split(/\s+/).map((x) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(x);
    return Number(m) * 60000 + Number(s) * 1000;
  });
  const outputs = fs.readdirSync(outDir).map((f) => fs.readFileSync(path.join(outDir, f), 'utf8'));
  return { wallMs, cpuMs: children[0] + children[1], outputs };
}

function burst(contender, round) {
  const dir = path.join(work, `${contender.type}-${round}`);
  const dataDir = path.join(dir, 'data');
  const confFile = path.join(dir, 'conf.json');
  fs.mkdirSync(dir, { recursive: true });
  // A generous lock timeout: the burst measures throughput, not the timeout.
  fs.writeFileSync(confFile, JSON.stringify({ cniVersion: '1.0.0', name: 'burst', ipam: { type: contender.type, dataDir, ranges: [[{ subnet: '10.77.0.0/24' }]], lockTimeoutSeconds: 120 } }));
  const add = phase(contender, 'ADD', confFile, path.join(dir, 'add'), round);
  const del = phase(contender, 'DEL', confFile, path.join(dir, 'del'), round);
  if (contender.type !== 'none') {
    const addresses = add.outputs.map((o) => JSON.parse(o).ips[0].address);
    if (new Set(addresses).size !== pods) throw new Error(`${contender.name}: ${pods} ADDs gave ${new Set(addresses).size} distinct addresses`);
    if (del.outputs.some((o) => o.trim() !== '')) throw new Error(`${contender.name}: a DEL failed: ${del.outputs.find((o) => o.trim())}`);
    const net = path.join(dataDir, 'burst');
    const left = contender.type === 'host-local' ? fs.readdirSync(net).filter((n) => /^\d/.test(n)) : fs.readdirSync(path.join(net, 'ips'));
    if (left.length !== 0) throw new Error(`${contender.name}: ${left.length} addresses still reserved after DEL`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { addMs: add.wallMs, delMs: del.wallMs, addCpuMs: add.cpuMs / pods, delCpuMs: del.cpuMs / pods };
}

// Start every executable as an installed plugin does, read back from disk rather than
// just written by the build (see bench-scaling.mjs: the page cache changes its start-up).
for (const c of contenders) spawnSync('dd', [`if=${c.cmd}`, 'iflag=nocache', 'count=0', 'status=none']);
const samples = new Map(contenders.map((c) => [c.name, []]));
const loadBefore = os.loadavg();
for (let r = 0; r < rounds; r++) {
  // Rotate the order so that no contender always runs first (or after the same neighbour).
  for (let k = 0; k < contenders.length; k++) {
    const c = contenders[(r + k) % contenders.length];
    const b = burst(c, r);
    samples.get(c.name).push(b);
    // Each round's figures too: the spread says how much to trust the medians.
    console.error(`burst: round ${r + 1}/${rounds} ${c.name}: ADD ${b.addMs.toFixed(0)} ms, DEL ${b.delMs.toFixed(0)} ms, CPU per call ${b.addCpuMs.toFixed(1)} / ${b.delCpuMs.toFixed(1)} ms, load ${os.loadavg()[0].toFixed(1)}`);
  }
}
fs.rmSync(work, { recursive: true, force: true });
const loadAfter = os.loadavg();

const med = (name, key) => median(samples.get(name).map((x) => x[key]));
const ratio = (name, key, other) => (samples.has(other) ? `${(med(name, key) / med(other, key)).toFixed(2)}x` : '-');
console.log(`# burst: ${pods} concurrent ADDs into an empty /24, then ${pods} concurrent DELs; ${rounds} rounds, ${os.cpus().length} cores, ${new Date().toISOString()}, load average ${loadBefore[0].toFixed(1)} before, ${loadAfter[0].toFixed(1)} after\n`);
console.log(`| contender | ${pods} ADDs, median ms | ${pods} DELs, median ms | ADD / floor | DEL / floor | ADD / host-local | DEL / host-local | CPU per ADD, ms | CPU per DEL, ms |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const c of contenders) {
  const n = c.name;
  console.log(
    `| ${n} | ${med(n, 'addMs').toFixed(0)} | ${med(n, 'delMs').toFixed(0)} | ${ratio(n, 'addMs', 'bare bun (floor)')} | ${ratio(n, 'delMs', 'bare bun (floor)')} | ${ratio(n, 'addMs', 'host-local')} | ${ratio(n, 'delMs', 'host-local')} | ${med(n, 'addCpuMs').toFixed(1)} | ${med(n, 'delCpuMs').toFixed(1)} |`,
  );
}
console.log(`\npod-ipam against the bare program with the same JIT policy: ADD ${ratio('pod-ipam (exe)', 'addMs', JIT_FLOOR)}, DEL ${ratio('pod-ipam (exe)', 'delMs', JIT_FLOOR)}.`);
console.log(`\nEvery round: ${pods} of ${pods} ADDs succeeded with distinct addresses and the DELs left nothing reserved (checked for pod-ipam and host-local).`);
