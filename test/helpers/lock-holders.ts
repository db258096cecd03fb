/**
 * Holding and watching a network's flock(2) lock from a test: util-linux's flock(1) takes
 * the same kernel lock as pod-ipam, /proc shows who holds and who waits, and
 * strace's syscall delay injection stalls a pod-ipam process at a chosen system call
 * while it holds the lock.
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { cniEnv, EXECUTABLE } from './run-plugin';
import type { PluginCall, PluginOutcome } from './run-plugin';

/** Holds `file`'s lock with flock(1) until `release()` (or until the process is killed). */
export async function holdLock(file: string): Promise<{ child: ChildProcess; release(): Promise<void> }> {
  const child = spawn('flock', [file, 'sh', '-c', 'echo held; exec cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`flock(1) exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    release: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

/** The /proc/locks lines about `file`'s inode. */
function lockLines(file: string): string[] {
  const ino = fs.statSync(file).ino;
  return fs
    .readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .filter((l) => l.includes('FLOCK') && l.split(/\s+/).some((f) => f.endsWith(`:${ino}`)));
}

/**
 * How many pod-ipam processes wait for `file`'s lock. A waiter sleeps in poll(2) on an
 * inotify watch of the lock file (src/store/flock.ts), which /proc/<pid>/fdinfo shows
 * with the watched inode in hex.
 */
export function lockWaiters(file: string): number {
  const ino = `ino:${fs.statSync(file).ino.toString(16)} `;
  let count = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (fs.readlinkSync(`/proc/${pid}/exe`) !== EXECUTABLE) continue;
      const fds = fs.readdirSync(`/proc/${pid}/fdinfo`);
      if (fds.some((fd) => fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').includes(ino))) count++;
    } catch {
      // the process ended meanwhile
    }
  }
  return count;
}
export const lockHeld = (file: string): boolean => lockLines(file).length > 0;

export { until } from './until';

export function straceAvailable(): boolean {
  try {
    execFileSync('strace', ['-V'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the plugin under strace, delaying the first `syscall` by `delayMs` before the
 * kernel sees it: the process sits there, holding whatever it holds.
 */
export function runStalled(call: PluginCall, syscall: string, delayMs: number): Promise<PluginOutcome> {
  const args = ['-f', '-qq', '-o', '/dev/null', '-e', `trace=${syscall}`, '-e', `inject=${syscall}:delay_enter=${delayMs * 1000}:when=1`, EXECUTABLE];
  return new Promise((resolve, reject) => {
    const child = spawn('strace', args, { env: cniEnv(call), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, json: stdout.trim() ? JSON.parse(stdout) : undefined }));
    child.stdin.end(JSON.stringify(call.stdin));
  });
}
