/**
 * flock(2), the kernel's advisory lock, through Bun's FFI (the same lock the reference
 * host-local plugin takes). Why the kernel's lock and not a lease such as proper-lockfile:
 * the kernel never hands a lock held by a live process to anyone else, however long that
 * process is stalled (SIGSTOP, a frozen cgroup, swapping), and releases it the moment the
 * process exits or is killed. There is nothing to refresh, nothing to take over and
 * nothing left behind after a crash or a reboot.
 *
 * Only a Bun process can call it: the single executable `dist/pod-ipam` is the plugin. In
 * Node.js (the intermediate bundle) every lock request fails with IoError, code 5.
 *
 * Waiting: an uncontended LOCK_NB call returns at once. A blocking flock() cannot be
 * bounded from the main thread (no JS timer runs while it blocks, and a signal handler's
 * interruption is restarted), so only when the lock is busy a Worker makes the blocking
 * call on the same file descriptor (the lock belongs to the open file description, which
 * all threads share) and posts back when the kernel grants it. The kernel wakes the waiter
 * the moment the holder closes its descriptor or dies: no sleeps, no idle gaps. The main
 * thread's timer bounds the wait.
 */
import { IoError } from '../core/errors';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EINTR = 4;
const EWOULDBLOCK = 11;

interface Libc {
  flock(fd: number, operation: number): number;
  errno(): number;
}

/** The little of bun:ffi used here (Bun's own types are not a dependency of this project). */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): { symbols: Record<string, (...args: number[]) => number> };
  read: { i32(pointer: number, offset: number): number };
}

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  if (!process.versions.bun) {
    throw new IoError('this build cannot take the network lock: flock(2) needs the single executable dist/pod-ipam (the Node.js bundle is not a plugin)');
  }
  // Loaded lazily: only the executable has bun:ffi, and only lock takers need it.
  const { dlopen, read } = require('bun:ffi') as BunFfi;
  const { symbols } = dlopen('libc.so.6', {
    flock: { args: ['i32', 'i32'], returns: 'i32' },
    __errno_location: { args: [], returns: 'ptr' },
  });
  const flock = symbols.flock!;
  const errnoLocation = symbols.__errno_location!;
  libc = { flock, errno: () => read.i32(errnoLocation(), 0) };
  return libc;
}

/**
 * Tries to take the exclusive lock on `fd` without waiting.
 * @returns false when another open file description holds it
 * @throws IoError when the kernel refuses the lock (e.g. ENOLCK on a file system without locks)
 */
export function tryLock(fd: number): boolean {
  const lib = load();
  for (;;) {
    if (lib.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
    const errno = lib.errno();
    if (errno === EWOULDBLOCK) return false;
    if (errno !== EINTR) throw new IoError(`flock(2) failed with errno ${errno}`, 'the data directory must be on a local file system that supports flock');
  }
}

/** Releases the lock on `fd` (closing the descriptor releases it too; this says so explicitly). */
export function unlock(fd: number): void {
  load().flock(fd, LOCK_UN);
}

/**
 * Waits until the exclusive lock on `fd` is granted. After `cancel()` the promise never
 * settles.
 */
export function waitLock(fd: number): { granted: Promise<void>; cancel(): void } {
  load();
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const worker = new Worker(WAITER, { eval: true, workerData: { fd } });
  worker.unref(); // a waiter must never keep the process alive
  let cancelled = false;
  const granted = new Promise<void>((resolve, reject) => {
    worker.once('message', (errno: number) => {
      if (cancelled) return;
      if (errno === 0) resolve();
      else reject(new IoError(`flock(2) failed with errno ${errno} while waiting`));
    });
    worker.once('error', (e) => reject(new IoError(`the lock waiter failed: ${e.message}`)));
  });
  // Nothing can interrupt the Worker's blocking call; the caller closes `fd`, and a lock
  // granted afterwards goes with the descriptor's last reference when the call returns.
  return { granted, cancel: () => (cancelled = true) };
}

/** The Worker's code: block in flock(LOCK_EX) and post 0 or the errno. */
const WAITER = `
const { dlopen, read } = require('bun:ffi');
const { parentPort, workerData } = require('node:worker_threads');
const { symbols } = dlopen('libc.so.6', { flock: { args: ['i32', 'i32'], returns: 'i32' }, __errno_location: { args: [], returns: 'ptr' } });
let errno;
do {
  errno = symbols.flock(workerData.fd, ${LOCK_EX}) === 0 ? 0 : read.i32(symbols.__errno_location(), 0);
} while (errno === ${EINTR});
parentPort.postMessage(errno);
`;
