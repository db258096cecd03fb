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
 * Waiting, bounded and woken by the kernel: a blocking flock() cannot be bounded from the
 * main thread (no timer runs while it blocks), and a Worker that blocks for us costs a
 * whole JavaScript context (~10 ms of CPU, paid by every waiter of a burst). Instead a
 * waiter watches the lock file with inotify: a holder releases the lock by closing the
 * file (or by dying, which closes it), and every close raises IN_CLOSE_*. The waiter
 * sleeps in poll(2) on the inotify descriptor with the time it has left, and retries
 * LOCK_NB on each event. The watch is in place before the retry, so no release is missed.
 * When inotify is out of instances (fs.inotify.max_user_instances), it retries every 2 ms.
 */
import { IoError } from '../core/errors';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const PRIO_PROCESS = 0;
/** How much a lock holder raises its priority: nice 0 to -10 is ~9x the CPU share. */
const HOLDER_BOOST = 10;
const EINTR = 4;
const EWOULDBLOCK = 11;
const IN_NONBLOCK = 0o4000;
const IN_CLOEXEC = 0o2000000;
const IN_CLOSE = 0x08 | 0x10; // IN_CLOSE_WRITE | IN_CLOSE_NOWRITE
const POLLIN = 1;
const FALLBACK_POLL_MS = 2;

/** The little of bun:ffi used here (Bun's own types are not a dependency of this project). */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): { symbols: Record<string, (...args: unknown[]) => number> };
  read: { i32(pointer: number, offset: number): number };
}

interface Libc {
  flock(fd: number, operation: number): number;
  errno(): number;
  getpriority(): number;
  setpriority(nice: number): number;
}

interface Inotify {
  init(flags: number): number;
  addWatch(fd: number, path: Buffer, mask: number): number;
  poll(fds: Buffer | null, count: number, timeoutMs: number): number;
  read(fd: number, buf: Buffer, size: number): number;
  close(fd: number): number;
}

let libc: Libc | undefined;
let inotify: Inotify | undefined;

function ffi(): BunFfi {
  if (!process.versions.bun) {
    throw new IoError('this build cannot take the network lock: flock(2) needs the single executable dist/pod-ipam (the Node.js bundle is not a plugin)');
  }
  // Loaded lazily: only the executable has bun:ffi, and only lock takers need it.
  return require('bun:ffi') as BunFfi;
}

function load(): Libc {
  if (libc) return libc;
  const { dlopen, read } = ffi();
  const { symbols } = dlopen('libc.so.6', {
    flock: { args: ['i32', 'i32'], returns: 'i32' },
    __errno_location: { args: [], returns: 'ptr' },
    getpriority: { args: ['i32', 'u32'], returns: 'i32' },
    setpriority: { args: ['i32', 'u32', 'i32'], returns: 'i32' },
  });
  const { flock, __errno_location: errnoLocation, getpriority, setpriority } = symbols as Record<string, (...args: unknown[]) => number>;
  libc = {
    flock: (fd, op) => flock!(fd, op),
    errno: () => read.i32(errnoLocation!(), 0),
    // PRIO_PROCESS with who 0: on Linux, the calling thread.
    getpriority: () => getpriority!(PRIO_PROCESS, 0),
    setpriority: (nice) => setpriority!(PRIO_PROCESS, 0, nice),
  };
  return libc;
}

/** The waiting half, bound only when a lock is contended. */
function loadInotify(): Inotify {
  if (inotify) return inotify;
  const { symbols } = ffi().dlopen('libc.so.6', {
    inotify_init1: { args: ['i32'], returns: 'i32' },
    inotify_add_watch: { args: ['i32', 'ptr', 'u32'], returns: 'i32' },
    poll: { args: ['ptr', 'u64', 'i32'], returns: 'i32' },
    read: { args: ['i32', 'ptr', 'u64'], returns: 'i64' },
    close: { args: ['i32'], returns: 'i32' },
  });
  const s = symbols as Record<string, (...args: unknown[]) => number>;
  inotify = {
    init: (flags) => s.inotify_init1!(flags),
    addWatch: (fd, path, mask) => s.inotify_add_watch!(fd, path, mask),
    poll: (fds, count, timeoutMs) => s.poll!(fds, count, timeoutMs),
    read: (fd, buf, size) => Number(s.read!(fd, buf, size)),
    close: (fd) => s.close!(fd),
  };
  return inotify;
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

/**
 * Raises this thread's priority while it holds a lock; returns what puts it back.
 * Why: when a node starts many pods at once, a hundred processes starting up share two
 * cores, and a holder preempted in the middle of its critical section (2 to 3 ms of
 * interpreted work alone) kept every waiter waiting for tens of milliseconds: the burst of
 * 100 ADDs was bound by the lock, not the CPU. At nice -10 (relative to the nice it
 * runs at) the holder gets about nine times the share of an ordinary process, so it is
 * through in a fraction of that (BENCHMARKS.md). Needs CAP_SYS_NICE, which a runtime's
 * plugin has as root; without it (or in Node.js) nothing is raised, nothing fails.
 */
export function raisePriority(): () => void {
  // Counted, so that a process holding two locks at once (in whatever order it lets them
  // go) is raised once and put back when it holds none, never left raised.
  if (raised.holders++ === 0) raised.restore = raiseOnce();
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--raised.holders === 0) raised.restore();
  };
}

const raised = { holders: 0, restore: (): void => undefined };

function raiseOnce(): () => void {
  let lib: Libc;
  try {
    lib = load();
  } catch {
    return () => undefined;
  }
  const nice = lib.getpriority();
  const boosted = Math.max(-20, nice - HOLDER_BOOST);
  if (boosted === nice || lib.setpriority(boosted) !== 0) return () => undefined;
  return () => void lib.setpriority(nice);
}

/** Releases the lock on `fd` (closing the descriptor releases it too; this says so explicitly). */
export function unlock(fd: number): void {
  load().flock(fd, LOCK_UN);
}

/**
 * Waits for the exclusive lock on `fd` (an open descriptor of `file`) for at most
 * `timeoutMs`, blocking the thread (there is nothing else to do meanwhile).
 * @returns true once it is held, false when the time ran out
 */
export function waitLock(fd: number, file: string, timeoutMs: number): boolean {
  const deadline = performance.now() + timeoutMs;
  const lib = loadInotify();
  const watcher = lib.init(IN_NONBLOCK | IN_CLOEXEC);
  if (watcher < 0) return retryUntil(fd, deadline, () => lib.poll(null, 0, FALLBACK_POLL_MS));
  try {
    if (lib.addWatch(watcher, Buffer.from(`${file}\0`), IN_CLOSE) < 0) return retryUntil(fd, deadline, () => lib.poll(null, 0, FALLBACK_POLL_MS));
    const pollfd = Buffer.alloc(8);
    pollfd.writeInt32LE(watcher, 0);
    pollfd.writeInt16LE(POLLIN, 4);
    const events = Buffer.alloc(4096);
    return retryUntil(fd, deadline, (leftMs) => {
      lib.poll(pollfd, 1, leftMs); // an event, the deadline or EINTR: the caller re-checks
      while (lib.read(watcher, events, events.length) > 0); // drain, so the next poll sleeps
    });
  } finally {
    lib.close(watcher);
  }
}

function retryUntil(fd: number, deadline: number, sleep: (leftMs: number) => void): boolean {
  for (;;) {
    if (tryLock(fd)) return true;
    const left = Math.ceil(deadline - performance.now());
    if (left <= 0) return false;
    sleep(left);
  }
}
