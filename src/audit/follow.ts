/**
 * `pod-ipam log --follow`: polls the file for appended lines, and when it is rotated
 * (a new inode under the name) drains the old file from the still-open descriptor, reads
 * whole any file rotated in between (several rotations within one poll), then moves to the
 * new one, so no line is missed across rotations.
 */
import * as fs from 'node:fs';
import { LOG_MAX_FILES_RANGE } from './config';
import type { AuditFields } from './fields';
import { parseLine } from './line';
import { LineBuffer } from './reader';
import { rotatedName } from './rotate';

export interface FollowOptions {
  readonly intervalMs: number;
  readonly onRecord: (r: AuditFields) => void;
  /** Where the initial read stopped (readLog's `end`); start of the file otherwise. */
  readonly from?: { readonly ino: number; readonly size: number } | undefined;
  readonly signal?: AbortSignal;
}

export async function followLog(file: string, options: FollowOptions): Promise<void> {
  let fd: number | undefined;
  let pos = 0;
  let lines = new LineBuffer();
  const open = (): void => {
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY);
    } catch {
      fd = undefined;
      return;
    }
    const ino = fs.fstatSync(fd).ino;
    pos = options.from && options.from.ino === ino ? options.from.size : 0;
    lines = new LineBuffer();
  };
  const drain = (): void => {
    if (fd === undefined) return;
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      pos += n;
      for (const line of lines.push(buf.subarray(0, n).toString('utf8'))) {
        const r = parseLine(line);
        if (r) options.onRecord(r);
      }
    }
  };
  open();
  while (!options.signal?.aborted) {
    drain();
    let current: number | undefined;
    try {
      current = fs.statSync(file).ino;
    } catch {
      current = undefined;
    }
    if (current !== undefined && (fd === undefined || current !== fs.fstatSync(fd).ino)) {
      drain(); // lines appended to the old file after our last read
      const old = fd;
      fd = undefined;
      open();
      pos = 0;
      // The files rotated between the old one and the one just opened are listed only now:
      // listed before the open, a rotation in between would hide the file it pushed aside.
      if (old !== undefined) {
        for (const f of rotatedBetween(file, fs.fstatSync(old).ino, fd === undefined ? undefined : fs.fstatSync(fd).ino)) emitAll(f, options.onRecord);
        fs.closeSync(old);
      }
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
  if (fd !== undefined) fs.closeSync(fd);
}

/**
 * Files rotated after the one with inode `oldIno` (now file.K) and before the one with
 * `newIno` (the one now followed, which may itself have been rotated already), oldest
 * first. When the old one is no longer there it was the oldest and has been dropped, so
 * every rotated file older than the new one is newer than it.
 */
function rotatedBetween(file: string, oldIno: number, newIno: number | undefined): string[] {
  const between: string[] = [];
  for (let n = 1; n <= LOG_MAX_FILES_RANGE[1]; n++) {
    let st: fs.Stats;
    try {
      st = fs.statSync(rotatedName(file, n));
    } catch {
      break;
    }
    if (st.ino === oldIno) break;
    if (st.ino === newIno) {
      between.length = 0; // those so far are newer than the followed file: it reaches them itself
      continue;
    }
    between.push(rotatedName(file, n));
  }
  return between.reverse();
}

function emitAll(file: string, onRecord: (r: AuditFields) => void): void {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  for (const line of text.split('\n')) {
    const r = line ? parseLine(line) : undefined;
    if (r) onRecord(r);
  }
}
