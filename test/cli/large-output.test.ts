/**
 * An operator command's whole output reaches a slow reader. Into a pipe, Bun's
 * process.stdout is asynchronous, and the executable exits as soon as a command returns:
 * `pod-ipam status` of a few thousand reservations piped to a reader that was not quick
 * enough lost everything past the pipe's 64 KiB (993 of 10,004 lines). The reader here
 * starts reading only once the command is blocked writing into the full pipe, or has
 * ended (the old build): whatever the machine's load, the pipe is full first.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pluginCommand, tempDataDir } from '../helpers/run-plugin';

const RESERVATIONS = 3000; // ~60 bytes a table row, ~150 in JSON: well over 64 KiB either way

const { dir, cleanup } = tempDataDir();
afterAll(cleanup);

beforeAll(() => {
  const net = path.join(dir, 'testnet');
  for (const sub of ['ips', 'attachments']) fs.mkdirSync(path.join(net, sub), { recursive: true, mode: 0o700 });
  for (let i = 0; i < RESERVATIONS; i++) {
    const address = `10.9.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    const owner = { containerId: `pod-${i}`, ifname: 'eth0', since: '2026-01-01T00:00:00.000Z' };
    fs.writeFileSync(path.join(net, 'ips', address), JSON.stringify(owner), { mode: 0o600 });
    fs.writeFileSync(path.join(net, 'attachments', `pod-${i}:eth0`), JSON.stringify({ ...owner, ips: [address] }), { mode: 0o600 });
  }
});

/** The reader's side: it waits until the writer blocks on the full pipe (wchan pipe_write) or is gone, then reads. */
const SLOW_READER = `
d=$(mktemp -d); mkfifo "$d/out"
"$0" "$@" > "$d/out" & w=$!
exec 3< "$d/out"
until grep -q pipe_write /proc/$w/wchan 2>/dev/null || grep -qE '^State:[[:space:]]+Z' /proc/$w/status 2>/dev/null || [ ! -e /proc/$w ]; do sleep 0.05; done
cat <&3; r=$?
wait $w; echo "status $? $r" >&2
rm -rf "$d"`;

/** Runs `pod-ipam ARGS` into a pipe whose reader starts only once the pipe is full; what it read. */
function throughSlowPipe(args: string[]): { out: string; status: number[] } {
  const r = spawnSync('bash', ['-c', SLOW_READER, pluginCommand()[0]!, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH ?? '' },
  });
  return { out: r.stdout, status: (/status (.*)/.exec(r.stderr)?.[1] ?? '').split(' ').map(Number) };
}

test('status: every reservation row reaches a slow reader', () => {
  const { out, status } = throughSlowPipe(['status', '--data-dir', dir]);
  expect(status).toEqual([0, 0]);
  expect(out.split('\n').filter((l) => /^10\.9\.\d+\.\d+\s+-\s+pod-\d+\s+eth0/.test(l))).toHaveLength(RESERVATIONS);
});

test('status --json: one whole JSON document', () => {
  const { out, status } = throughSlowPipe(['status', '--data-dir', dir, '--json']);
  expect(status).toEqual([0, 0]);
  expect(JSON.parse(out).networks[0].reservations).toHaveLength(RESERVATIONS);
});

test('a reader that stops early (head) ends the command without an error of its own', () => {
  const r = spawnSync('bash', ['-c', '"$0" status --data-dir "$1" | head -1; echo "status ${PIPESTATUS[*]}" >&2', pluginCommand()[0]!, dir], { encoding: 'utf8' });
  expect(r.stdout).toMatch(/^network testnet/);
  expect(r.stderr).toMatch(/status 0 0/);
  expect(r.stderr).not.toMatch(/pod-ipam: fatal|EPIPE/);
});
