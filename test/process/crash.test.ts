/**
 * kill -9 at random moments during ADD and DEL. Afterwards: the state loads, no address
 * is held by two attachments, every ADD that reported success still holds its address,
 * nothing leaks (a DEL of every container, as a runtime does after a failed ADD, empties
 * the network) and new calls succeed: the kernel released the lock of any killed holder.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cniEnv, nodeLocalConf, pluginCommand, runPlugin, tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

interface Outcome {
  killed: boolean;
  code: number | null;
  stdout: string;
}

/** Starts a call and SIGKILLs it after `killAfterMs` (if still running). */
function callAndMaybeKill(command: 'ADD' | 'DEL', containerId: string, conf: object, killAfterMs: number | undefined): Promise<Outcome> {
  const [cmd, ...args] = pluginCommand();
  return new Promise((resolve) => {
    const child = spawn(cmd!, args, { env: cniEnv({ command, containerId }), stdio: ['pipe', 'pipe', 'ignore'] });
    let stdout = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => (killed = child.kill('SIGKILL')), killAfterMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ killed: killed && code === null, code, stdout });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(conf));
  });
}

test('random SIGKILLs during ADD/DEL lose and duplicate nothing', async () => {
  const conf = nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.1.2.0/26' }]], lockTimeoutSeconds: 30 });
  const ids = Array.from({ length: 12 }, (_, i) => `crash-${i}`);
  /** What a runtime would believe: the address each container was last told it holds. */
  const believed = new Map<string, string>();
  let kills = 0;
  const deadline = Date.now() + 25_000;
  for (let round = 0; round < 30 && Date.now() < deadline; round++) {
    // Each round touches distinct containers: a runtime never runs two calls for one container at once.
    const batch = [...ids].sort(() => Math.random() - 0.5).slice(0, 4);
    const outcomes = await Promise.all(
      batch.map((id) => {
        const command = believed.has(id) || Math.random() < 0.3 ? 'DEL' : 'ADD';
        const kill = Math.random() < 0.6 ? Math.floor(Math.random() * 120) : undefined;
        return callAndMaybeKill(command, id, conf, kill).then((o) => ({ id, command, ...o }));
      }),
    );
    for (const o of outcomes) {
      if (o.killed) {
        kills++;
        believed.delete(o.id); // unknown outcome: the runtime will DEL it
        continue;
      }
      expect(o.code).toBe(0);
      if (o.command === 'ADD') believed.set(o.id, JSON.parse(o.stdout).ips[0].address);
      else believed.delete(o.id);
    }
  }
  expect(kills).toBeGreaterThan(5);

  // New calls succeed, even if a killed process held the lock.
  const fresh = await runPlugin({ command: 'ADD', containerId: 'after-crash', stdin: conf });
  expect(fresh.code).toBe(0);
  believed.set('after-crash', fresh.json.ips[0].address);

  // Every file parses; no address is in two attachments' hands.
  const ipsDir = path.join(dataDir, 'testnet', 'ips');
  const owners = new Map<string, string>();
  for (const name of fs.readdirSync(ipsDir).filter((n) => !n.startsWith('.tmp-'))) {
    const owner = JSON.parse(fs.readFileSync(path.join(ipsDir, name), 'utf8'));
    owners.set(name, owner.containerId);
  }
  // Every success still holds its address (CHECK agrees), and no two hold the same one.
  for (const [id, address] of believed) {
    expect(owners.get(address.split('/')[0]!)).toBe(id);
    const check = await runPlugin({ command: 'CHECK', containerId: id, stdin: { ...conf, prevResult: { cniVersion: '1.1.0', ips: [{ address }] } } });
    expect(check.code).toBe(0);
  }
  expect(new Set(believed.values()).size).toBe(believed.size);

  // Nothing leaked: DEL of every container empties the network.
  for (const id of [...ids, 'after-crash']) expect((await runPlugin({ command: 'DEL', containerId: id, stdin: conf })).code).toBe(0);
  expect(fs.readdirSync(ipsDir).filter((n) => !n.startsWith('.tmp-'))).toEqual([]);
}, 120000);
