/** The network lock itself: exclusion, stale takeover, and a holder noticing it lost the lock. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TryAgainError } from '../../src/core/errors';
import { lockDir, STALE_MS } from '../../src/store/lock';

let dir: string;
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-lock-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('one holder at a time; released, the next caller gets it', async () => {
  const first = await lockDir(dir);
  await expect(lockDir(dir, 200)).rejects.toBeInstanceOf(TryAgainError);
  await first.release();
  const second = await lockDir(dir, 200);
  second.assertHeld();
  await second.release();
  expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
});

test('a stale lock is taken over; its former holder then fails assertHeld and leaves the new lock alone', async () => {
  const first = await lockDir(dir);
  // A real takeover comes STALE_MS after the holder's last refresh, so the new lock's mtime
  // differs from the one the holder set; keep that true here (mtimes tick coarsely).
  // (proper-lockfile stamps a new lock with the next whole second + 5 ms: cross a second.)
  await new Promise((r) => setTimeout(r, 1010 - (Date.now() % 1000)));
  const old = new Date(Date.now() - STALE_MS - 1000);
  fs.utimesSync(path.join(dir, '.lock'), old, old); // the holder stalled: no refresh for too long
  const second = await lockDir(dir, 500);
  expect(() => first.assertHeld()).toThrow(TryAgainError);
  await first.release(); // must not remove the new holder's lock
  expect(fs.existsSync(path.join(dir, '.lock'))).toBe(true);
  second.assertHeld();
  await second.release();
});

test('a lock removed under its holder is noticed', async () => {
  const held = await lockDir(dir);
  fs.rmdirSync(path.join(dir, '.lock'));
  expect(() => held.assertHeld()).toThrow(TryAgainError);
  await held.release();
});

test('a holder stalled close to the stale limit stops writing, though nobody took the lock yet', async () => {
  const held = await lockDir(dir);
  held.assertHeld();
  // Synchronous work blocks proper-lockfile's refresh timer, as a stalled process would.
  const until = Date.now() + STALE_MS - 900;
  while (Date.now() < until) {
    /* stall */
  }
  expect(() => held.assertHeld()).toThrow(TryAgainError);
  await held.release(); // still ours on disk: released, not left to go stale
  expect(fs.existsSync(path.join(dir, '.lock'))).toBe(false);
});
