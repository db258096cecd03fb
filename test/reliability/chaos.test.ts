/**
 * The chaos loop (scripts/chaos.mjs) for a few seconds against the built plugin: random
 * SIGKILLs during ADD and DEL, invariants checked after every batch (see the script).
 * Holders are killed while they hold the lock, and the next batch must not notice: the run
 * goes on past 12 s until at least one call has met a dead holder's lock (a loaded machine
 * may catch no holder in 12 s).
 * Longer runs: `npm run chaos -- --seconds 600`.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../helpers/run-plugin';

test('chaos: 12 s of ADD/DEL under random kill -9 keeps every invariant', () => {
  // No kill timeout of its own: on a loaded machine the run goes on past 12 s (until a call
  // met a dead holder, then a CHECK and DEL of every success); jest's timeout is the hang guard.
  const out = spawnSync(process.execPath, [path.join(ROOT, 'scripts/chaos.mjs'), '--seconds', '12', '--min-behind-dead-holder', '1'], { encoding: 'utf8' });
  expect(out.stdout.trim()).not.toBe(''); // a summary line, or the stderr below says why not
  const summary = JSON.parse(out.stdout.trim().split('\n').pop()!);
  expect(out.stderr).not.toContain('VIOLATION');
  expect(summary).toMatchObject({ ok: true, violations: 0 });
  expect(summary.kills).toBeGreaterThan(0);
  expect(summary.callsBehindDeadHolder).toBeGreaterThan(0);
  expect(out.status).toBe(0);
}, 600_000);
