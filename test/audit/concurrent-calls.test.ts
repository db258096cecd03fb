/**
 * The audit log under concurrent calls of the built plugin, spawned as a runtime spawns
 * it: every call one whole line, rotation that loses no line and keeps every file within
 * the bound (give or take one line), a log that cannot be written never failing a call.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseLine } from '../../src/audit/line';
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDataDir('pod-ipam-audit-proc-')));
afterEach(() => cleanup());

/**
 * A hang guard for one of 100 processes started at once, not a timing: on a loaded 2-core
 * machine the last of them may take well over the helper's default 30 s (seen: failures at
 * load average ~105). The same limits as test/process/concurrency.test.ts.
 */
const BURST_CALL_LIMIT_MS = 90_000;
const BURST_TEST_LIMIT_MS = 180_000;

const linesOf = (file: string) => fs.readFileSync(file, 'utf8').split('\n');
const pod = (i: number) => `K8S_POD_NAMESPACE=team-${i % 7};K8S_POD_NAME=web-${i};K8S_POD_UID=uid-${i}`;

test('100 concurrent ADDs: 100 whole lines, each naming its pod and the address it got', async () => {
  const dataDir = path.join(dir, 'data');
  const outs = await Promise.all(Array.from({ length: 100 }, (_, i) => runPlugin({ command: 'ADD', containerId: `c${i}`, cniArgs: pod(i), stdin: nodeLocalConf(dataDir), timeoutMs: BURST_CALL_LIMIT_MS })));
  for (const o of outs) expect(o.code).toBe(0);
  const raw = linesOf(path.join(dataDir, 'pod-ipam.log'));
  expect(raw.pop()).toBe(''); // the file ends with a newline
  expect(raw).toHaveLength(100);
  const records = raw.map((l) => parseLine(l));
  expect(records.every((r) => r !== undefined)).toBe(true);
  const byContainer = new Map(records.map((r) => [r!.containerId, r!]));
  expect(byContainer.size).toBe(100);
  outs.forEach((o, i) => {
    const r = byContainer.get(`c${i}`)!;
    expect(r).toMatchObject({ verb: 'ADD', level: 'info', network: 'testnet', mode: 'node-local', ifname: 'eth0', pod: { namespace: `team-${i % 7}`, name: `web-${i}`, uid: `uid-${i}` } });
    expect(r.addresses).toEqual([o.json.ips[0].address]);
    expect(r.error).toBeUndefined();
  });
  expect(fs.existsSync(path.join(dataDir, 'pod-ipam.log.lock'))).toBe(false);
}, BURST_TEST_LIMIT_MS);

test('rotation under 100 concurrent writers: no line lost, none torn, no file past the bound by more than a line', async () => {
  const dataDir = path.join(dir, 'data');
  const maxBytes = 2048;
  // DEL on a network with no state touches no lock of the store: the calls reach the log together.
  const conf = nodeLocalConf(dataDir, {}, { logMaxBytes: maxBytes, logMaxFiles: 20 });
  const outs = await Promise.all(Array.from({ length: 100 }, (_, i) => runPlugin({ command: 'DEL', containerId: `del-${i}`, cniArgs: pod(i), stdin: conf, timeoutMs: BURST_CALL_LIMIT_MS })));
  for (const o of outs) expect(o.code).toBe(0);
  const log = path.join(dataDir, 'pod-ipam.log');
  const files = fs.readdirSync(dataDir).filter((f) => f.startsWith('pod-ipam.log')).map((f) => path.join(dataDir, f));
  expect(files).toContain(log);
  expect(files.filter((f) => /\.log\.\d+$/.test(f)).length).toBeGreaterThanOrEqual(5); // it did rotate, several times
  expect(files.filter((f) => f !== log && !/\.log\.\d+$/.test(f))).toEqual([]); // no lock or note left behind
  const all: string[] = [];
  let longest = 0;
  for (const f of files) {
    const raw = linesOf(f);
    expect(raw.pop()).toBe('');
    for (const l of raw) longest = Math.max(longest, Buffer.byteLength(l) + 1);
    all.push(...raw);
  }
  const bypassed = all.filter((l) => parseLine(l)?.logLockBypassed);
  const oversized = files.map((f) => ({ file: path.basename(f), size: fs.statSync(f).size })).filter((f) => f.size > maxBytes + longest);
  expect({ oversized, bypassed }).toEqual({ oversized: [], bypassed: [] });
  expect(all.filter((l) => parseLine(l)?.skipped)).toEqual([]); // no line failed to be written
  const ids = all.map((l) => parseLine(l)?.containerId);
  expect(ids.every((id) => id !== undefined)).toBe(true);
  expect(new Set(ids).size).toBe(100);
  expect(ids).toHaveLength(100);
}, BURST_TEST_LIMIT_MS);

test('an unwritable log never fails a call, and the next line that can be written says how many were skipped', async () => {
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'blocked', 'audit.log');
  fs.mkdirSync(logFile, { recursive: true }); // a directory where the file should be: EISDIR
  const conf = nodeLocalConf(dataDir, {}, { logFile });
  const first = await runPlugin({ command: 'ADD', containerId: 'a', stdin: conf });
  expect(first.code).toBe(0);
  expect(first.json.ips[0].address).toBe('10.1.2.2/24');
  expect((await runPlugin({ command: 'DEL', containerId: 'a', stdin: conf })).code).toBe(0);
  fs.rmdirSync(logFile);
  expect((await runPlugin({ command: 'ADD', containerId: 'b', stdin: conf })).code).toBe(0);
  const [line] = linesOf(logFile).map((l) => parseLine(l));
  expect(line).toMatchObject({ containerId: 'b', skipped: { count: 2, error: 'EISDIR' } });
});

const canMount = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// Needs root for a read-only mount (root ignores file modes); skipped otherwise.
(canMount ? test : test.skip)('a read-only log location: ADD, CHECK and DEL succeed as if logging were off', async () => {
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', ro]);
  try {
    const conf = nodeLocalConf(path.join(dir, 'data'), {}, { logFile: path.join(ro, 'pod-ipam.log') });
    const added = await runPlugin({ command: 'ADD', containerId: 'a', stdin: conf });
    expect(added.code).toBe(0);
    expect(added.json.ips[0].address).toBe('10.1.2.2/24');
    expect((await runPlugin({ command: 'CHECK', containerId: 'a', stdin: { ...conf, prevResult: added.json } })).code).toBe(0);
    expect((await runPlugin({ command: 'DEL', containerId: 'a', stdin: conf })).code).toBe(0);
    expect(fs.readdirSync(ro)).toEqual([]);
  } finally {
    execFileSync('umount', [ro]);
  }
});

test('a data directory that does not exist yet: created 0700, the log 0600 inside it', async () => {
  const dataDir = path.join(dir, 'new', 'data');
  expect((await runPlugin({ command: 'DEL', containerId: 'x', stdin: nodeLocalConf(dataDir) })).code).toBe(0);
  expect(fs.statSync(path.join(dir, 'new')).mode & 0o777).toBe(0o700);
  expect(fs.statSync(dataDir).mode & 0o777).toBe(0o700);
  expect(fs.statSync(path.join(dataDir, 'pod-ipam.log')).mode & 0o777).toBe(0o600);
  expect(parseLine(linesOf(path.join(dataDir, 'pod-ipam.log'))[0]!)).toMatchObject({ verb: 'DEL', containerId: 'x' });
});
