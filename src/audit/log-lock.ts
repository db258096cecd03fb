/**
 * A lock held for microseconds around "check the size, rotate if needed, append", so
 * that racing writers cannot all see room for their line and together push the file
 * past logMaxBytes, and so that two writers never rotate at once.
 *
 * It is a file created with O_EXCL holding the holder's pid (Node has no flock(2)). A
 * holder killed inside its few syscalls leaves the file behind: a waiter that finds the
 * pid gone breaks it at once. A live holder is waited for at most `waitMs`; then the line
 * is appended without the lock (still whole: O_APPEND), because logging must never hold
 * up a call. The lock only guards the size bound, never the lines themselves.
 */
import * as fs from 'node:fs';

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

export interface LockDeps {
  readonly pid: number;
  readonly isAlive: (pid: number) => boolean;
  readonly sleep: (ms: number) => void;
  readonly nowMs: () => number;
}

export type LockResult = { readonly held: true; release(): void } | { readonly held: false; readonly error: string };

/** A lock file without a pid (its holder died between create and write) is stale after this long. */
const EMPTY_STALE_MS = 2000;

export function acquireLogLock(lockFile: string, waitMs: number, deps: LockDeps): LockResult {
  const deadline = deps.nowMs() + waitMs;
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = fs.openSync(lockFile, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
      if (code !== 'EEXIST') return { held: false, error: code };
      if (breakIfAbandoned(lockFile, deps)) continue;
      if (deps.nowMs() >= deadline) return { held: false, error: 'lock busy' };
      // Holders keep it for microseconds; a waiter mostly waits for a descheduled holder.
      deps.sleep(Math.min(0.1 * 2 ** attempt, 2));
      continue;
    }
    let ino: bigint | undefined;
    try {
      ino = fs.fstatSync(fd, { bigint: true }).ino;
      fs.writeSync(fd, `${deps.pid}\n`);
    } catch (e) {
      // A full disk: a lock without a pid would make others wait; leave none behind.
      if (ino !== undefined) releaseIfOurs(lockFile, ino);
      return { held: false, error: (e as NodeJS.ErrnoException).code ?? 'EIO' };
    } finally {
      fs.closeSync(fd);
    }
    const held = ino;
    return { held: true, release: () => releaseIfOurs(lockFile, held) };
  }
}

/** Removes the lock file only if it is still the one we created (it may have been broken and re-taken). */
function releaseIfOurs(lockFile: string, ino: bigint): void {
  try {
    if (fs.lstatSync(lockFile, { bigint: true }).ino === ino) fs.unlinkSync(lockFile);
  } catch {
    // already gone: nothing to release
  }
}

/** Breaks a lock whose holder is dead (or is us: a pid reused after a crash). True when the caller should retry at once. */
function breakIfAbandoned(lockFile: string, deps: LockDeps): boolean {
  let ino: bigint;
  let holder: number;
  let ageMs: number;
  try {
    const fd = fs.openSync(lockFile, O_RDONLY | O_NOFOLLOW);
    try {
      const st = fs.fstatSync(fd, { bigint: true });
      ino = st.ino;
      ageMs = deps.nowMs() - Number(st.mtimeMs);
      holder = Number.parseInt(fs.readFileSync(fd, 'utf8'), 10);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return true; // released meanwhile: try again
  }
  const abandoned = Number.isInteger(holder) && holder > 0 ? holder === deps.pid || !deps.isAlive(holder) : ageMs > EMPTY_STALE_MS;
  if (!abandoned) return false;
  // Move it aside rather than unlink it: if another waiter broke it first and a live
  // writer took the lock since, we moved the wrong file and put it back.
  const aside = `${lockFile}.broken-${deps.pid}`;
  try {
    fs.renameSync(lockFile, aside);
    if (fs.lstatSync(aside, { bigint: true }).ino !== ino) {
      try {
        fs.linkSync(aside, lockFile);
      } catch {
        // someone holds a newer lock: ours to drop
      }
    }
    fs.unlinkSync(aside);
  } catch {
    // another waiter broke it first
  }
  return true;
}

/** The real process table: kill(pid, 0) fails with ESRCH only when no such process exists. */
export function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** A synchronous sleep (the write path is synchronous: no timer, no event loop turn). */
export const sleepSync = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);
