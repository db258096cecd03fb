/**
 * Holding and watching a network's flock(2) lock from a test: util-linux's flock(1) takes
 * the same kernel lock as pod-ipam, /proc/locks shows who holds and who waits, and
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

/** The /proc/locks lines about `file`'s inode: holders and (prefixed "->") waiters. */
function lockLines(file: string): string[] {
  const ino = fs.statSync(file).ino;
  return fs
    .readFileSync('/proc/locks', 'utf8')
    .split('\n')
    .filter((l) => l.includes('FLOCK') && l.split(/\s+/).some((f) => f.endsWith(`:${ino}`)));
}

export const lockWaiters = (file: string): number => lockLines(file).filter((l) => l.includes('->')).length;
export const lockHeld = (file: string): boolean => lockLines(file).some((l) => !l.includes('->'));

/** Polls `condition` every 10 ms; the test's own timeout bounds it. */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}

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
