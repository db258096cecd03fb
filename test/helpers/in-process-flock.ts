/**
 * Stands in for src/store/flock.ts in the jest "node" project (jest.config.cjs maps it):
 * flock(2) is reached through bun:ffi, which Node.js does not have, so tests that run the
 * store inside the jest process get this in-process lock instead. It gives the same
 * exclusion between callers of one process, keyed by the lock file's inode. The real
 * kernel lock is exercised by every test that spawns the executable (test/process,
 * test/reliability, test/store/lock.test.ts).
 */
import * as fs from 'node:fs';

const holders = new Map<string, number>(); // inode key -> fd holding it
const waiting = new Map<string, { fd: number; grant: () => void }[]>();

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
  if (holders.get(key) !== fd) return;
  holders.delete(key);
  const next = waiting.get(key)?.shift();
  if (next) {
    holders.set(key, next.fd);
    next.grant();
  }
}

export function waitLock(fd: number): { granted: Promise<void>; cancel(): void } {
  const key = keyOf(fd);
  let entry!: { fd: number; grant: () => void };
  const granted = new Promise<void>((resolve) => {
    entry = { fd, grant: resolve };
  });
  waiting.set(key, [...(waiting.get(key) ?? []), entry]);
  return { granted, cancel: () => waiting.set(key, (waiting.get(key) ?? []).filter((w) => w !== entry)) };
}
