#!/usr/bin/env node
// Per-call cost of ADD, CHECK and DEL as a network fills up, for pod-ipam (the single
// executable) and the reference host-local plugin.
//
//   npm run bench -- [--rounds N] [--sizes 0,250,10000]
//
// Each network is pre-filled with N live allocations written in the exact on-disk
// format of each plugin (spawning 10,000 ADDs would take minutes and measure nothing
// extra); then every round runs ADD, CHECK, DEL for a new container on every contender
// and size, interleaved, so machine noise hits all of them alike. Reports medians of
// wall time and of peak RSS (GNU time), and ratios, then checks the targets of the
// benchmark issue. Also times two start-up floors each round, compiled by the same Bun
// with the same flags: a bare program (`process.stdout.write('')`) and one that reads
// stdin and writes "{}" to fd 1 as pod-ipam does; each pod-ipam row shows its gap to the
// bare one. Prints Markdown for BENCHMARKS.md.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { option, median } from './lib/bench-util.mjs';
import { findBun } from './lib/find-bun.mjs';

const rounds = Number(option('rounds', '15'));
const sizes = option('sizes', '0,250,10000').split(',').map(Number);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const HOST_LOCAL = '/usr/lib/cni/host-local';
if (!fs.existsSync('/usr/bin/time')) throw new Error('GNU time is needed for peak memory: apt-get install time');

const contenders = [
  { name: 'pod-ipam (exe)', cmd: [path.join(root, 'dist/pod-ipam')], type: 'pod-ipam' },
  ...(fs.existsSync(HOST_LOCAL) ? [{ name: 'host-local', cmd: [HOST_LOCAL], type: 'host-local' }] : []),
];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-bench-'));
const loadBefore = os.loadavg();

// The floors, built with the same Bun and flags as dist/pod-ipam.
const BARE = 'bare Bun program (process.stdout.write(""))';
const floors = [
  { name: BARE, source: "process.stdout.write('');" },
  { name: 'Bun, read stdin and write {} to fd 1', source: "const fs = require('fs'); fs.readFileSync(0); fs.writeSync(1, '{}\\n');" },
].map((f, i) => {
  const file = path.join(work, `floor${i}`);
  fs.writeFileSync(`${file}.js`, f.source);
  execFileSync(findBun(root), ['build', '--compile', '--bytecode', '--format=cjs', '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', `${file}.js`, '--outfile', file], { stdio: 'ignore' });
  return { name: f.name, cmd: [file] };
});
const subnet = '10.200.0.0/16';
const ipOf = (i) => `10.200.${(i + 2) >> 8}.${(i + 2) & 255}`; // from 10.200.0.2 upwards

function populate(type, dataDir, network, n) {
  const dir = path.join(dataDir, network);
  if (type === 'host-local') {
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, ipOf(i)), `filler-${i}\r\neth0`);
    if (n > 0) fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), ipOf(n - 1));
    return;
  }
  fs.mkdirSync(path.join(dir, 'ips'), { recursive: true, mode: 0o700 });
  fs.mkdirSync(path.join(dir, 'attachments'), { recursive: true, mode: 0o700 });
  const since = new Date().toISOString();
  for (let i = 0; i < n; i++) {
    const owner = { containerId: `filler-${i}`, ifname: 'eth0' };
    fs.writeFileSync(path.join(dir, 'ips', ipOf(i)), JSON.stringify({ ...owner, since }), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'attachments', `filler-${i}:eth0`), JSON.stringify({ ...owner, ips: [ipOf(i)], since }), { mode: 0o600 });
  }
}

function conf(type, dataDir, network) {
  return { cniVersion: '1.0.0', name: network, ipam: { type, dataDir, ranges: [[{ subnet }]] } };
}

function call(contender, command, conf, containerId, prevResult) {
  const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/var/run/netns/bench', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
  const stdin = JSON.stringify(prevResult ? { ...conf, prevResult } : conf);
  const started = process.hrtime.bigint();
  const out = spawnSync('/usr/bin/time', ['-f', '%M', ...contender.cmd], { env, input: stdin, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (out.status !== 0) throw new Error(`${contender.name} ${command} failed: ${out.stdout} ${out.stderr}`);
  const kib = Number(out.stderr.trim().split('\n').pop());
  return { ms, mib: kib / 1024, stdout: out.stdout };
}

// Peak RSS counts the pages of the executable that the process maps, and how many get
// mapped depends on how the kernel holds the file in its page cache: a binary just written
// by the build sits there in large folios and maps ~5 MiB more (and starts ~2 ms faster)
// than the same binary read back from disk. Drop every executable from the page cache
// first, so that each starts as an installed plugin does, whatever ran before.
const dropFromPageCache = (file) => spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
for (const c of [...contenders, ...floors]) dropFromPageCache(c.cmd[0]);

const samples = {}; // key contender|size|verb -> { ms: [], mib: [] }
const record = (key, s) => {
  samples[key] ??= { ms: [], mib: [] };
  samples[key].ms.push(s.ms);
  samples[key].mib.push(s.mib);
};

const setups = contenders.flatMap((c) => sizes.map((n) => {
  const dataDir = path.join(work, `${c.type}-${c.name.replace(/\W/g, '')}-${n}`);
  const network = `bench${n}`;
  populate(c.type, dataDir, network, n);
  return { c, n, conf: conf(c.type, dataDir, network) };
}));

console.error(`bench: ${rounds} rounds x ${setups.length} setups x 3 verbs (work dir ${work})`);
for (let r = 0; r < rounds; r++) {
  for (const f of floors) record(`floor|${f.name}`, call(f, 'VERSION', {}, 'floor'));
  for (const { c, n, conf } of setups) {
    const id = `bench-${r}`;
    const add = call(c, 'ADD', conf, id);
    record(`${c.name}|${n}|ADD`, add);
    record(`${c.name}|${n}|CHECK`, call(c, 'CHECK', conf, id, JSON.parse(add.stdout)));
    record(`${c.name}|${n}|DEL`, call(c, 'DEL', conf, id));
  }
}
fs.rmSync(work, { recursive: true, force: true });
const loadAfter = os.loadavg();

const fmt = (x) => x.toFixed(1);
const bunVersion = (() => {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'node_modules/bun/package.json'), 'utf8')).version;
  } catch {
    return 'none';
  }
})();
const hostLocalVersion = (() => {
  try {
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'containernetworking-plugins'], { encoding: 'utf8' });
  } catch {
    return 'unknown';
  }
})();
console.log(`# ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'cpu'}, ${os.type()} ${os.release()}, node ${process.version}, bun ${bunVersion}, host-local (containernetworking-plugins) ${hostLocalVersion}`);
console.log(`# ${new Date().toISOString()}, ${rounds} rounds, load average ${loadBefore.map((x) => x.toFixed(1)).join('/')} before, ${loadAfter.map((x) => x.toFixed(1)).join('/')} after (1/5/15 min)\n`);
const bareMs = median(samples[`floor|${BARE}`].ms);
console.log('| contender | live allocations | verb | median ms | minus bare Bun program, ms | median peak MiB | vs. same verb at 0 |');
console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: |');
for (const c of contenders) for (const n of sizes) for (const verb of ['ADD', 'CHECK', 'DEL']) {
  const s = samples[`${c.name}|${n}|${verb}`];
  const base = samples[`${c.name}|${sizes[0]}|${verb}`];
  const gapMs = median(s.ms) - bareMs;
  const gap = c.type === 'pod-ipam' ? `${gapMs >= 0 ? '+' : ''}${fmt(gapMs)}` : '-';
  console.log(`| ${c.name} | ${n} | ${verb} | ${fmt(median(s.ms))} | ${gap} | ${fmt(median(s.mib))} | ${(median(s.ms) / median(base.ms)).toFixed(2)}x |`);
}
const hl = contenders.find((c) => c.type === 'host-local');
if (hl) {
  console.log('\n| pod-ipam vs host-local (median ms ratio, < 1 is faster) | live allocations | ADD | CHECK | DEL |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const c of contenders.filter((x) => x !== hl)) for (const n of sizes) {
    const ratio = (verb) => (median(samples[`${c.name}|${n}|${verb}`].ms) / median(samples[`${hl.name}|${n}|${verb}`].ms)).toFixed(2);
    console.log(`| ${c.name} | ${n} | ${ratio('ADD')} | ${ratio('CHECK')} | ${ratio('DEL')} |`);
  }
}

console.log('\n| start-up floor | median ms | median peak MiB |');
console.log('| --- | ---: | ---: |');
for (const f of floors) {
  const s = samples[`floor|${f.name}`];
  console.log(`| ${f.name} | ${fmt(median(s.ms))} | ${fmt(median(s.mib))} |`);
}

// The targets of the benchmark issue, checked on these medians.
if (hl) {
  const big = Math.max(...sizes);
  const small = Math.min(...sizes);
  const ms = (c, n, verb) => median(samples[`${c.name}|${n}|${verb}`].ms);
  const rows = [];
  for (const c of contenders.filter((x) => x !== hl)) {
    for (const verb of ['ADD', 'DEL']) {
      const speedup = ms(hl, big, verb) / ms(c, big, verb);
      rows.push([c.name, `${verb} at ${big}: at least 3x faster than host-local`, `${speedup.toFixed(1)}x faster`, speedup >= 3]);
    }
    const empty = ms(c, small, 'ADD') / ms(hl, small, 'ADD');
    rows.push([c.name, `ADD at ${small}: at most 2.5x host-local's time`, `${empty.toFixed(2)}x`, empty <= 2.5]);
    for (const verb of ['ADD', 'DEL', 'CHECK']) {
      const growth = ms(c, big, verb) / ms(c, small, verb);
      rows.push([c.name, `${verb} growth ${small} to ${big}: at most 1.25x`, `${growth.toFixed(2)}x`, growth <= 1.25]);
    }
    if (c.name.includes('exe')) {
      const peak = Math.max(...sizes.flatMap((n) => ['ADD', 'CHECK', 'DEL'].map((verb) => median(samples[`${c.name}|${n}|${verb}`].mib))));
      rows.push([c.name, 'peak memory per call: at most 40 MiB', `${fmt(peak)} MiB (largest median)`, peak <= 40]);
    }
  }
  console.log('\n| contender | target | measured | met |');
  console.log('| --- | --- | ---: | --- |');
  for (const [c, t, m, ok] of rows) console.log(`| ${c} | ${t} | ${m} | ${ok ? 'yes' : '**no**'} |`);
}
