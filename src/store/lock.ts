/**
 * An inter-process lock on a directory (proper-lockfile: an atomic mkdir of
 * `<dir>/.lock`, kept fresh by touching its mtime). Why these settings:
 * - a bounded total wait, after which the caller gets TryAgainError (CNI code 11) rather
 *   than hanging the runtime forever the way host-local does behind a stuck holder;
 * - short randomized retries, so a hundred parallel ADDs do not retry in lock-step;
 * - `stale`: a holder killed by kill -9 stops refreshing the lock, and after this long
 *   the next caller takes it over, so a crash blocks others for a few seconds at most;
 * - `onCompromised` records the loss instead of throwing from a timer (proper-lockfile's
 *   default would crash the process mid-write); `assertHeld()` is checked before writes.
 */
import * as path from 'node:path';
import { lock as acquire } from 'proper-lockfile';
import { TryAgainError, IoError } from '../core/errors';
import { errno, writeError } from './durable-file';

export const STALE_MS = 4000;
export const DEFAULT_LOCK_TIMEOUT_MS = 10000;

export interface HeldLock {
  /** @throws TryAgainError when another process took the lock over (we were too slow). */
  assertHeld(): void;
  release(): Promise<void>;
}

export async function lockDir(dir: string, timeoutMs = DEFAULT_LOCK_TIMEOUT_MS): Promise<HeldLock> {
  const lockfilePath = path.join(dir, '.lock');
  const deadline = Date.now() + timeoutMs;
  let compromised: Error | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const release = await acquire(dir, {
        lockfilePath,
        realpath: false,
        stale: STALE_MS,
        update: 1000,
        retries: 0,
        onCompromised: (err) => {
          compromised = err;
        },
      });
      return {
        assertHeld() {
          if (compromised) throw new TryAgainError(`lost the lock on ${dir} while working (the process was stalled for over ${STALE_MS / 1000}s); retry`, compromised.message);
        },
        async release() {
          await release().catch(() => undefined); // already taken over: nothing of ours to remove
        },
      };
    } catch (e) {
      const code = errno(e);
      // Taking the lock is the first write: a full, read-only or unwritable data directory
      // shows here first and is reported as such (code 104), not as a read failure.
      if (code !== undefined && WRITE_ERRORS.has(code)) throw writeError(`cannot lock ${dir}`, e);
      if (code !== 'ELOCKED') throw new IoError(`cannot lock ${dir}: ${(e as Error).message}`);
    }
    const now = Date.now();
    if (now >= deadline) {
      throw new TryAgainError(`the lock on ${dir} was not obtained within ${timeoutMs / 1000}s; another pod-ipam call holds it, retry later`, `lock: ${lockfilePath}`);
    }
    // Randomized, slowly growing backoff: 5-25 ms at first, at most 50-250 ms.
    const base = Math.min(5 * 1.4 ** attempt, 50);
    await sleep(Math.min(base + Math.random() * base * 4, deadline - now));
  }
}

const WRITE_ERRORS = new Set(['EROFS', 'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
