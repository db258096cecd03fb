/**
 * The writer in process, on a real file system: the line format, rotation and its bound,
 * the lock (needed only near the bound; a dead holder broken, a live one waited for a
 * bounded time), a line that
 * cannot be written noted in the next, and a partial line never glued to the next.
 * Clocks and sleeps are injected: nothing here waits for real time.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditLogConfig } from '../../src/audit/config';
import type { AuditFields } from '../../src/audit/fields';
import { AuditCollector } from '../../src/audit/fields';
import { formatLine, MAX_LIST_ENTRIES, parseLine } from '../../src/audit/line';
import { ABANDONED_AFTER_MS, acquireLogLock } from '../../src/audit/log-lock';
import type { LockDeps } from '../../src/audit/log-lock';
import { readLog } from '../../src/audit/reader';
import { appendAuditLine, LOCK_WAIT_MS, LOCK_ZONE_BYTES } from '../../src/audit/writer';
import { tempDataDir } from '../helpers/run-plugin';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDataDir('pod-ipam-audit-')));
afterEach(() => cleanup());

/** A fake clock that advances only when slept on. */
function deps(overrides: Partial<LockDeps> = {}): LockDeps & { slept: number } {
  const d = { now: 1_000_000, slept: 0 };
  return {
    pid: 4242,
    holderState: () => 'alive' as const,
    sleep: (ms: number) => {
      d.now += ms;
      d.slept += ms;
    },
    nowMs: () => d.now,
    get slept() {
      return d.slept;
    },
    ...overrides,
  };
}
const config = (over: Partial<AuditLogConfig> = {}): AuditLogConfig => ({ file: path.join(dir, 'pod-ipam.log'), level: 'info', maxBytes: 10 * 1024 * 1024, maxFiles: 1, ...over });
const fields = (i: number, over: Partial<AuditFields> = {}): AuditFields => ({ time: new Date(Date.UTC(2026, 11, 2, 3, 0, i)).toISOString(), level: 'info', verb: 'ADD', network: 'net', containerId: `c${i}`, ifname: 'eth0', ...over });
const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');

test('one JSON line per call, parsed back as written; newlines inside values stay escaped', () => {
  const cfg = config();
  const f = fields(1, { error: { code: 7, msg: 'ipam.x: bad\nvalue' }, pod: { namespace: 'default', name: 'web-1' } });
  expect(appendAuditLine(cfg, f, deps())).toEqual({ written: true, rotated: false, lock: 'not needed' });
  const written = lines(cfg.file!);
  expect(written).toHaveLength(1);
  expect(parseLine(written[0]!)).toEqual(f);
  expect(fs.statSync(cfg.file!).mode & 0o777).toBe(0o600);
  expect(fs.existsSync(`${cfg.file}.lock`)).toBe(false);
});

test('long address lists are cut with a count of what was left out', () => {
  const released = Array.from({ length: 250 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
  const r = parseLine(formatLine(fields(1, { verb: 'GC', released })))!;
  expect(r.released).toHaveLength(MAX_LIST_ENTRIES);
  expect((r as unknown as { omitted: Record<string, number> }).omitted).toEqual({ released: 150 });
});

test('a missing log directory is created 0700, parents too', () => {
  const cfg = config({ file: path.join(dir, 'a', 'b', 'audit.log') });
  expect(appendAuditLine(cfg, fields(1), deps()).written).toBe(true);
  expect(fs.statSync(path.join(dir, 'a')).mode & 0o777).toBe(0o700);
  expect(fs.statSync(path.join(dir, 'a', 'b')).mode & 0o777).toBe(0o700);
});

test('rotation: no file ever passes maxBytes, the oldest is dropped, the rest are kept in order', () => {
  const cfg = config({ maxBytes: 1024, maxFiles: 3 });
  const n = 60;
  for (let i = 0; i < n; i++) appendAuditLine(cfg, fields(i), deps());
  const files = [cfg.file!, `${cfg.file}.1`, `${cfg.file}.2`, `${cfg.file}.3`];
  for (const f of files) expect(fs.statSync(f).size).toBeLessThanOrEqual(1024);
  expect(fs.existsSync(`${cfg.file}.4`)).toBe(false);
  const ids = readLog(cfg.file!).records.map((r) => Number(r.containerId!.slice(1)));
  // What is kept is a contiguous run ending with the newest line.
  expect(ids[ids.length - 1]).toBe(n - 1);
  expect(ids).toEqual(Array.from({ length: ids.length }, (_, k) => n - ids.length + k));
  expect(ids.length).toBeLessThan(n);
});

test('a line bigger than maxBytes still gets written, alone in a fresh file', () => {
  const cfg = config({ maxBytes: 1024 });
  appendAuditLine(cfg, fields(1), deps());
  const big = fields(2, { error: { code: 7, msg: 'x'.repeat(900) }, requested: Array.from({ length: 30 }, (_, i) => `10.0.0.${i}`) });
  expect(appendAuditLine(cfg, big, deps())).toMatchObject({ written: true, rotated: true });
  expect(lines(cfg.file!)).toHaveLength(1);
  expect(lines(`${cfg.file}.1`)).toHaveLength(1);
});

test('far from the bound no lock is taken, so a held one delays nothing', () => {
  const cfg = config({ maxBytes: LOCK_ZONE_BYTES + 4096 });
  fs.symlinkSync('1:x', `${cfg.file}.lock`); // held by a live process (pid 1)
  const d = deps();
  expect(appendAuditLine(cfg, fields(1), d)).toEqual({ written: true, rotated: false, lock: 'not needed' });
  expect(d.slept).toBe(0);
  // Within LOCK_ZONE_BYTES of the bound, the lock is needed: now it is waited for.
  fs.appendFileSync(cfg.file!, 'x'.repeat(4000) + '\n');
  expect(appendAuditLine(cfg, fields(2), d)).toMatchObject({ written: true, lock: 'bypassed' });
  expect(d.slept).toBeGreaterThanOrEqual(LOCK_WAIT_MS);
});

test('a lock left by a dead writer is broken once seen unchanged for ABANDONED_AFTER_MS', () => {
  const cfg = config({ maxBytes: 4096 });
  fs.symlinkSync('999999:x', `${cfg.file}.lock`);
  const d = deps({ holderState: (pid) => (pid === 999999 ? 'gone' : 'alive') });
  expect(appendAuditLine(cfg, fields(1), d)).toMatchObject({ written: true, lock: 'held' });
  expect(d.slept).toBeGreaterThanOrEqual(ABANDONED_AFTER_MS);
  expect(d.slept).toBeLessThan(ABANDONED_AFTER_MS + 10);
  expect(fs.existsSync(`${cfg.file}.lock`)).toBe(false);
});

test('a gone holder whose link changes meanwhile (it released; the next one holds) is not broken', () => {
  // A holder that released and exited shows as a zombie until reaped: judging by its pid
  // alone, a waiter would move the next holder's link aside.
  const lock = path.join(dir, 'x.lock');
  fs.symlinkSync('999999:a', lock);
  const d = deps({ holderState: (pid) => (pid === 999999 ? 'gone' : 'alive') });
  const sleep = d.sleep;
  const swapped = { ...d, sleep: (ms: number) => {
    sleep(ms);
    if (fs.readlinkSync(lock) === '999999:a' && d.slept >= ABANDONED_AFTER_MS / 2) {
      fs.unlinkSync(lock);
      fs.symlinkSync('1:b', lock); // pid 1: alive
    }
  } };
  expect(acquireLogLock(lock, 1000, swapped)).toEqual({ held: false, error: 'lock busy' });
  expect(fs.readlinkSync(lock)).toBe('1:b');
});

test('a live holder is waited for at most LOCK_WAIT_MS; then the line is appended anyway, whole', () => {
  const cfg = config({ maxBytes: 1024 });
  fs.symlinkSync('1:x', `${cfg.file}.lock`); // pid 1 is alive
  const d = deps();
  expect(appendAuditLine(cfg, fields(1), d)).toEqual({ written: true, rotated: false, lock: 'bypassed' });
  expect(d.slept).toBeGreaterThanOrEqual(LOCK_WAIT_MS);
  expect(d.slept).toBeLessThan(LOCK_WAIT_MS + 10);
  expect(fs.readlinkSync(`${cfg.file}.lock`)).toBe('1:x'); // never taken from a live holder
  expect(lines(cfg.file!)).toHaveLength(1);
});

test('a stopped holder is not waited for, and the line says it was written without the lock', () => {
  const cfg = config({ maxBytes: 4096 });
  fs.symlinkSync('77:x', `${cfg.file}.lock`);
  const d = deps({ holderState: (pid) => (pid === 77 ? 'stopped' : 'alive') });
  expect(appendAuditLine(cfg, fields(1), d)).toMatchObject({ written: true, lock: 'bypassed' });
  expect(d.slept).toBe(0);
  expect(readLog(cfg.file!).records[0]!.logLockBypassed).toBe('lock holder stopped');
  expect(fs.readlinkSync(`${cfg.file}.lock`)).toBe('77:x'); // it may resume: not broken
});

test('something else than our link in place of the lock (a plain file) is moved aside', () => {
  const cfg = config();
  const lock = `${cfg.file}.lock`;
  fs.writeFileSync(lock, 'junk');
  const d = deps();
  const got = acquireLogLock(lock, 1000, d);
  expect(got.held).toBe(true);
  expect(d.slept).toBeLessThan(ABANDONED_AFTER_MS + 10);
  if (got.held) got.release();
  expect(fs.readdirSync(dir)).toEqual([]);
});

test('an unwritable log is skipped, and the next line that can be written says so', () => {
  const cfg = config();
  fs.mkdirSync(cfg.file!); // EISDIR: the log cannot be opened for writing
  const failed = appendAuditLine(cfg, fields(1), deps());
  expect(failed).toEqual({ written: false, error: 'EISDIR' });
  appendAuditLine(cfg, fields(2), deps());
  fs.rmdirSync(cfg.file!);
  expect(appendAuditLine(cfg, fields(3), deps()).written).toBe(true);
  expect(appendAuditLine(cfg, fields(4), deps()).written).toBe(true);
  const [first, second] = readLog(cfg.file!).records;
  expect(first!.containerId).toBe('c3');
  expect(first!.skipped).toEqual({ count: 2, first: fields(1).time, last: fields(2).time, error: 'EISDIR' });
  expect(second!.skipped).toBeUndefined(); // reported once
});

test('a partial last line (a write cut short) is not glued to the next line', () => {
  const cfg = config();
  fs.writeFileSync(cfg.file!, '{"time":"2026-12-02T03:00:00.000Z","verb":"AD');
  appendAuditLine(cfg, fields(1), deps());
  const log = readLog(cfg.file!);
  expect(log.records.map((r) => r.containerId)).toEqual(['c1']);
  expect(log.unreadable).toBe(1);
});

test('a line another call is writing right now (its tail not yet there) is not mistaken for a cut-short one', () => {
  const cfg = config();
  // Another process's append caught half-copied: its newline lands a moment later, while
  // this writer looks again (the injected sleep is that moment).
  const other = '{"time":"2026-12-02T03:00:00.000Z","verb":"ADD","containerId":"other"}\n';
  fs.writeFileSync(cfg.file!, other.slice(0, 30));
  let looks = 0;
  appendAuditLine(cfg, fields(1), deps({ sleep: () => { if (looks++ === 0) fs.appendFileSync(cfg.file!, other.slice(30)); } }));
  const text = fs.readFileSync(cfg.file!, 'utf8');
  expect(text.split('\n').filter((l) => l === '')).toEqual(['']); // only the end of the file: no blank line
  expect(readLog(cfg.file!).records.map((r) => r.containerId)).toEqual(['other', 'c1']);
});

test('logging off writes nothing', () => {
  expect(appendAuditLine(config({ file: undefined }), fields(1), deps())).toEqual({ written: false, error: 'off' });
  expect(fs.readdirSync(dir)).toEqual([]);
});

test('notes from the verbs: arrays accumulate, other fields keep the last value', () => {
  const c = new AuditCollector();
  c.note({ released: ['10.1.2.3'], lockWaitMs: 1 });
  c.note({ released: ['10.1.2.4'], lockWaitMs: 2, workMs: 3 });
  c.note({ refused: { address: '10.1.2.9', reason: 'taken' } });
  expect(c.notes).toEqual({ released: ['10.1.2.3', '10.1.2.4'], lockWaitMs: 2, workMs: 3, refused: { address: '10.1.2.9', reason: 'taken' } });
});
