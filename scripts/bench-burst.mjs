#!/usr/bin/env node
// Burst: 100 concurrent ADDs into an empty /24, then 100 concurrent DELs, as a node
// starting many pods at once sees them. For pod-ipam (Node.js bundle, single executable)
// and host-local, interleaved round by round; reports the median total wall time of each
// phase and checks that every ADD succeeded with a distinct address and that the DELs
// emptied the network.
//
//   node scripts/bench-burst.mjs [--rounds N] [--pods 100]
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { option, median } from './lib/bench-util.mjs';

const rounds = Number(option('rounds', '5'));
const pods = Number(option('pods', '100'));
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const HOST_LOCAL = '/usr/lib/cni/host-local';
const contenders = [
  { name: 'pod-ipam (node)', cmd: [process.execPath, path.join(root, 'dist/pod-ipam.cjs')], type: 'pod-ipam' },
  ...(fs.existsSync(path.join(root, 'dist/pod-ipam')) ? [{ name: 'pod-ipam (exe)', cmd: [path.join(root, 'dist/pod-ipam')], type: 'pod-ipam' }] : []),
  ...(fs.existsSync(HOST_LOCAL) ? [{ name: 'host-local', cmd: [HOST_LOCAL], type: 'host-local' }] : []),
];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-burst-'));

function call(contender, command, conf, containerId) {
  const [cmd, ...args] = contender.cmd;
  const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/var/run/netns/bench', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' };
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${contender.name} ${command} ${containerId} exited ${code}: ${stdout} ${stderr}`))));
    child.stdin.end(JSON.stringify(conf));
  });
}

async function burst(contender, round) {
  const dataDir = path.join(work, `${contender.name.replace(/\W/g, '')}-${round}`);
  // A generous lock timeout: the burst measures throughput, not the timeout.
  const conf = { cniVersion: '1.0.0', name: 'burst', ipam: { type: contender.type, dataDir, ranges: [[{ subnet: '10.77.0.0/24' }]], lockTimeoutSeconds: 120 } };
  const ids = Array.from({ length: pods }, (_, i) => `burst-${round}-${i}`);
  let t = process.hrtime.bigint();
  const results = await Promise.all(ids.map((id) => call(contender, 'ADD', conf, id)));
  const addMs = Number(process.hrtime.bigint() - t) / 1e6;
  const addresses = results.map((r) => JSON.parse(r).ips[0].address);
  const distinct = new Set(addresses).size;
  if (distinct !== pods) throw new Error(`${contender.name}: ${pods} ADDs gave ${distinct} distinct addresses`);
  t = process.hrtime.bigint();
  await Promise.all(ids.map((id) => call(contender, 'DEL', conf, id)));
  const delMs = Number(process.hrtime.bigint() - t) / 1e6;
  // Everything released: pod-ipam's ips/ is empty; host-local keeps only its lock and cursor files.
  const dir = path.join(dataDir, 'burst');
  const left = contender.type === 'host-local' ? fs.readdirSync(dir).filter((n) => /^\d/.test(n)) : fs.readdirSync(path.join(dir, 'ips'));
  if (left.length !== 0) throw new Error(`${contender.name}: ${left.length} addresses still reserved after DEL`);
  return { addMs, delMs, distinct };
}

// Start every executable as an installed plugin does, read back from disk rather than
// just written by the build (see bench-scaling.mjs: the page cache changes its start-up).
for (const c of contenders) spawnSync('dd', [`if=${c.cmd[0]}`, 'iflag=nocache', 'count=0', 'status=none']);
const samples = new Map(contenders.map((c) => [c.name, []]));
const loadBefore = os.loadavg();
for (let r = 0; r < rounds; r++) {
  // Rotate the order so that no contender always runs first (or after the same neighbour).
  for (let k = 0; k < contenders.length; k++) {
    const c = contenders[(r + k) % contenders.length];
    samples.get(c.name).push(await burst(c, r));
    console.error(`burst: round ${r + 1}/${rounds} ${c.name} done`);
  }
}
fs.rmSync(work, { recursive: true, force: true });
const loadAfter = os.loadavg();

const hl = samples.get('host-local');
console.log(`# burst: ${pods} concurrent ADDs into a /24, then ${pods} concurrent DELs; ${rounds} rounds, ${os.cpus().length} cores, ${new Date().toISOString()}, load average ${loadBefore[0].toFixed(1)} before, ${loadAfter[0].toFixed(1)} after\n`);
console.log(`| contender | ${pods} ADDs, median ms | ${pods} DELs, median ms | distinct addresses | ADD vs host-local | DEL vs host-local |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const c of contenders) {
  const s = samples.get(c.name);
  const add = median(s.map((x) => x.addMs));
  const del = median(s.map((x) => x.delMs));
  const vs = (mine, theirs) => (hl ? `${(mine / median(hl.map(theirs))).toFixed(2)}x` : '-');
  console.log(`| ${c.name} | ${add.toFixed(0)} | ${del.toFixed(0)} | ${pods} of ${pods}, every round | ${vs(add, (x) => x.addMs)} | ${vs(del, (x) => x.delMs)} |`);
}
