/**
 * What only the verbs know reaches the audit line, through the executable: the addresses
 * an ADD newly reserved, those DEL and GC released, and the split of the call's time into
 * waiting for the network's lock and holding it.
 */
import * as path from 'node:path';
import { readLog } from '../../src/audit/reader';
import type { AuditFields } from '../../src/audit/fields';
import { holdLock, lockWaiters, until } from '../helpers/lock-holders';
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir('pod-ipam-audit-notes-')));
afterEach(() => cleanup());

const lines = (): AuditFields[] => readLog(path.join(dataDir, 'pod-ipam.log')).records;
const last = (): AuditFields => lines().at(-1)!;
const plain = (cidr: string): string => cidr.split('/')[0]!;

async function call(command: 'ADD' | 'DEL' | 'GC', containerId: string, conf: Record<string, unknown>): Promise<void> {
  const out = await runPlugin({ command, containerId, stdin: conf });
  expect(out.stderr).toBe('');
  expect(out.code).toBe(0);
}

test('ADD notes what it reserved (a repeat reserves nothing) and DEL what it released, each with the lock split', async () => {
  const conf = nodeLocalConf(dataDir);
  await call('ADD', 'c1', conf);
  const added = last();
  expect(added.addresses).toHaveLength(1);
  expect(added.reserved).toEqual([plain(added.addresses![0]!)]);
  expect(added.lockWaitMs).toEqual(expect.any(Number));
  expect(added.workMs).toEqual(expect.any(Number));

  await call('ADD', 'c1', conf);
  expect(last().reserved).toBeUndefined();
  expect(last().addresses).toEqual(added.addresses);

  await call('DEL', 'c1', conf);
  expect(last()).toMatchObject({ verb: 'DEL', released: added.reserved });
  expect(last().lockWaitMs).toEqual(expect.any(Number));
  // A DEL of nothing takes no lock and releases nothing.
  await call('DEL', 'c1', conf);
  expect(last().released).toBeUndefined();
  expect(last().lockWaitMs).toBeUndefined();
});

test('GC notes every address it released', async () => {
  const conf = nodeLocalConf(dataDir);
  for (const id of ['keep', 'gone-1', 'gone-2']) await call('ADD', id, conf);
  const byContainer = new Map(lines().map((l) => [l.containerId, plain(l.addresses![0]!)]));
  await call('GC', 'gc', { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] });
  expect([...(last().released ?? [])].sort()).toEqual([byContainer.get('gone-1'), byContainer.get('gone-2')].sort());
});

test('a call that queued behind a holder of the network lock says it waited', async () => {
  const conf = nodeLocalConf(dataDir);
  await call('ADD', 'first', conf);
  const lockFile = path.join(dataDir, String(conf.name), 'lock');
  const holder = await holdLock(lockFile);
  const waiting = runPlugin({ command: 'ADD', containerId: 'second', stdin: conf });
  await until(() => lockWaiters(lockFile) === 1);
  await holder.release();
  expect((await waiting).code).toBe(0);
  expect(last().containerId).toBe('second');
  expect(last().lockWaitMs).toBeGreaterThan(0);
});
