#!/usr/bin/env node
// Start-up benchmark: what one CNI ADD costs against the bare start of the same runtime.
//
//   node scripts/bench-startup.mjs [--runs N]      (default 40; builds first if needed)
//
// Four programs, run interleaved (one of each per round, so drift in machine load hits all
// alike), each run timed wall-clock from spawn to exit:
//   node bare      node on an empty file
//   node ADD       node dist/pod-ipam.cjs, a real node-local ADD (new container each run)
//   bun bare       an empty program compiled by `bun build --compile`, same flags as ours
//   exe ADD        dist/pod-ipam, a real node-local ADD
// plus VERSION through each build (loads the bundle, touches no state), which splits the
// difference into loading the program and doing the ADD (lock, reads, fsynced writes).
// Reports median and p90 per program and the medians' differences ADD − bare per runtime.
// The goal (issue 3): the difference stays at or under 10 ms.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib/bench-util.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 40;
const WARMUP = 3;
const BUNDLE = path.join(ROOT, 'dist', 'pod-ipam.cjs');
const EXE = path.join(ROOT, 'dist', 'pod-ipam');

if (!existsSync(BUNDLE) || !existsSync(EXE)) execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });

const tmp = mkdtempSync(path.join(tmpdir(), 'pod-ipam-bench-'));
try {
  const empty = path.join(tmp, 'empty.js');
  writeFileSync(empty, '');
  const bunBare = path.join(tmp, 'bun-bare');
  const bun = findBun();
  execFileSync(bun, ['build', '--compile', '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', '--bytecode', '--format=cjs', empty, '--outfile', bunBare], { stdio: 'ignore' });

  const conf = (dataDir) => JSON.stringify({ cniVersion: '1.1.0', name: 'bench', ipam: { type: 'pod-ipam', dataDir, ranges: [[{ subnet: '10.99.0.0/16' }]] } });
  let seq = 0;
  const add = (cmd, dataDir) => () => ({
    cmd,
    input: conf(dataDir),
    env: { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: `bench-${seq++}`, CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/bench', CNI_PATH: '/opt/cni/bin' },
  });
  const programs = [
    { name: 'node bare', run: () => ({ cmd: [process.execPath, empty] }) },
    { name: 'node VERSION', run: () => ({ cmd: [process.execPath, BUNDLE], input: '{}', env: { CNI_COMMAND: 'VERSION' } }) },
    { name: 'node ADD', run: add([process.execPath, BUNDLE], path.join(tmp, 'data-node')) },
    { name: 'bun bare', run: () => ({ cmd: [bunBare] }) },
    { name: 'exe VERSION', run: () => ({ cmd: [EXE], input: '{}', env: { CNI_COMMAND: 'VERSION' } }) },
    { name: 'exe ADD', run: add([EXE], path.join(tmp, 'data-exe')) },
  ];
  const times = new Map(programs.map((p) => [p.name, []]));
  for (let round = 0; round < WARMUP + RUNS; round++) {
    for (const p of programs) {
      const { cmd, input, env } = p.run();
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd[0], cmd.slice(1), { input: input ?? '', env: env ?? { PATH: process.env.PATH }, stdio: ['pipe', 'pipe', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${p.name} failed (${r.status}): ${r.stdout} ${r.stderr}`);
      if (round >= WARMUP) times.get(p.name).push(ms);
    }
  }

  const q = (xs, f) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(f * s.length))];
  };
  console.log(`start-up, wall clock, ${RUNS} interleaved runs each (after ${WARMUP} warm-up rounds)\n`);
  console.log('program        median ms   p90 ms');
  for (const [name, xs] of times) console.log(`${name.padEnd(14)} ${median(xs).toFixed(1).padStart(9)} ${q(xs, 0.9).toFixed(1).padStart(8)}`);
  const diff = (a, b) => median(times.get(a)) - median(times.get(b));
  console.log('');
  for (const [label, a, b] of [['node', 'node ADD', 'node bare'], ['bun', 'exe ADD', 'bun bare']]) {
    const d = diff(a, b);
    console.log(`${label}: ADD − bare start = ${d.toFixed(1)} ms (${(median(times.get(a)) / median(times.get(b))).toFixed(2)}×) ${d <= 10 ? 'within' : 'OVER'} the 10 ms budget`);
  }
  console.log(`of which loading the program (VERSION − bare): node ${diff('node VERSION', 'node bare').toFixed(1)} ms, bun ${diff('exe VERSION', 'bun bare').toFixed(1)} ms`);
  console.log(`exe ADD vs node ADD: ${(median(times.get('node ADD')) / median(times.get('exe ADD'))).toFixed(2)}× faster`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/** Same lookup as scripts/build.mjs: the platform package's binary, or bun's own after postinstall. */
function findBun() {
  if (process.env.POD_IPAM_BUN) return process.env.POD_IPAM_BUN;
  const arch = { x64: 'x64', arm64: 'aarch64' }[process.arch] ?? process.arch;
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  const candidates = [
    path.join(ROOT, 'node_modules', '@oven', `bun-${os}-${arch}`, 'bin', 'bun'),
    path.join(ROOT, 'node_modules', '@oven', `bun-${os}-${arch}-musl`, 'bin', 'bun'),
    path.join(ROOT, 'node_modules', 'bun', 'bin', 'bun.exe'),
  ];
  const found = candidates.find((c) => existsSync(c) && spawnSync(c, ['--version']).status === 0);
  if (!found) throw new Error(`no Bun binary found (looked at ${candidates.join(', ')})`);
  return found;
}
