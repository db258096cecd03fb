/**
 * An inter-process lock on a directory (proper-lockfile: an atomic mkdir of
 * `<dir>/.lock`, kept fresh by touching its mtime). Why these settings:
 * - a bounded total wait, after which the caller gets TryAgainError (CNI code 11) rather
 *   than hanging the runtime forever the way host-local does behind a stuck holder;
 * - short randomized retries, so a hundred parallel ADDs do not retry in lock-step;
 * - `stale`: a holder killed by kill -9 stops refreshing the lock, and after this long
 *   the next caller takes it over, so a crash blocks others for a few seconds at most;
 * - `onCompromised` records the loss instead of throwing from a timer (proper-lockfile's
 *   default would crash the process mid-write);
 * - `assertHeld()`, called before every write, also looks at the lock on disk: the
 *   refresh timer cannot run while the synchronous store code works, so a holder stalled
 *   past the stale limit would otherwise write on after another process took the lock.
 *   It refuses once our lock directory is gone or replaced (another inode), or has gone
 *   unrefreshed so long that a takeover is imminent.
 */
import * as fs from 'node:fs';
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
  for (let attempt = 0; ; attempt++) {
    const tracker = new LockTracker(lockfilePath);
    try {
      const release = await acquire(dir, {
        lockfilePath,
        realpath: false,
        stale: STALE_MS,
        update: 1000,
        retries: 0,
        fs: tracker.fs,
        onCompromised: (err) => tracker.compromise(err),
      });
      tracker.confirm();
      return {
        assertHeld() {
          const why = tracker.lost();
          if (why) throw new TryAgainError(`lost the lock on ${dir} while working (the process was stalled for about ${STALE_MS / 1000}s); retry`, why);
        },
        async release() {
          // A lock taken over is the new holder's: removing it would let a third process in.
          if (tracker.takenOver()) return;
          await release().catch(() => undefined);
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

/**
 * Knows what our lock directory looks like on disk: proper-lockfile's own file calls go
 * through `fs`, so every refresh we make is seen, and its mtime remembered. A different
 * mtime means another process touched (took over) the lock; an old refresh means a
 * takeover may come at any moment.
 */
class LockTracker {
  readonly #file: string;
  #compromised: Error | undefined;
  #ownMtimeMs = Number.NaN;
  #confirmedAt = 0;
  readonly fs = {
    mkdir: fs.mkdir,
    stat: fs.stat,
    rmdir: fs.rmdir,
    realpath: fs.realpath,
    utimes: (file: string, atime: Date, mtime: Date, callback: (err: NodeJS.ErrnoException | null) => void) =>
      fs.utimes(file, atime, mtime, (err) => {
        if (!err) this.confirm();
        callback(err);
      }),
  };

  constructor(file: string) {
    this.#file = file;
  }

  /** Records the lock as ours as it stands on disk now (after taking or refreshing it). */
  confirm(): void {
    try {
      this.#ownMtimeMs = fs.lstatSync(this.#file).mtimeMs;
      this.#confirmedAt = Date.now();
    } catch {
      this.#ownMtimeMs = Number.NaN;
    }
  }

  compromise(err: Error): void {
    this.#compromised = err;
  }

  /** Why the lock can no longer be trusted for a write, or undefined while it is ours. */
  lost(): string | undefined {
    if (this.#compromised) return this.#compromised.message;
    const taken = this.takenOver();
    if (taken) return taken;
    const age = Date.now() - this.#confirmedAt;
    return age > STALE_MS - TAKEOVER_MARGIN_MS ? `the lock was last refreshed ${age} ms ago; another process may take it over` : undefined;
  }

  takenOver(): string | undefined {
    let mtimeMs: number;
    try {
      mtimeMs = fs.lstatSync(this.#file).mtimeMs;
    } catch {
      return `${this.#file} was removed`;
    }
    return mtimeMs === this.#ownMtimeMs ? undefined : `${this.#file} was changed by another process`;
  }
}

/** Stop writing this long before others may take a silent lock over. */
const TAKEOVER_MARGIN_MS = 1000;

const WRITE_ERRORS = new Set(['EROFS', 'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM']);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
