/**
 * A lock holder raises its priority while it holds the network lock, and only then
 * (src/store/flock.ts, raisePriority): under a burst, a holder preempted by a hundred
 * starting processes kept every waiter waiting. Seen through strace, on the executable as
 * a runtime runs it: started at nice 3, it must go to nice -7 after the lock is granted
 * and back to 3 after it is released; without CAP_SYS_NICE it must simply go on.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXECUTABLE, cniEnv, nodeLocalConf, tempDataDir } from '../helpers/run-plugin';
import { straceAvailable } from '../helpers/lock-holders';

/** Whether CAP_SYS_NICE (bit 23) is in this process's effective set: a root container may lack it. */
function canRaise(): boolean {
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
  return capEff !== undefined && (BigInt(`0x${capEff}`) & (1n << 23n)) !== 0n;
}
const runIt = straceAvailable() && process.getuid?.() === 0 && canRaise() ? test : test.skip;

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

/** Runs one ADD under `prefix` (nice, setpriv) and strace; returns its answer and the traced calls of its main thread. */
function tracedAdd(prefix: string[]): { status: number | null; stdout: string; calls: string[] } {
  const trace = path.join(dataDir, 'trace');
  const r = spawnSync(prefix[0]!, [...prefix.slice(1), 'strace', '-qq', '-o', trace, '-e', 'trace=flock,getpriority,setpriority', EXECUTABLE], {
    env: cniEnv({ command: 'ADD', containerId: 'c1' }),
    input: JSON.stringify(nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.9.0.0/24' }]] })),
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, calls: fs.readFileSync(trace, 'utf8').split('\n').filter((l) => l.trim() !== '') };
}

runIt('raised after the lock is granted, put back after it is released', () => {
  const { status, stdout, calls } = tracedAdd(['nice', '-n', '3']);
  expect(status).toBe(0);
  expect(JSON.parse(stdout).ips[0].address).toMatch(/^10\.9\.0\./);
  const granted = calls.findIndex((l) => /flock\(\d+, LOCK_EX(\|LOCK_NB)?\)\s+= 0/.test(l));
  const released = calls.findIndex((l) => /flock\(\d+, LOCK_UN\)/.test(l));
  const sets = calls.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('setpriority('));
  expect(granted).toBeGreaterThanOrEqual(0);
  expect(sets.map(([l]) => l.replace(/\s+/g, ' '))).toEqual(['setpriority(PRIO_PROCESS, 0, -7) = 0', 'setpriority(PRIO_PROCESS, 0, 3) = 0']);
  expect(sets[0]![1]).toBeGreaterThan(granted);
  expect(sets[0]![1]).toBeLessThan(released);
  expect(sets[1]![1]).toBeGreaterThan(released);
});

runIt('without CAP_SYS_NICE nothing is raised and the call goes on', () => {
  const { status, stdout, calls } = tracedAdd(['setpriv', '--inh-caps=-sys_nice', '--bounding-set=-sys_nice']);
  expect(status).toBe(0);
  expect(JSON.parse(stdout).ips[0].address).toMatch(/^10\.9\.0\./);
  const sets = calls.filter((l) => l.startsWith('setpriority('));
  expect(sets).toHaveLength(1); // the attempt, refused; nothing to put back
  expect(sets[0]).toMatch(/= -1 E(ACCES|PERM)/);
});
