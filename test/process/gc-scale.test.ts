/**
 * GC at scale: a node whose runtime lost track of thousands of pods. GC holds the lock
 * for unlinks only (one fsync per directory afterwards) and has no lease to lose, so one
 * call releases everything; failures are summarized, never dumped whole.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

/** `count` reservations as pod-ipam writes them (address file + final index), without 8,000 process starts. */
function plantReservations(count: number): void {
  const net = path.join(dataDir, 'testnet');
  for (const sub of ['ips', 'attachments']) fs.mkdirSync(path.join(net, sub), { recursive: true, mode: 0o700 });
  for (let i = 0; i < count; i++) {
    const address = `10.8.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    const owner = { containerId: `stale-${i}`, ifname: 'eth0', since: '2026-01-01T00:00:00.000Z' };
    fs.writeFileSync(path.join(net, 'ips', address), JSON.stringify({ ...owner, claiming: true }), { mode: 0o600 });
    fs.writeFileSync(path.join(net, 'attachments', `stale-${i}:eth0`), JSON.stringify({ ...owner, ips: [address] }), { mode: 0o600 });
  }
}

const conf = (valid: { containerID: string; ifname: string }[]) => ({ ...nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.8.0.0/16' }]] }), 'cni.dev/valid-attachments': valid });

test('GC over 8,000 stale reservations: one call, exit 0, all released, the valid one kept', async () => {
  plantReservations(8000);
  const out = await runPlugin({ command: 'GC', stdin: conf([{ containerID: 'stale-17', ifname: 'eth0' }]), timeoutMs: 240000 });
  expect(out.stdout).toBe('');
  expect(out.code).toBe(0);
  expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toEqual(['10.8.0.19']);
  expect(fs.readdirSync(path.join(dataDir, 'testnet', 'attachments'))).toEqual(['stale-17:eth0']);
}, 300000);

test('GC past 300 corrupt files: the rest released, an error whose details stay short', async () => {
  plantReservations(1000);
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(dataDir, 'testnet', 'ips', `10.8.${100 + Math.floor(i / 250)}.${(i % 250) + 2}`), '{torn');
  const out = await runPlugin({ command: 'GC', stdin: conf([]), timeoutMs: 120000 });
  expect(out.json).toMatchObject({ code: 103, msg: expect.stringContaining('300 corrupt') });
  expect(out.json.details).toContain('and 295 more');
  expect(out.stdout.length).toBeLessThan(2000);
  expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toHaveLength(300);
}, 180000);
