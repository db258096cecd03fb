/** Reads the audit log back, rotated files first, for `pod-ipam log`. Never on the CNI path. */
import * as fs from 'node:fs';
import type { AuditFields } from './fields';
import { parseLine } from './line';
import { logFiles } from './rotate';
import { LOG_MAX_FILES_RANGE } from './config';

export interface LogContents {
  /** Every record, oldest first. */
  readonly records: AuditFields[];
  /** The files read, oldest first. */
  readonly files: string[];
  /** Lines that are not records (cut short by a full disk, or not ours). */
  readonly unreadable: number;
  /** Where `--follow` goes on: the current file's inode and the bytes read of it. */
  readonly end: { readonly ino: number; readonly size: number } | undefined;
}

/** Reads `file` and its rotated copies (file.N ... file.1 then file). A missing file gives no records. */
export function readLog(file: string): LogContents {
  const files = logFiles(file, LOG_MAX_FILES_RANGE[1]);
  const records: AuditFields[] = [];
  let unreadable = 0;
  let end: LogContents['end'];
  for (const f of files) {
    let text: string;
    try {
      const buf = fs.readFileSync(f);
      if (f === file) end = { ino: fs.statSync(f).ino, size: buf.length };
      text = buf.toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // rotated away while we read
      throw e;
    }
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const record = parseLine(line);
      if (record) records.push(record);
      else unreadable++;
    }
  }
  return { records, files, unreadable, end };
}

/** Splits appended text into whole lines, keeping a trailing partial line for later. */
export class LineBuffer {
  #rest = '';
  push(text: string): string[] {
    const parts = (this.#rest + text).split('\n');
    this.#rest = parts.pop() ?? '';
    return parts.filter((l) => l !== '');
  }
}
