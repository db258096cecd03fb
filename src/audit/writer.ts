/**
 * Appends one audit line. Logging must never fail or slow a call, so this never throws:
 * one write() of one whole line on an O_APPEND descriptor (the kernel appends it in one
 * piece, so concurrent calls never interleave), no fsync (the log is a record for people,
 * not state; a crash may lose the last lines, never tear the state), and a line that
 * cannot be written is noted for the next one (src/audit/skip-marker.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AuditLogConfig } from './config';
import type { AuditFields } from './fields';
import { formatLine } from './line';
import { acquireLogLock, pidIsAlive, sleepSync } from './log-lock';
import type { LockDeps } from './log-lock';
import { rotate } from './rotate';
import { claimSkips, recordSkip, restoreSkips } from './skip-marker';

const { O_RDWR, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;

/**
 * The longest a call waits for another writer's lock before appending without it (and
 * without the size check). Holders keep it for a few syscalls, but on an overloaded node
 * (100 calls starting at once on 2 cores) a holder preempted inside them waits its turn
 * for the CPU behind every other call: hundreds of milliseconds were seen. Only a holder
 * that is stopped outright (SIGSTOP, a hung disk) should ever make a call wait this long.
 */
export const LOCK_WAIT_MS = 2000;

export type WriteOutcome = { readonly written: true; readonly rotated: boolean; readonly locked: boolean } | { readonly written: false; readonly error: string };

export const realDeps = (): LockDeps => ({ pid: process.pid, isAlive: pidIsAlive, sleep: sleepSync, nowMs: () => Date.now() });

export function appendAuditLine(config: AuditLogConfig, fields: AuditFields, deps: LockDeps = realDeps()): WriteOutcome {
  const file = config.file;
  if (file === undefined) return { written: false, error: 'off' };
  const claimed = claimSkips(file, deps.pid);
  const line = formatLine(claimed ? { ...fields, skipped: claimed.skipped } : fields);
  try {
    return writeLine(file, Buffer.from(line), config, deps);
  } catch (e) {
    const error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    if (claimed) restoreSkips(file, claimed.text);
    recordSkip(file, fields.time, error);
    return { written: false, error };
  }
}

function writeLine(file: string, line: Buffer, config: AuditLogConfig, deps: LockDeps): WriteOutcome {
  let lock = acquireLogLock(`${file}.lock`, LOCK_WAIT_MS, deps);
  if (!lock.held && lock.error === 'ENOENT') {
    // First call on this node: the data directory may not exist yet. Only ever 0700.
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    lock = acquireLogLock(`${file}.lock`, LOCK_WAIT_MS, deps);
  }
  try {
    let fd = openLog(file);
    let rotated = false;
    try {
      let size = fs.fstatSync(fd).size;
      if (lock.held && size > 0 && size + line.length > config.maxBytes) {
        fs.closeSync(fd);
        fd = -1;
        rotate(file, config.maxFiles);
        rotated = true;
        fd = openLog(file);
        size = 0;
      }
      const whole = size > 0 && !endsWithNewline(fd, size) ? Buffer.concat([Buffer.from('\n'), line]) : line;
      const n = fs.writeSync(fd, whole);
      if (n < whole.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
    return { written: true, rotated, locked: lock.held };
  } finally {
    if (lock.held) lock.release();
  }
}

/** Read-write only so that endsWithNewline can pread; every write still goes to the end (O_APPEND). */
const openLog = (file: string): number => fs.openSync(file, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);

/**
 * A write cut short by a full disk leaves a partial line; the next line must not be glued
 * to it. One pread of the last byte tells.
 */
function endsWithNewline(fd: number, size: number): boolean {
  const b = Buffer.alloc(1);
  return fs.readSync(fd, b, 0, 1, size - 1) === 1 && b[0] === 0x0a;
}
