/**
 * A runtime that gives up on a call sends SIGTERM (or SIGINT): the plugin must end at
 * once wherever it is, also while it waits for stdin or for the lock. And inputs that
 * could block forever are refused at once.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cniEnv, EXECUTABLE, nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';
import { holdLock, lockWaiters, until } from '../helpers/lock-holders';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

/** Starts an ADD whose stdin stays open until `end` is called. */
function startAdd(containerId: string) {
  const child = spawn(EXECUTABLE, [], { env: cniEnv({ command: 'ADD', containerId }), stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited };
}

test.each(['SIGTERM', 'SIGINT'] as const)('%s while it waits on stdin ends it', async (signal) => {
  const { child, exited } = startAdd('a');
  child.stdin.write('{"cniVersion": "1.1.0",'); // a runtime that stalls mid-config
  await until(() => fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(' ')[2] === 'S');
  child.kill(signal);
  expect(await exited).toEqual({ code: null, signal });
});

test.each(['SIGTERM', 'SIGINT'] as const)('%s while it waits for the lock ends it; the state stays consistent', async (signal) => {
  const conf = nodeLocalConf(dataDir, {}, { lockTimeoutSeconds: 120 });
  expect((await runPlugin({ command: 'ADD', containerId: 'first', stdin: conf })).code).toBe(0);
  const lock = path.join(dataDir, 'testnet', 'lock');
  const holder = await holdLock(lock);
  try {
    const { child, exited } = startAdd('second');
    child.stdin.end(JSON.stringify(conf));
    await until(() => lockWaiters(lock) === 1);
    child.kill(signal);
    expect(await exited).toEqual({ code: null, signal });
  } finally {
    await holder.release();
  }
  // Killed before its claim: it holds nothing, and DEL of it (as a runtime sends) is clean.
  expect((await runPlugin({ command: 'DEL', containerId: 'second', stdin: conf })).code).toBe(0);
  expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toHaveLength(1);
  expect(fs.readdirSync(path.join(dataDir, 'testnet', 'attachments'))).toEqual(['first:eth0']);
});

test('a resolvConf that is a FIFO or a device is code 7 at once, never a hang', async () => {
  const fifo = path.join(dataDir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  for (const resolvConf of [fifo, '/dev/zero']) {
    const out = await runPlugin({ command: 'ADD', stdin: nodeLocalConf(dataDir, {}, { resolvConf }) });
    expect(out.json).toMatchObject({ code: 7, msg: expect.stringContaining('not a regular file') });
  }
});
