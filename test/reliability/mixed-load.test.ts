/**
 * Two runtimes' worth of load on one network: 200 plugin processes mixing ADD, DEL, CHECK
 * and GC, many at once. Each runtime runs the calls of one container in order (as runtimes
 * do) and different containers in parallel; GCs arrive at random moments with a valid
 * list that leaves a few containers out. Afterwards the state must be exactly what the
 * successful calls imply.
 *
 * The oracle works on each call's [start, end] interval, since the lock decides the order
 * of overlapping calls. For a container whose last ADD/DEL was a DEL (or that never got
 * one): no address. Whose last was an ADD that returned address A: A, unless a GC that
 * did not list it started after that ADD ended (then nothing: GC legitimately removes
 * what is not valid), or overlapped that ADD (then A or nothing, never another address).
 * A CHECK may fail only if such a GC could have run between its ADD and itself. Every
 * ADD and DEL must succeed; no address may be held twice.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir('pod-ipam-mixed-')));
afterEach(() => cleanup());

interface Done {
  kind: 'ADD' | 'DEL' | 'CHECK' | 'GC';
  id: string;
  start: number;
  end: number;
  code: number | null;
  json: any;
  valid?: Set<string>;
  /** For CHECK: the ADD whose result it checked. */
  checks?: Done;
}

const now = () => performance.now();
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;

test('200 processes of ADD, DEL, CHECK and GC from two runtimes: the state is what the successes imply', async () => {
  const conf = nodeLocalConf(dataDir, {}, { lockTimeoutSeconds: 120 });
  const runtimes = ['r1', 'r2'];
  const ids = runtimes.flatMap((r) => Array.from({ length: 30 }, (_, i) => `${r}-pod-${i}`));
  const TOTAL = 200;
  const GCS = 10;
  // Spread TOTAL - GCS container calls over the containers, at least one each.
  const perContainer = new Map(ids.map((id) => [id, 1]));
  for (let i = ids.length; i < TOTAL - GCS; i++) {
    const id = pick(ids);
    perContainer.set(id, perContainer.get(id)! + 1);
  }
  const planned = [...perContainer.values()].reduce((a, b) => a + b, 0) + GCS;
  const done: Done[] = [];

  const call = async (kind: Done['kind'], id: string, stdin: object): Promise<Done> => {
    const start = now();
    const out = await runPlugin({ command: kind, containerId: id, stdin, timeoutMs: 150_000 });
    const d: Done = { kind, id, start, end: now(), code: out.code, json: out.json };
    expect(out.stdout).not.toMatch(/\bat .*:\d+/);
    done.push(d);
    return d;
  };

  const chain = async (id: string, calls: number) => {
    let lastAdd: Done | undefined;
    for (let i = 0; i < calls; i++) {
      const r = Math.random();
      if (i === 0 || r < 0.4 || (r < 0.7 && !lastAdd)) {
        lastAdd = await call('ADD', id, conf);
      } else if (r < 0.7 && lastAdd) {
        const d = await call('CHECK', id, { ...conf, prevResult: lastAdd.json });
        d.checks = lastAdd;
      } else {
        await call('DEL', id, conf);
        lastAdd = undefined;
      }
    }
  };

  const gc = async (delayMs: number) => {
    await new Promise((r) => setTimeout(r, delayMs));
    const victims = new Set(Array.from({ length: 3 }, () => pick(ids)));
    const valid = new Set(ids.filter((id) => !victims.has(id)));
    const d = await call('GC', `gc-${delayMs}`, { ...conf, 'cni.dev/valid-attachments': [...valid].map((containerID) => ({ containerID, ifname: 'eth0' })) });
    d.valid = valid;
  };

  await Promise.all([...[...perContainer].map(([id, n]) => chain(id, n)), ...Array.from({ length: GCS }, () => gc(Math.floor(Math.random() * 4000)))]);
  expect(done).toHaveLength(planned);
  expect(planned).toBe(TOTAL);

  // Every ADD, DEL and GC succeeded (a generous lock timeout: nobody had to give up).
  for (const d of done.filter((x) => x.kind !== 'CHECK')) expect({ kind: d.kind, id: d.id, code: d.code, json: d.json }).toMatchObject({ code: 0 });
  const gcs = done.filter((d) => d.kind === 'GC');
  const dropping = (id: string) => gcs.filter((g) => !g.valid!.has(id));

  // CHECK fails only when a GC that dropped the container could have run since its ADD.
  for (const c of done.filter((d) => d.kind === 'CHECK')) {
    if (c.code === 0) continue;
    const explained = dropping(c.id).some((g) => g.start < c.end && g.end > c.checks!.start);
    expect({ check: c.id, code: c.json?.code, explainedByGc: explained }).toEqual({ check: c.id, code: c.json?.code, explainedByGc: true });
  }

  // The state on disk: who holds what.
  const ipsDir = path.join(dataDir, 'testnet', 'ips');
  const held = new Map<string, string[]>();
  for (const name of fs.readdirSync(ipsDir).filter((n) => !n.startsWith('.tmp-'))) {
    const owner = JSON.parse(fs.readFileSync(path.join(ipsDir, name), 'utf8')).containerId as string;
    held.set(owner, [...(held.get(owner) ?? []), name]);
  }
  let ambiguous = 0;
  for (const id of ids) {
    const own = done.filter((d) => d.id === id && (d.kind === 'ADD' || d.kind === 'DEL')).sort((a, b) => a.end - b.end);
    const last = own.at(-1);
    const actual = held.get(id) ?? [];
    if (!last || last.kind === 'DEL') {
      expect({ id, holds: actual }).toEqual({ id, holds: [] });
      continue;
    }
    const address = (last.json.ips[0].address as string).split('/')[0]!;
    const gcAfter = dropping(id).some((g) => g.start > last.end);
    const gcDuring = dropping(id).some((g) => g.start < last.end && g.end > last.start);
    if (gcAfter) expect({ id, holds: actual }).toEqual({ id, holds: [] });
    else if (gcDuring) {
      ambiguous++;
      expect([[], [address]]).toContainEqual(actual);
    } else expect({ id, holds: actual }).toEqual({ id, holds: [address] });
  }
  // Nobody outside the plan holds anything (every held address belongs to a known container).
  expect([...held.keys()].filter((id) => !ids.includes(id))).toEqual([]);
  // The oracle was mostly exact, not mostly "either".
  expect(ambiguous).toBeLessThan(ids.length / 2);

  // The state loads for the plugin itself.
  expect((await runPlugin({ command: 'STATUS', stdin: conf })).code).toBe(0);
}, 170_000);
