#!/usr/bin/env node
// Where the executable's start-up goes: one CNI call against the bare start of the same
// runtime, split into steps.
//
//   node scripts/bench-startup.mjs [--runs 40]      (builds first if needed)
//
// Programs, run interleaved (one of each per round, so drift in machine load hits all
// alike), each run timed wall-clock from spawn to exit; then, per program, the CPU time
// (user + sys) of RUNS runs in a row from bash's `times`, divided by RUNS:
//   bun bare        `process.stdout.write('')` compiled by the same Bun with our flags
//                   (JIT policy included, so the steps below are ours alone)
//   bun fs          `require('fs').writeSync(1, '')`: the same without Bun's stdout
//                   stream (pod-ipam writes fd 1 synchronously too)
//   exe VERSION     dist/pod-ipam loading its bundle and answering VERSION (no state)
//   exe ADD         dist/pod-ipam, a real node-local ADD (a new container each run)
// and prints medians and the differences between consecutive steps.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, option } from './lib/bench-util.mjs';
import { findBun } from './lib/find-bun.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(option('runs', '40'));
const WARMUP = 3;
const EXE = path.join(ROOT, 'dist', 'pod-ipam');
if (!existsSync(EXE)) execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });

const tmp = mkdtempSync(path.join(tmpdir(), 'pod-ipam-bench-'));
try {
  const compile = (name, source) => {
    writeFileSync(path.join(tmp, `${name}.js`), source);
    execFileSync(findBun(ROOT), ['build', '--compile', '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', '--bytecode', '--compile-jit-policy=1000', '--format=cjs', path.join(tmp, `${name}.js`), '--outfile', path.join(tmp, name)], { stdio: 'ignore' });
    return path.join(tmp, name);
  };
  const bare = compile('bare', "process.stdout.write('');\n");
  const fsOnly = compile('fs-only', "require('fs').writeSync(1, '');\n");
  const dataDir = path.join(tmp, 'data');
  const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'bench', ipam: { type: 'pod-ipam', dataDir, ranges: [[{ subnet: '10.99.0.0/16' }]] } });
  let seq = 0;
  const programs = [
    { name: 'bun bare', run: () => ({ cmd: [bare] }) },
    { name: 'bun fs', run: () => ({ cmd: [fsOnly] }) },
    { name: 'exe VERSION', run: () => ({ cmd: [EXE], input: '{}', env: { CNI_COMMAND: 'VERSION' } }) },
    {
      name: 'exe ADD',
      run: () => ({ cmd: [EXE], input: conf, env: { CNI_COMMAND: 'ADD', CNI_CONTAINERID: `bench-${seq++}`, CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/bench', CNI_PATH: '/opt/cni/bin' } }),
    },
  ];
  for (const p of programs) spawnSync('dd', [`if=${p.run().cmd[0]}`, 'iflag=nocache', 'count=0', 'status=none']);
  const wall = new Map(programs.map((p) => [p.name, []]));
  for (let round = 0; round < WARMUP + RUNS; round++) {
    for (const p of programs) {
      const { cmd, input, env } = p.run();
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd[0], cmd.slice(1), { input: input ?? '', env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${p.name} failed (${r.status}): ${r.stdout} ${r.stderr}`);
      if (round >= WARMUP) wall.get(p.name).push(ms);
    }
  }
  const cpu = new Map(programs.map((p) => [p.name, cpuPerRun(p)]));
  console.log(`# start-up: wall medians of ${RUNS} interleaved runs each (after ${WARMUP} warm-up rounds); CPU per run from ${RUNS} runs in a row\n`);
  console.log('| program | median wall ms | CPU per run, ms | wall minus previous row, ms |');
  console.log('| --- | ---: | ---: | ---: |');
  let previous;
  for (const p of programs) {
    const w = median(wall.get(p.name));
    console.log(`| ${p.name} | ${w.toFixed(1)} | ${cpu.get(p.name).toFixed(1)} | ${previous === undefined ? '-' : (w - previous).toFixed(1)} |`);
    previous = w;
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

/** CPU (user + sys) per run of `p`, from bash's `times` after RUNS runs in a row. */
function cpuPerRun(p) {
  const { cmd, input, env } = p.run();
  const inputFile = path.join(tmp, 'input');
  writeFileSync(inputFile, input ?? '');
  // ADD needs a new container each run: $i makes the ID unique.
  const script = `for i in $(seq 1 ${RUNS}); do CNI_CONTAINERID=cpu-$i-$CNI_CONTAINERID "$0" <"$1" >/dev/null; done; times`;
  const r = spawnSync('bash', ['-c', script, cmd[0], inputFile], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  const [user, sys] = r.stdout.trim().split('\n').pop().split(/\s+/).map((x) => {
    const [, m, sec] = /(\d+)m([\d.]+)s/.exec(x);
    return Number(m) * 60000 + Number(sec) * 1000;
  });
  return (user + sys) / RUNS;
}
