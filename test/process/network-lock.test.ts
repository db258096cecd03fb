/**
 * The network lock is the kernel's flock(2): held by the executable as a runtime runs it,
 * and attacked as an adversary would: a holder that never lets go, a holder stalled in
 * the middle of its critical section for longer than any timeout, holders that die.
 * Invariants are judged by what callers were told and what the state says, never by time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';
import type { PluginOutcome } from '../helpers/run-plugin';
import { holdLock, lockHeld, lockWaiters, runStalled, straceAvailable, until } from '../helpers/lock-holders';
import { holders, snapshotFiles } from '../helpers/state-files';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

const net = () => path.join(dataDir, 'testnet');
const lockFile = () => path.join(net(), 'lock');
const conf = (lockTimeoutSeconds = 60) => nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.9.0.0/16' }]], lockTimeoutSeconds });
const add = (id: string, timeout = 60) => runPlugin({ command: 'ADD', containerId: id, stdin: conf(timeout), timeoutMs: 120000 });
const del = (id: string, timeout = 60) => runPlugin({ command: 'DEL', containerId: id, stdin: conf(timeout), timeoutMs: 120000 });
const addressOf = (o: PluginOutcome): string => (o.json.ips[0].address as string).split('/')[0]!;

/** Every live attachment's address is its own: no address file names two, none names a stranger. */
function expectConsistent(told: Map<string, string>): void {
  const files = holders(net());
  for (const [id, address] of told) expect(files.get(address)).toBe(`${id}/eth0`);
  expect(new Set(told.values()).size).toBe(told.size);
}

test('a held lock makes others wait, and a wait past lockTimeoutSeconds is code 11 with the state unchanged', async () => {
  expect((await add('first')).code).toBe(0);
  const holder = await holdLock(lockFile());
  try {
    const before = snapshotFiles(dataDir);
    const refused = await add('second', 0.3);
    expect(refused.code).toBe(1);
    expect(refused.json.code).toBe(11);
    expect(refused.json.msg).toContain(lockFile());
    expect((await del('first', 0.3)).json.code).toBe(11);
    expect(snapshotFiles(dataDir)).toEqual(before);
    // DEL of an attachment with no index, and CHECK, take no lock at all.
    expect((await del('never-added', 0.3)).code).toBe(0);
    const first = (await add('first', 0.3)).code; // a repeated ADD still needs the lock
    expect(first).toBe(1);
  } finally {
    await holder.release();
  }
  expect((await add('second', 0.3)).code).toBe(0);
});

test('a waiter is woken by the kernel when the holder lets go', async () => {
  expect((await add('first')).code).toBe(0);
  const holder = await holdLock(lockFile());
  const waiting = add('second', 120);
  await until(() => lockWaiters(lockFile()) === 1);
  await holder.release();
  const done = await waiting;
  expect(done.code).toBe(0);
  expect(addressOf(done)).toBe('10.9.0.3');
});

test('a holder killed with SIGKILL leaves nothing to wait for', async () => {
  expect((await add('first')).code).toBe(0);
  const holder = await holdLock(lockFile());
  const waiting = add('second', 120);
  await until(() => lockWaiters(lockFile()) === 1);
  holder.child.kill('SIGKILL');
  expect((await waiting).code).toBe(0);
});

test('a lock file removed while a call waits on it: the waiter starts over on the new file and never runs beside its holder', async () => {
  expect((await add('first')).code).toBe(0);
  const oldHolder = await holdLock(lockFile());
  let finished = false;
  const waiting = add('second', 120).then((o) => ((finished = true), o));
  await until(() => lockWaiters(lockFile()) === 1);
  fs.unlinkSync(lockFile());
  const newHolder = await holdLock(lockFile()); // a new file, locked by someone else
  try {
    await oldHolder.release(); // the waiter gets the old, unlinked file's lock: it excludes nobody
    await until(() => finished || lockWaiters(lockFile()) === 1);
    expect(finished).toBe(false);
  } finally {
    await newHolder.release();
  }
  const done = await waiting;
  expect(done.code).toBe(0);
  expectConsistent(new Map([['second', addressOf(done)]]));
});

test('lock files left by dead processes or dated in the future, then 100 ADDs at once, three times: all succeed, all distinct', async () => {
  const told = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    fs.mkdirSync(net(), { recursive: true, mode: 0o700 });
    if (round === 0) {
      const holder = await holdLock(lockFile());
      holder.child.kill('SIGKILL'); // died holding it
      // proper-lockfile's lock directory, as an older pod-ipam left it: ignored now.
      fs.mkdirSync(path.join(net(), '.lock'));
    }
    if (round === 1) fs.utimesSync(lockFile(), new Date(Date.now() + 86400000), new Date(Date.now() + 86400000));
    if (round === 2) fs.rmSync(lockFile()); // as after a reboot that cleaned it: recreated
    const outcomes = await Promise.all(Array.from({ length: 100 }, (_, i) => add(`r${round}-${i}`)));
    expect(outcomes.map((o) => o.json?.code ?? o.code)).toEqual(Array(100).fill(0));
    outcomes.forEach((o, i) => told.set(`r${round}-${i}`, addressOf(o)));
    expect(told.size).toBe(100 * (round + 1));
    expectConsistent(told);
  }
  expect(fs.statSync(lockFile()).mode & 0o777).toBe(0o600);
}, 300000);

const withStrace = straceAvailable() ? describe : describe.skip;

withStrace('a holder stalled inside its critical section for longer than any timeout (strace delay injection)', () => {
  const STALL_MS = 6000; // longer than the old lease's 4 s stale limit

  test('DEL stalled just before it unlinks the address: others wait or get 11; no address is ever held twice', async () => {
    const old = await add('old');
    expect(old.code).toBe(0);
    const stalled = runStalled({ command: 'DEL', containerId: 'old', stdin: conf() }, 'unlink', STALL_MS);
    await until(() => fs.existsSync(lockFile()) && lockHeld(lockFile()));
    const [again, fresh] = await Promise.all([del('old', 1), add('new', 1)]);
    for (const o of [again, fresh]) expect(o.code === 0 || o.json.code === 11).toBe(true);
    expect((await stalled).code).toBe(0);
    const told = new Map<string, string>();
    const newer = fresh.code === 0 ? fresh : await add('new');
    told.set('new', addressOf(newer));
    const other = await add('other');
    told.set('other', addressOf(other));
    expectConsistent(told);
    expect([...holders(net()).values()]).not.toContain('old/eth0');
  }, 120000);

  test('GC stalled at its first release: ADD and DEL meanwhile wait or get 11; the kept attachment and new ones stay distinct', async () => {
    const told = new Map<string, string>();
    for (const id of ['a', 'b', 'keep']) told.set(id, addressOf(await add(id)));
    const gcConf = { ...conf(), 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] };
    const stalled = runStalled({ command: 'GC', stdin: gcConf }, 'unlink', STALL_MS);
    await until(() => lockHeld(lockFile()));
    const [fresh, gone] = await Promise.all([add('d', 1), del('a', 1)]);
    for (const o of [fresh, gone]) expect(o.code === 0 || o.json.code === 11).toBe(true);
    expect((await stalled).code).toBe(0);
    told.delete('a');
    told.delete('b');
    told.set('d', addressOf(fresh.code === 0 ? fresh : await add('d')));
    expectConsistent(told);
    expect(holders(net()).size).toBe(2);
  }, 120000);

  test('ADD stalled at its claim: a concurrent ADD waits or gets 11, and then gets another address', async () => {
    const stalled = runStalled({ command: 'ADD', containerId: 'x', stdin: conf() }, 'link', STALL_MS);
    await until(() => fs.existsSync(lockFile()) && lockHeld(lockFile()));
    const rival = await add('y', 1);
    expect(rival.code === 0 || rival.json.code === 11).toBe(true);
    const x = await stalled;
    expect(x.code).toBe(0);
    const y = rival.code === 0 ? rival : await add('y');
    expectConsistent(new Map([['x', addressOf(x)], ['y', addressOf(y)]]));
  }, 120000);
});
