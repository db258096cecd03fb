/**
 * Stands in for src/store/flock.ts in jest (jest.config.cjs maps it): flock(2) is reached
 * through bun:ffi, which Node.js does not have, so tests that run the store inside the
 * jest process get this in-process lock instead. It excludes callers of one process,
 * keyed by the lock file's inode; one thread cannot wait for itself, so a contended wait
 * fails at once (the caller's TryAgainError path). The real kernel lock, its waiting and
 * its timeout are exercised by every test that spawns the executable (test/process,
 * test/reliability).
 */
import * as fs from 'node:fs';

const holders = new Map<string, number>(); // inode key -> fd holding it

const keyOf = (fd: number): string => {
  const st = fs.fstatSync(fd);
  return `${st.dev}:${st.ino}`;
};

export function tryLock(fd: number): boolean {
  const key = keyOf(fd);
  if (holders.has(key)) return holders.get(key) === fd;
  holders.set(key, fd);
  return true;
}

export function unlock(fd: number): void {
  const key = keyOf(fd);
  if (holders.get(key) === fd) holders.delete(key);
}

export function waitLock(fd: number): boolean {
  return tryLock(fd);
}

/** In-process callers are not scheduled against each other: nothing to raise. */
export function raisePriority(): () => void {
  return () => undefined;
}
