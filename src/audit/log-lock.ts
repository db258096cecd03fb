/**
 * A lock held for microseconds around "check the size, rotate if needed, append", so
 * that racing writers cannot all see room for their line and together push the file
 * past logMaxBytes, and so that two writers never rotate at once.
 *
 * It is a symlink whose target is the holder's pid (Node has no flock(2)): symlink(2)
 * creates it with its content in one step, so there is never a lock without an owner to
 * ask about. (A file created with O_EXCL and then written had exactly that window, and a
 * holder preempted in it for seconds on an overloaded node had its lock broken as
 * abandoned: two rotations at once, and a rotated file lost.) A holder killed inside its
 * few syscalls leaves the link behind: a waiter that has seen the same link for
 * ABANDONED_AFTER_MS while its pid is gone (or a zombie) breaks it. (At once would be
 * wrong: a holder that released and exited is a zombie until reaped, and the link the
 * waiter would then move aside is already the next holder's.) A stopped holder (SIGSTOP) is not waited for: the line is appended
 * without the lock (still whole: O_APPEND), because logging must never hold up a call. A
 * running or runnable holder is waited for, at most `waitMs`: it needs microseconds of
 * CPU, but on an overloaded node its turn may take seconds. The lock only guards the
 * size bound, never the lines themselves.
 */
import * as fs from 'node:fs';

export interface LockDeps {
  readonly pid: number;
  readonly holderState: (pid: number) => HolderState;
  readonly sleep: (ms: number) => void;
  readonly nowMs: () => number;
}

export type HolderState = 'gone' | 'stopped' | 'alive';

export type LockResult = { readonly held: true; release(): void } | { readonly held: false; readonly error: string };

/** How long a waiter must see one link, its holder gone, before it counts as abandoned. */
export const ABANDONED_AFTER_MS = 200;

/** The link a waiter keeps seeing, since when. */
interface Watched {
  target: string;
  since: number;
}

export function acquireLogLock(lockFile: string, waitMs: number, deps: LockDeps): LockResult {
  const deadline = deps.nowMs() + waitMs;
  const watched: Watched = { target: '', since: 0 };
  // A nonce besides the pid: release removes the link only if it is still this very one.
  const mine = `${deps.pid}:${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
  for (let attempt = 0; ; attempt++) {
    try {
      fs.symlinkSync(mine, lockFile);
      return { held: true, release: () => releaseIfOurs(lockFile, mine) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      if (code !== 'EEXIST') return { held: false, error: code };
    }
    const holder = inspectHolder(lockFile, deps, watched);
    if (holder === 'retry') continue;
    if (holder === 'stopped') return { held: false, error: 'lock holder stopped' };
    if (deps.nowMs() >= deadline) return { held: false, error: 'lock busy' };
    // Holders keep it for microseconds; a waiter mostly waits for a descheduled holder.
    deps.sleep(Math.min(0.1 * 2 ** attempt, 2));
  }
}

/** The lock's target; undefined when there is no lock; '' when something else than our link sits there. */
function readHolder(lockFile: string): string | undefined {
  try {
    return fs.readlinkSync(lockFile);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EINVAL' ? '' : undefined;
  }
}

function releaseIfOurs(lockFile: string, mine: string): void {
  try {
    if (readHolder(lockFile) === mine) fs.unlinkSync(lockFile);
  } catch {
    // already gone: nothing to release
  }
}

/**
 * Breaks a lock whose holder is gone (or is us: a pid reused after a crash), or that is
 * not our link at all, once seen unchanged for ABANDONED_AFTER_MS: then 'retry' at once.
 * 'stopped': its holder will not let go soon. 'wait': it will.
 */
function inspectHolder(lockFile: string, deps: LockDeps, watched: Watched): 'retry' | 'stopped' | 'wait' {
  const target = readHolder(lockFile);
  if (target === undefined) return 'retry'; // released meanwhile
  if (target !== watched.target) {
    watched.target = target;
    watched.since = deps.nowMs();
  }
  const pid = Number.parseInt(target, 10);
  const state = Number.isInteger(pid) && pid > 0 && pid !== deps.pid ? deps.holderState(pid) : 'gone';
  if (state === 'stopped') return 'stopped';
  if (state === 'alive' || deps.nowMs() - watched.since < ABANDONED_AFTER_MS) return 'wait';
  // Move it aside rather than unlink it, and look at what was moved: if another waiter
  // broke it first and a new holder took the lock since, put that holder's link back
  // (symlink(2) never replaces: if yet another lock stands by now, the two overlap, and
  // only the size bound is at stake).
  const aside = `${lockFile}.broken-${deps.pid}`;
  try {
    if (readHolder(lockFile) !== target) return 'retry';
    fs.renameSync(lockFile, aside);
    const moved = readHolder(aside);
    if (moved !== undefined && moved !== '' && moved !== target) {
      try {
        fs.symlinkSync(moved, lockFile);
      } catch {
        // a newer lock stands
      }
    }
    fs.rmSync(aside, { force: true });
  } catch {
    // another waiter broke it first
  }
  return 'retry';
}

/** The real process table: kill(pid, 0) fails with ESRCH only when no such process exists; /proc tells stopped and zombie. */
export function holderStateOf(pid: number): HolderState {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return 'gone';
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return 'gone';
    if (state === 'T' || state === 't') return 'stopped';
  } catch {
    // no /proc: assume it runs
  }
  return 'alive';
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** A synchronous sleep (the write path is synchronous: no timer, no event loop turn). */
export const sleepSync = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);
