/**
 * `ipam.dataDir` checked as a config value (code 7), not discovered as a write failure
 * later (code 104, which tells the operator to look at the disk): a path the kernel can
 * never use (a NUL byte, longer than PATH_MAX, a component longer than NAME_MAX), or one
 * that names, or passes through, something that is not a directory.
 */
import * as fs from 'node:fs';

/** Linux's PATH_MAX (with its terminating NUL) and NAME_MAX, in bytes. */
const PATH_MAX = 4096;
const NAME_MAX = 255;

/** What is wrong with `dir` as a data directory, or undefined. One stat(2) at most. */
export function dataDirProblem(dir: string): string | undefined {
  if (dir.includes('\0')) return 'must not contain a NUL character';
  if (Buffer.byteLength(dir) >= PATH_MAX) return `is ${Buffer.byteLength(dir)} bytes long; a path must be shorter than ${PATH_MAX} bytes (PATH_MAX)`;
  const long = dir.split('/').find((part) => Buffer.byteLength(part) > NAME_MAX);
  if (long !== undefined) return `has a component of ${Buffer.byteLength(long)} bytes; each must be at most ${NAME_MAX} bytes (NAME_MAX)`;
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir, { throwIfNoEntry: false });
  } catch (e) {
    // ENOTDIR: a component on the way is a file. Others (EACCES, ELOOP) surface when the store opens it.
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return `${JSON.stringify(dir)} passes through something that is not a directory`;
    return undefined;
  }
  if (st && !st.isDirectory()) return `${JSON.stringify(dir)} exists and is not a directory`;
  return undefined;
}
