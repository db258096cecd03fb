/**
 * A network's lock: flock(2) on `<network dir>/lock` (see ./flock for why the kernel's
 * lock). Exclusive while this process lives, with a bounded wait ending in code 11.
 *
 * No write ever follows a loss of exclusivity, by construction: the kernel only drops the
 * lock when the descriptor is closed, and `release()` below is the only place that closes
 * it. Everything a caller does before `release()` is exclusive; what it does after is
 * limited to writes that are safe without the lock (see network-store.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IoError, TryAgainError } from '../core/errors';
import { raisePriority, tryLock, unlock, waitLock } from './flock';
import { writeError } from './durable-file';

export const DEFAULT_LOCK_TIMEOUT_MS = 10000;
export const LOCK_FILE = 'lock';

export interface NetworkLock {
  /** How long the call waited for the lock, in ms (0 when it was free). */
  readonly waitedMs: number;
  /** Releases the lock (closes its descriptor). Idempotent. */
  release(): void;
}

/**
 * @throws TryAgainError (code 11) when another process holds the lock for longer than `timeoutMs`
 * @throws StoreWriteError when the lock file cannot be created (read-only or full file system)
 */
export function lockNetwork(dir: string, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS): NetworkLock {
  const file = path.join(dir, LOCK_FILE);
  const started = performance.now();
  let fd: number;
  for (;;) {
    fd = openLockFile(file);
    try {
      const left = Math.max(0, timeoutMs - (performance.now() - started));
      if (!tryLock(fd) && !waitLock(fd, file, left)) {
        throw new TryAgainError(`the lock ${file} was not obtained within ${timeoutMs / 1000}s: another pod-ipam process holds it; retry later`, `find the holder with: fuser -v ${file}`);
      }
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    // A lock file removed (or replaced) while we waited is locked by nobody else: the next
    // caller opens a new inode. Holding the old one would exclude no one, so start over.
    if (sameInode(fd, file)) break;
    fs.closeSync(fd);
  }
  const waitedMs = performance.now() - started;
  // Until the lock is released and closed: see raisePriority.
  const restorePriority = raisePriority();
  let open = true;
  return {
    waitedMs,
    release() {
      if (!open) return;
      open = false;
      try {
        unlock(fd);
        fs.closeSync(fd);
      } finally {
        restorePriority();
      }
    },
  };
}

/** Opens (creating, 0600) the lock file; never follows a symlink and never passes it to a child (O_CLOEXEC is Node's and Bun's default). */
function openLockFile(file: string): number {
  const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new IoError(`${file} is a symlink; remove it`);
    throw writeError(`cannot open the lock file ${file}`, e);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw new IoError(`${file} is not a regular file; remove it`);
  }
  if ((st.mode & 0o777) !== 0o600) fs.fchmodSync(fd, 0o600); // created under a umask, or by an older version
  return fd;
}

function sameInode(fd: number, file: string): boolean {
  try {
    const held = fs.fstatSync(fd);
    const named = fs.lstatSync(file);
    return held.ino === named.ino && held.dev === named.dev;
  } catch {
    return false; // removed: start over (openLockFile recreates it)
  }
}
