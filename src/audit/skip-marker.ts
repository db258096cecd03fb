/**
 * Calls whose line could not be written (disk full, log unwritable) leave a note in
 * `<log>.skipped`, one `<time> <errno>` line each, and the next call that can write its
 * line takes the note (a rename: only one caller gets it) and reports it in its line's
 * `skipped` field. Appending a few bytes, or merely creating the file, often still works
 * when the log line did not; when even that fails, stderr is all that is left.
 */
import * as fs from 'node:fs';
import type { SkippedLines } from './fields';

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;

/** Past this size the note stops growing (the count then says "at least"). */
const MAX_MARKER_BYTES = 16 * 1024;

export const markerFile = (logFile: string): string => `${logFile}.skipped`;

/** Records one skipped line; never throws. */
export function recordSkip(logFile: string, time: string, error: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(markerFile(logFile), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
    if (fs.fstatSync(fd).size < MAX_MARKER_BYTES) fs.writeSync(fd, `${time} ${error.replace(/\s+/g, '_')}\n`);
  } catch {
    // nothing more can be done from here
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Takes the pending note, if any (a single failed rename when there is none). */
export function claimSkips(logFile: string, pid: number): { skipped: SkippedLines; text: string } | undefined {
  const claimed = `${markerFile(logFile)}.${pid}`;
  try {
    fs.renameSync(markerFile(logFile), claimed);
  } catch {
    return undefined;
  }
  let text = '';
  try {
    text = fs.readFileSync(claimed, 'utf8');
    fs.unlinkSync(claimed);
  } catch {
    // a note we cannot read still says that something was skipped
  }
  return { skipped: summarize(text), text };
}

/** Puts a claimed note back (the line that was to carry it could not be written either). */
export function restoreSkips(logFile: string, text: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(markerFile(logFile), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
    fs.writeSync(fd, text);
  } catch {
    // lost with the rest
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function summarize(text: string): SkippedLines {
  const lines = text.split('\n').filter((l) => l !== '');
  const [first, firstError] = (lines[0] ?? '').split(' ');
  const [last, lastError] = (lines[lines.length - 1] ?? '').split(' ');
  return {
    count: Math.max(lines.length, 1),
    ...(first ? { first } : {}),
    ...(last ? { last } : {}),
    ...(lastError || firstError ? { error: (lastError ?? firstError)! } : {}),
  };
}
