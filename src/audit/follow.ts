/**
 * `pod-ipam log --follow`: polls the file for appended lines, and when it is rotated
 * (a new inode under the name) drains the old file from the still-open descriptor
 * before moving to the new one, so no line is missed across a rotation.
 */
import * as fs from 'node:fs';
import type { AuditFields } from './fields';
import { parseLine } from './line';
import { LineBuffer } from './reader';

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
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
      open();
      pos = 0;
      continue;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
  if (fd !== undefined) fs.closeSync(fd);
}
