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
import { acquireLogLock, holderStateOf, sleepSync } from './log-lock';
import type { LockDeps } from './log-lock';
import { rotate } from './rotate';
import { claimSkips, recordSkip, restoreSkips } from './skip-marker';

const { O_RDWR, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;

/**
 * The longest a call waits for a running writer's lock before appending without it (and
 * without the size check). Holders keep it for a few syscalls, but on an overloaded node
 * (100 calls starting at once on 2 cores, other work besides) a holder preempted inside
 * them waits its turn for the CPU behind every other call, for hundreds of milliseconds.
 * A stopped holder is not waited for at all, a dead one for 0.2 s (src/audit/log-lock.ts),
 * so only a holder stuck in the kernel (a hung disk) ever makes a call wait this long.
 */
export const LOCK_WAIT_MS = 10_000;

/** How the line was written: far from the bound without the lock, or under it, or after waiting for it in vain. */
export type LockUse = 'not needed' | 'held' | 'bypassed';
export type WriteOutcome = { readonly written: true; readonly rotated: boolean; readonly lock: LockUse } | { readonly written: false; readonly error: string };

/**
 * Below `maxBytes - LOCK_ZONE_BYTES` a line is appended without the lock: creating and
 * removing the lock link changes the directory, which costs 25 to 400 us on a busy ext4
 * (measured: scripts/bench-audit-log.mjs), against about 10 us for the append itself.
 * Near the bound every writer takes the lock, so the bound can only be passed if, while
 * one call sits preempted between its size check and its write, others write more than
 * this many bytes (some 200 calls) and rotate the file under it.
 */
export const LOCK_ZONE_BYTES = 64 * 1024;

export const realDeps = (): LockDeps => ({ pid: process.pid, holderState: holderStateOf, sleep: sleepSync, nowMs: () => Date.now() });

export function appendAuditLine(config: AuditLogConfig, fields: AuditFields, deps: LockDeps = realDeps()): WriteOutcome {
  const file = config.file;
  if (file === undefined) return { written: false, error: 'off' };
  const claimed = claimSkips(file, deps.pid);
  try {
    return writeLine(file, claimed ? { ...fields, skipped: claimed.skipped } : fields, config, deps);
  } catch (e) {
    const error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    if (claimed) restoreSkips(file, claimed.text);
    recordSkip(file, fields.time, error);
    return { written: false, error };
  }
}

function writeLine(file: string, fields: AuditFields, config: AuditLogConfig, deps: LockDeps): WriteOutcome {
  let line = Buffer.from(formatLine(fields));
  let fd = openLog(file);
  try {
    const size = fs.fstatSync(fd).size;
    if (size + line.length <= config.maxBytes - LOCK_ZONE_BYTES) {
      append(fd, size, line, deps.sleep);
      return { written: true, rotated: false, lock: 'not needed' };
    }
  } finally {
    fs.closeSync(fd);
  }
  const lock = acquireLogLock(`${file}.lock`, LOCK_WAIT_MS, deps);
  // Say so in the line: a file past its bound is then explained by the line that did it.
  if (!lock.held) line = Buffer.from(formatLine({ ...fields, logLockBypassed: lock.error }));
  try {
    // Reopened under the lock: the file may have been rotated since the check above.
    fd = openLog(file);
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
      append(fd, size, line, deps.sleep);
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
    return { written: true, rotated, lock: lock.held ? 'held' : 'bypassed' };
  } finally {
    if (lock.held) lock.release();
  }
}

/** One write() of the whole line (after a newline if the file ends in a cut-short line). */
function append(fd: number, size: number, line: Buffer, sleep: (ms: number) => void): void {
  const whole = size > 0 && endsCutShort(fd, size, sleep) ? Buffer.concat([Buffer.from('\n'), line]) : line;
  const n = fs.writeSync(fd, whole);
  if (n < whole.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
}

/** Opens (creates 0600) the log; the first call on a node may find no data directory yet: it is created 0700, never otherwise. */
function openLog(file: string): number {
  try {
    return openFlags(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    return openFlags(file);
  }
}

/** Read-write only so that endsWithNewline can pread; every write still goes to the end (O_APPEND). */
const openFlags = (file: string): number => fs.openSync(file, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);

/**
 * A write cut short (a full disk, a kill in the middle) leaves a partial line; the next
 * line must not be glued to it. But another call's line being written at this moment also
 * shows a tail without its newline for a while: the file's size moves page by page while
 * that write copies its bytes. Seen: 3 blank lines among 100 concurrent ADDs' 100. So a
 * tail counts as cut short only if it stays so, with nothing appended, over a few looks
 * a millisecond apart; a size that moves means a writer is at work, and its line ends
 * with its own newline. (Costs nothing in the usual case: one pread finds the newline.)
 */
function endsCutShort(fd: number, size: number, sleep: (ms: number) => void): boolean {
  for (let look = 0; look < CUT_SHORT_LOOKS; look++) {
    if (endsWithNewline(fd, size)) return false;
    sleep(1);
    if (fs.fstatSync(fd).size !== size) return false;
  }
  return true;
}
const CUT_SHORT_LOOKS = 5;

function endsWithNewline(fd: number, size: number): boolean {
  const b = Buffer.alloc(1);
  return fs.readSync(fd, b, 0, 1, size - 1) === 1 && b[0] === 0x0a;
}
