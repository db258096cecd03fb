#!/usr/bin/env node
// What the audit log costs an ADD (issue 13: target under 1 ms per call).
//
//   node scripts/bench-audit-log.mjs [--rounds N] [--lines N]
//
// 1. Per call, end to end: ADDs of the single executable dist/pod-ipam (a new container
//    each time, into a /16) with logging off ("logFile": "") and on (the default file
//    under the data directory; and on with a 64 KiB logMaxBytes, so that about one call in
//    200 rotates), interleaved call by call so that machine load hits all alike. Medians
//    and the difference on - off.
// 2. The writer alone, in process: src/audit/writer.ts bundled by esbuild and called
//    --lines times on a fresh file (the lock, open, fstat, one write, close, unlock), plus
//    the same with the lock held by no one but forced to rotate often. Medians per line.
// The first number is what a runtime sees; the second is the part of it the log adds,
// without the noise of starting a process.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { median, option } from './lib/bench-util.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const EXE = path.join(root, 'dist', 'pod-ipam');
const rounds = Number(option('rounds', '150'));
const lines = Number(option('lines', '5000'));
const WARMUP = 5;
if (!fs.existsSync(EXE)) throw new Error('build first: node scripts/build.mjs');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-bench-audit-'));

try {
  // 1. End to end.
  const variants = [
    { name: 'logging off', ipam: { logFile: '' } },
    { name: 'logging on (default)', ipam: {} },
    { name: 'on, 64 KiB (locked)', ipam: { logMaxBytes: 64 * 1024 } },
  ].map((v, i) => ({ ...v, dataDir: path.join(work, `data-${i}`), times: [] }));
  for (let round = 0; round < WARMUP + rounds; round++) {
    for (const v of variants) {
      const conf = JSON.stringify({ cniVersion: '1.1.0', name: 'bench', ipam: { type: 'pod-ipam', dataDir: v.dataDir, ranges: [[{ subnet: '10.99.0.0/16' }]], ...v.ipam } });
      const env = { PATH: process.env.PATH, CNI_COMMAND: 'ADD', CNI_CONTAINERID: `bench-${round}`, CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/bench', CNI_PATH: '/opt/cni/bin', CNI_ARGS: `K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-${round};K8S_POD_UID=0f6c2a8e-9b7d-4c1e-8f3a-${String(round).padStart(12, '0')}` };
      const t0 = process.hrtime.bigint();
      const r = spawnSync(EXE, [], { input: conf, env, stdio: ['pipe', 'pipe', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${v.name}: ADD failed: ${r.stdout} ${r.stderr}`);
      if (round >= WARMUP) v.times.push(ms);
    }
  }
  const off = median(variants[0].times);
  console.log(`ADD through dist/pod-ipam, ${rounds} calls each, interleaved (after ${WARMUP} warm-up rounds)\n`);
  console.log('variant                   median ms   on - off');
  for (const v of variants) console.log(`${v.name.padEnd(25)} ${median(v.times).toFixed(2).padStart(9)} ${(median(v.times) - off).toFixed(2).padStart(10)}`);
  const logged = fs.readFileSync(path.join(variants[1].dataDir, 'pod-ipam.log'), 'utf8').trim().split('\n');
  if (logged.length !== WARMUP + rounds) throw new Error(`expected ${WARMUP + rounds} lines, found ${logged.length}`);
  const rotated = fs.readdirSync(variants[2].dataDir).filter((f) => /^pod-ipam\.log\.\d+$/.test(f));
  if (fs.existsSync(path.join(variants[0].dataDir, 'pod-ipam.log'))) throw new Error('logging off wrote a log');
  console.log(`(${logged.length} lines, ${Buffer.byteLength(logged[logged.length - 1])} bytes each; the rotating variant kept ${rotated.length} rotated file(s))\n`);

  // 2. The writer alone.
  const bundle = path.join(work, 'writer.cjs');
  await build({ entryPoints: [path.join(root, 'src/audit/writer.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'warning' });
  const { appendAuditLine } = createRequire(import.meta.url)(bundle);
  const fields = (i) => ({ time: new Date().toISOString(), level: 'info', verb: 'ADD', network: 'bench', mode: 'node-local', containerId: `c${i}`.padEnd(64, '0'), ifname: 'eth0', pod: { namespace: 'bench', name: `pod-${i}`, uid: '0f6c2a8e-9b7d-4c1e-8f3a-000000000000' }, addresses: ['10.99.0.2/16'], durationMs: 3.2, pid: process.pid });
  console.log(`the writer alone (in process, ${lines} lines each)\n`);
  console.log('case                      median us   p90 us');
  for (const [name, cfg] of [
    ['10 MiB: no lock', { file: path.join(work, 'w1', 'pod-ipam.log'), level: 'info', maxBytes: 1 << 30, maxFiles: 1 }],
    ['64 KiB: lock, rotations', { file: path.join(work, 'w2', 'pod-ipam.log'), level: 'info', maxBytes: 64 * 1024, maxFiles: 1 }],
  ]) {
    const us = [];
    for (let i = 0; i < lines; i++) {
      const f = fields(i);
      const t0 = process.hrtime.bigint();
      const out = appendAuditLine(cfg, f);
      us.push(Number(process.hrtime.bigint() - t0) / 1e3);
      if (!out.written) throw new Error(`not written: ${out.error}`);
    }
    const sorted = [...us].sort((a, b) => a - b);
    console.log(`${name.padEnd(25)} ${median(us).toFixed(1).padStart(10)} ${sorted[Math.floor(0.9 * sorted.length)].toFixed(1).padStart(8)}`);
  }
  console.log(`\ntarget: logging adds under 1 ms to an ADD: ${median(variants[1].times) - off < 1 ? 'met' : 'NOT met'} (${(median(variants[1].times) - off).toFixed(2)} ms end to end)`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
