#!/usr/bin/env node
// Chaos: ADD and DEL processes on one network, SIGKILLed at random moments, for as long
// as asked; after every batch the invariants are checked:
//   - the state loads: every address file and attachment index parses;
//   - no address is held by two attachments: no two containers that were told they got
//     an address were told the same one;
//   - every attachment whose ADD reported success (and was not DELeted since) still
//     holds its address: the address file names it, and CHECK agrees;
//   - a holder killed while it holds the lock leaves nothing behind: the kernel releases
//     flock(2) with the process, so every call of the next batch succeeds (no call is
//     ever refused with code 11; the lock timeout is far above any honest wait);
// and at the end, DEL of every container a runtime would still know empties the network.
// One batch in four kills every call in flight the moment /proc/locks shows one of them
// holding the network's lock, so many processes really meet a dead holder's lock.
//
//   node scripts/chaos.mjs [--seconds 60] [--parallel 12] [--containers 36] [--min-behind-dead-holder 0]
//
// --min-behind-dead-holder N keeps going past --seconds (up to 200 batches, each of them killing the lock's holder) until N calls
// have run behind a holder killed with the lock: on a loaded machine a short run may
// otherwise see no holder caught in time, and prove nothing about dead holders.
//
// Exit 0 when every invariant held; 1 with the violations listed otherwise. Build first
// (npm run build): it runs the single executable dist/pod-ipam.
// test/reliability/chaos.test.ts runs it for a few seconds in CI.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { option } from './lib/bench-util.mjs';

const seconds = Number(option('seconds', '60'));
const parallel = Number(option('parallel', '12'));
const containers = Number(option('containers', '36'));
const minBehindDeadHolder = Number(option('min-behind-dead-holder', '0'));
const MAX_BATCHES_PAST_DEADLINE = 200;
let batchesPastDeadline = 0;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cmd = [path.join(root, 'dist/pod-ipam')];
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-chaos-'));
const conf = {
  cniVersion: '1.1.0',
  name: 'chaos',
  // A /26: 61 addresses for `containers` pods, so round-robin wraps and reuses addresses.
  ipam: { type: 'pod-ipam', dataDir, ranges: [[{ subnet: '10.1.9.0/26' }]], lockTimeoutSeconds: 120 },
};
const netDir = path.join(dataDir, 'chaos');
const violations = [];
const violate = (m) => {
  violations.push(m);
  console.error(`chaos: VIOLATION ${m}`);
};

/** The calls in flight: pid -> kill function. */
const running = new Map();

/** Pids holding (not waiting for) the network's flock(2) lock, from /proc/locks. */
function lockHolders() {
  let ino;
  try {
    ino = fs.statSync(path.join(netDir, 'lock')).ino;
  } catch {
    return [];
  }
  return fs
    .readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .filter((l) => l.includes('FLOCK') && !l.includes('->') && l.split(/\s+/).some((f) => f.endsWith(`:${ino}`)))
    .map((l) => Number(l.trim().split(/\s+/)[4]));
}

function call(command, containerId, { killAfterMs, stdin = conf } = {}) {
  return new Promise((resolve) => {
    const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/var/run/netns/chaos', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
    const started = Date.now();
    const child = spawn(cmd[0], cmd.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const kill = () => (killed = child.kill('SIGKILL') || killed);
    running.set(child.pid, kill);
    const timer = killAfterMs === undefined ? undefined : setTimeout(kill, killAfterMs);
    child.on('close', (code, signal) => {
      running.delete(child.pid);
      clearTimeout(timer);
      resolve({ command, containerId, killed: killed && signal === 'SIGKILL', code, stdout, stderr, ms: Date.now() - started });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(stdin));
  });
}

/** Reads the whole state; a file that does not parse is a violation ("state loads"). */
function readState() {
  const owners = new Map();
  for (const sub of ['ips', 'attachments']) {
    const dir = path.join(netDir, sub);
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir)) {
      if (name.startsWith('.tmp-')) continue; // a killed writer's temp file, swept later
      let record;
      try {
        record = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
      } catch (e) {
        violate(`${sub}/${name} does not parse: ${e.message}`);
        continue;
      }
      if (typeof record.containerId !== 'string' || typeof record.ifname !== 'string') violate(`${sub}/${name} lacks its owner`);
      if (sub === 'ips') owners.set(name, record.containerId);
    }
  }
  return owners;
}

/** What a runtime believes: container -> address it was told; plus containers in doubt. */
const believed = new Map();
const inDoubt = new Set();
const ids = Array.from({ length: containers }, (_, i) => `chaos-${i}`);
let calls = 0;
let kills = 0;
let batches = 0;
let holdersKilled = 0;
let batchesBehindDeadHolder = 0;
let callsBehindDeadHolder = 0;
let lastBatchKilledHolder = false;
const deadline = Date.now() + seconds * 1000;

const wantMore = () => callsBehindDeadHolder < minBehindDeadHolder && batchesPastDeadline < MAX_BATCHES_PAST_DEADLINE;
while (Date.now() < deadline || wantMore()) {
  batches++;
  const behindDeadHolder = lastBatchKilledHolder;
  if (behindDeadHolder) batchesBehindDeadHolder++;
  lastBatchKilledHolder = false;
  // Distinct containers per batch: a runtime never runs two calls for one container at once.
  const batch = [...ids].sort(() => Math.random() - 0.5).slice(0, parallel);
  // One batch in four, kill every call in flight the moment one of them holds the lock:
  // the holder dies holding it, and the next batch meets a dead holder's lock.
  const pastDeadline = Date.now() >= deadline;
  if (pastDeadline) batchesPastDeadline++;
  const massacre =
    Math.random() < 0.25 || pastDeadline
      ? setInterval(() => {
          if (!lockHolders().some((pid) => running.has(pid))) return;
          if (!lastBatchKilledHolder) holdersKilled++;
          lastBatchKilledHolder = true;
          [...running.values()].forEach((k) => k());
        }, 1)
      : undefined;
  const outcomes = await Promise.all(
    batch.map((id) => {
      // Containers in doubt get the DEL a runtime sends after a failed or lost ADD.
      const command = inDoubt.has(id) || believed.has(id) ? (Math.random() < 0.8 ? 'DEL' : 'ADD') : Math.random() < 0.85 ? 'ADD' : 'DEL';
      const killAfterMs = Math.random() < 0.5 ? Math.floor(Math.random() * 300) : undefined;
      return call(command, id, { killAfterMs });
    }),
  );
  clearInterval(massacre);
  for (const o of outcomes) {
    calls++;
    if (o.killed) {
      kills++;
      believed.delete(o.containerId);
      inDoubt.add(o.containerId);
      continue;
    }
    if (behindDeadHolder) callsBehindDeadHolder++;
    if (o.code !== 0) {
      violate(`${o.command} ${o.containerId} failed (exit ${o.code}): ${o.stdout.trim()} ${o.stderr.trim()}`);
      continue;
    }
    if (/\n\s+at .*:\d+/.test(o.stderr)) violate(`${o.command} ${o.containerId} printed a stack trace: ${o.stderr}`);
    if (o.command === 'ADD') {
      const address = JSON.parse(o.stdout).ips[0].address;
      if (believed.has(o.containerId) && believed.get(o.containerId) !== address) violate(`repeated ADD for ${o.containerId} gave ${address}, first ${believed.get(o.containerId)}`);
      believed.set(o.containerId, address);
    } else {
      believed.delete(o.containerId);
    }
    inDoubt.delete(o.containerId);
  }

  const owners = readState();
  const seen = new Map();
  for (const [id, address] of believed) {
    const ip = address.split('/')[0];
    if (seen.has(ip)) violate(`${ip} was given to both ${seen.get(ip)} and ${id}`);
    seen.set(ip, id);
    if (owners.get(ip) !== id) violate(`${id} was told it holds ${ip}, but the state says ${owners.get(ip) ?? 'nobody'}`);
  }
  if (violations.length > 20) break;
}

// Every success still holds its address according to the plugin itself (CHECK).
for (const [id, address] of believed) {
  const o = await call('CHECK', id, { stdin: { ...conf, prevResult: { cniVersion: '1.1.0', ips: [{ address }] } } });
  if (o.code !== 0) violate(`CHECK ${id} ${address} failed: ${o.stdout.trim()}`);
}
// The state loads for the plugin (STATUS reads every reservation).
const status = await call('STATUS', 'status');
if (status.code !== 0) violate(`STATUS failed: ${status.stdout.trim()}`);
// No leak: DEL of every container (a runtime DELs what it knows or doubts) empties it.
for (const id of ids) {
  const o = await call('DEL', id);
  if (o.code !== 0) violate(`final DEL ${id} failed: ${o.stdout.trim()}`);
}
const left = [...readState().keys()];
if (left.length) violate(`addresses left after DEL of every container: ${left.join(', ')}`);

console.log(
  JSON.stringify({ seconds, parallel, batches, calls, kills, holdersKilled, batchesBehindDeadHolder, callsBehindDeadHolder, violations: violations.length, ok: violations.length === 0 }),
);
fs.rmSync(dataDir, { recursive: true, force: true });
process.exit(violations.length === 0 ? 0 : 1);
