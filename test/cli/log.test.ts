/**
 * `pod-ipam log` run as an operator runs it, over a log written by real calls of the
 * built plugin (and, for --since, a log file with explicit times: no clock is waited on).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeLocalConf, pluginCommand, runPlugin, tempDataDir } from '../helpers/run-plugin';
import { until } from '../helpers/until';
import { cli, expectUsageError } from './cli';

let dir: string;
let cleanup: () => void;
let dataDir: string;
const pods = () => nodeLocalConf(dataDir, { name: 'pods' }, { ranges: [[{ subnet: '10.1.2.0/30' }]] });
const other = () => nodeLocalConf(dataDir, { name: 'other' }, { ranges: [[{ subnet: '10.5.0.0/24' }], [{ subnet: 'fd00::/120' }]] });
const podArgs = (ns: string, name: string) => `K8S_POD_NAMESPACE=${ns};K8S_POD_NAME=${name};K8S_POD_UID=uid-${name}`;

beforeAll(async () => {
  ({ dir, cleanup } = tempDataDir('pod-ipam-cli-log-'));
  dataDir = path.join(dir, 'data');
  const calls = [
    { command: 'ADD', containerId: 'c-web1', cniArgs: podArgs('default', 'web-1'), stdin: pods() }, // 10.1.2.2
    { command: 'ADD', containerId: 'c-web2', cniArgs: podArgs('default', 'web-2'), stdin: pods() }, // code 100
    { command: 'ADD', containerId: 'other-abc123', cniArgs: podArgs('kube-system', 'dns'), stdin: other() }, // 10.5.0.2, fd00::2
    { command: 'ADD', containerId: 'pinned', cniArgs: `${podArgs('default', 'pinned')};IP=10.1.2.77`, stdin: other() }, // code 102
    { command: 'DEL', containerId: 'c-web1', cniArgs: podArgs('default', 'web-1'), stdin: pods() },
  ] as const;
  for (const c of calls) await runPlugin(c);
});
afterAll(() => cleanup());

/** The containers of the table rows (5th column), in order. */
const containers = (out: string) => out.trim().split('\n').slice(1).map((l) => l.split(/\s{2,}/)[4]);
const log = (...args: string[]) => cli(['log', '--data-dir', dataDir, ...args]);

test('no filter: every call, oldest first, as a table', async () => {
  const r = await log();
  expect(r.code).toBe(0);
  expect(r.out.split('\n')[0]).toMatch(/^TIME\s+VERB\s+NETWORK\s+POD\s+CONTAINER\s+IF\s+ADDRESSES\s+RESULT$/);
  expect(containers(r.out)).toEqual(['c-web1', 'c-web2', 'other-abc123', 'pinned', 'c-web1']);
  expect(r.out).toMatch(/ADD\s+pods\s+default\/web-1\s+c-web1\s+eth0\s+10\.1\.2\.2\/30\s+ok/);
  expect(r.out).toMatch(/default\/web-2 .* error 100: no free address left in 10\.1\.2\.0\/30/);
});

test.each([
  [['--pod', 'default/web-2'], ['c-web2']],
  [['--pod', 'default/web-1'], ['c-web1', 'c-web1']],
  [['--pod', 'dns'], ['other-abc123']],
  [['--pod', 'other-ns/dns'], []],
  [['--container', 'c-web'], ['c-web1', 'c-web2', 'c-web1']],
  [['--container', 'other-abc'], ['other-abc123']],
  [['--address', 'fd00::0:2'], ['other-abc123']],
  [['--address', '10.1.2.2/30'], ['c-web1', 'c-web1']], // its ADD, and the DEL that released it
  [['--address', '10.1.2.77'], ['pinned']],
  [['--network', 'other'], ['other-abc123', 'pinned']],
  [['--errors'], ['c-web2', 'pinned']],
  [['--verb', 'DEL'], ['c-web1']],
  [['--network', 'pods', '--errors'], ['c-web2']],
  [['--lines', '2'], ['pinned', 'c-web1']],
])('log %p', async (args, expected) => {
  const r = await log(...args);
  expect(r.code).toBe(0);
  if (expected.length === 0) expect(r.out).toMatch(/^no call in .*pod-ipam\.log matches\n$/);
  else expect(containers(r.out)).toEqual(expected);
});

test('--json: one JSON object per line, every field', async () => {
  const r = await log('--json', '--errors');
  const records = r.out.trim().split('\n').map((l) => JSON.parse(l));
  expect(records).toMatchObject([
    { verb: 'ADD', network: 'pods', containerId: 'c-web2', pod: { namespace: 'default', name: 'web-2', uid: 'uid-web-2' }, exhausted: { set: 0 }, error: { code: 100 } },
    { verb: 'ADD', network: 'other', containerId: 'pinned', requested: ['10.1.2.77'], refused: { address: '10.1.2.77' }, error: { code: 102 } },
  ]);
});

test('--since: a duration back from now, or a time', async () => {
  const file = path.join(dir, 'since.log');
  const at = (ms: number, id: string) => `${JSON.stringify({ time: new Date(ms).toISOString(), level: 'info', verb: 'ADD', network: 'n', containerId: id })}\n`;
  const now = Date.now();
  fs.writeFileSync(file, at(Date.UTC(2020, 0, 1), 'old') + at(now - 2 * 3600e3, 'two-hours') + at(now - 60e3, 'a-minute'));
  expect(containers((await cli(['log', '--file', file, '--since', '1h'])).out)).toEqual(['a-minute']);
  expect(containers((await cli(['log', '--file', file, '--since', '3h'])).out)).toEqual(['two-hours', 'a-minute']);
  expect(containers((await cli(['log', '--file', file, '--since', '2021-06-01'])).out)).toEqual(['two-hours', 'a-minute']);
  expect(containers((await cli(['log', '--file', file, '--since', '2019-12-31T23:00:00Z'])).out)).toEqual(['old', 'two-hours', 'a-minute']);
});

test('--config finds a custom logFile; rotated files are read too', async () => {
  const logFile = path.join(dir, 'custom', 'audit.log');
  const conflist = path.join(dir, 'net.conflist');
  fs.writeFileSync(conflist, JSON.stringify({ cniVersion: '1.1.0', name: 'rot', plugins: [{ type: 'bridge', ipam: { type: 'pod-ipam', dataDir, logFile, logMaxBytes: 1024, ranges: [[{ subnet: '10.7.0.0/24' }]] } }] }));
  const conf = { cniVersion: '1.1.0', name: 'rot', type: 'bridge', ipam: { type: 'pod-ipam', dataDir, logFile, logMaxBytes: 1024, ranges: [[{ subnet: '10.7.0.0/24' }]] } };
  for (let i = 0; i < 8; i++) expect((await runPlugin({ command: 'DEL', containerId: `rot-${i}`, stdin: conf })).code).toBe(0);
  expect(fs.existsSync(`${logFile}.1`)).toBe(true);
  const r = await cli(['log', '--config', conflist, '--lines', '0']);
  const shown = containers(r.out);
  expect(shown[shown.length - 1]).toBe('rot-7');
  expect(shown.length).toBeGreaterThan(fs.readFileSync(logFile, 'utf8').trim().split('\n').length); // not just the current file
});

test('bad arguments exit 2; no log exits 1 and says where it looked', async () => {
  expectUsageError(await log('--since', 'yesterday'), /--since.*not a duration/);
  expectUsageError(await log('--address', '10.1.2'), /--address.*not an IP address/);
  expectUsageError(await log('--lines', '-3'), /--lines/);
  const none = await cli(['log', '--data-dir', path.join(dir, 'nothing-here')]);
  expect(none.code).toBe(1);
  expect(none.stderr).toMatch(/no audit log at .*nothing-here\/pod-ipam\.log/);
});

test('--follow prints calls as they are logged, across rotations', async () => {
  const logFile = path.join(dir, 'follow', 'audit.log');
  // Twenty rotated files kept: a follower starved by a loaded machine may see several
  // rotations in one poll, but no file is dropped before it could read it.
  const conf = nodeLocalConf(dataDir, { name: 'follow' }, { logFile, logMaxBytes: 1024, logMaxFiles: 20 });
  expect((await runPlugin({ command: 'DEL', containerId: 'before', stdin: conf })).code).toBe(0);
  const [cmd, ...args] = pluginCommand();
  const child = spawn(cmd!, [...args, 'log', '--file', logFile, '--follow', '--errors'], { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await until(() => out.startsWith('TIME')); // the header: it has read the log and follows it now
    // 12 failing calls (bad IP in CNI_ARGS: code 4) and 12 DELs, interleaved: several rotations of a 1 KiB log.
    for (let i = 0; i < 12; i++) {
      await runPlugin({ command: 'ADD', containerId: `bad-${i}`, cniArgs: 'IP=banana', stdin: conf });
      await runPlugin({ command: 'DEL', containerId: `ok-${i}`, stdin: conf });
    }
    expect(fs.existsSync(`${logFile}.1`)).toBe(true);
    await until(() => out.includes('bad-11'));
    const shown = out.trim().split('\n').slice(1).map((l) => l.split(/\s{2,}/)[4]);
    expect(shown).toEqual(Array.from({ length: 12 }, (_, i) => `bad-${i}`));
  } finally {
    child.kill('SIGTERM');
  }
});
