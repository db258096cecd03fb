/**
 * Fuzzing the three inputs of a call: the config on stdin, the CNI_* environment and
 * CNI_ARGS. Every input must end in a result or exactly one CNI error object (a
 * documented code, never 199 "internal error", no stack trace), and an error must leave
 * the state byte-for-byte as it was. Volume in process (src/cni/dispatch.ts); a smaller
 * sample spawned as a runtime spawns the plugin, which also checks exit codes and stderr.
 *
 * Inputs are mutations of a valid call (so they reach deep into validation and the
 * verbs) mixed with arbitrary JSON and text. dataDir is always inside the test's temp
 * directory or not a string, so nothing the fuzzer invents can write elsewhere.
 */
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dispatch } from '../../src/cni/dispatch';
import { isAuditLogFile } from '../helpers/audit-log';
import { runPlugin, tempDataDir } from '../helpers/run-plugin';

const DOCUMENTED = new Set([1, 2, 3, 4, 5, 6, 7, 11, 50, 100, 101, 102, 103, 104, 105, 106]);
const STACK = /\n\s+at .+:\d+|\bat (?:Object|async|new) |node:internal|\.ts:\d+:\d+/;
const quiet = { debug: () => undefined, warn: () => undefined };

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir('pod-ipam-fuzz-')));
afterEach(() => cleanup());

/**
 * Every file under `dir` with its bytes. Directories are left out: a call on a network
 * never used before creates the network's empty directories to take its lock, before it
 * can know the request will fail; files are the state (the audit log aside: it records
 * refused calls on purpose, see test/helpers/audit-log.ts).
 */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const rel of fs.readdirSync(dir, { recursive: true }).map(String)) {
    const p = path.join(dir, rel);
    if (!fs.lstatSync(p).isDirectory() && !isAuditLogFile(rel)) out[rel] = fs.readFileSync(p, 'base64');
  }
  return out;
}

const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const addrs = ['10.1.2.5', '10.1.2.1', '10.1.2.0', '10.1.2.255', '10.9.9.9', 'fd00::5', '10.1.2.5/24', '10.1.2.300', ' 10.1.2.6', ''];
const anyJson = fc.jsonValue({ maxDepth: 2 });
/** A value that is usually plausible and sometimes anything at all. */
const sometimes = <T>(plausible: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary: anyJson });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });

const range = fc.record(
  {
    subnet: sometimes(fc.constantFrom('10.1.2.0/24', '10.1.2.0/30', '10.1.2.0/31', '10.1.2.3/24', 'fd00::/120', 'fd00::/127', '10.1.0.0/16', 'bogus')),
    rangeStart: sometimes(fc.constantFrom(...addrs)),
    rangeEnd: sometimes(fc.constantFrom(...addrs)),
    gateway: sometimes(fc.constantFrom(...addrs)),
  },
  { requiredKeys: ['subnet'] },
);

const ipamFields = (dir: string): Record<string, fc.Arbitrary<unknown>> => ({
  type: sometimes(fc.constant('pod-ipam')),
  mode: sometimes(fc.constantFrom('node-local', 'cluster-pool', 'kubernetes', 'other')),
  dataDir: fc.oneof(fc.stringMatching(/^[a-z]{1,4}$/).map((s) => path.join(dir, s)), fc.integer(), fc.boolean(), fc.constant(null)),
  ranges: sometimes(fc.array(fc.array(range, { minLength: 1, maxLength: 2 }), { maxLength: 2 })),
  subnet: sometimes(fc.constantFrom('10.1.2.0/24', 'fd00::/120', 'x')),
  routes: sometimes(fc.array(fc.record({ dst: sometimes(fc.constantFrom('0.0.0.0/0', '::/0', 'x')), gw: maybe(fc.constantFrom(...addrs)), mtu: maybe(anyJson) }), { maxLength: 2 })),
  exclude: sometimes(fc.array(fc.constantFrom(...addrs, '10.1.2.0/28', '10.1.2.0/25'), { maxLength: 3 })),
  lockTimeoutSeconds: sometimes(fc.constantFrom(1, 5, 0, -1, 1e9)),
  resolvConf: sometimes(fc.constantFrom('/nonexistent/resolv.conf', '')),
});

/** A valid config, changed in zero to three places (or, rarely, replaced by anything). */
const confArb = (dir: string) => {
  const fields = ipamFields(dir);
  const top: Record<string, fc.Arbitrary<unknown>> = {
    cniVersion: fc.oneof(fc.constantFrom(...VERSIONS), anyJson),
    name: fc.oneof(fc.constantFrom('net', 'fuzz.net', 'a_b-c'), fc.string({ maxLength: 12 }), anyJson),
    ipam: anyJson,
    args: fc.record({ cni: fc.record({ ips: sometimes(fc.array(fc.constantFrom(...addrs), { maxLength: 2 })) }) }),
    runtimeConfig: fc.record({ ips: maybe(sometimes(fc.array(fc.constantFrom(...addrs), { maxLength: 2 }))), ipRanges: maybe(sometimes(fc.array(fc.array(range, { minLength: 1, maxLength: 1 }), { maxLength: 1 }))) }),
    prevResult: sometimes(fc.record({ cniVersion: fc.constantFrom(...VERSIONS), ips: fc.array(fc.record({ address: fc.constantFrom('10.1.2.2/24', '10.1.2.3/24', '10.1.2.4/24', 'fd00::2/120', 'x') }), { maxLength: 2 }) })),
    'cni.dev/valid-attachments': sometimes(fc.array(fc.record({ containerID: fc.constantFrom('c1', 'existing', 'x'), ifname: fc.constantFrom('eth0', 'net1') }), { maxLength: 3 })),
  };
  const mutation = fc.oneof(
    fc.tuple(fc.constant('top'), fc.constantFrom(...Object.keys(top))).chain(([, k]) => top[k]!.map((v) => ({ where: 'top', key: k, value: v as unknown }))),
    fc.constantFrom(...Object.keys(fields)).chain((k) => fields[k]!.map((v) => ({ where: 'ipam', key: k, value: v as unknown }))),
    fc.constantFrom('ranges', 'type', 'dataDir').map((k) => ({ where: 'ipam', key: k, value: undefined as unknown })),
  );
  return fc.tuple(fc.constantFrom(...VERSIONS), fc.boolean(), fc.boolean(), fc.array(mutation, { maxLength: 3 })).map(([version, withPrev, withGcList, mutations]) => {
    const conf: Record<string, unknown> = { cniVersion: version, name: 'net', ipam: { type: 'pod-ipam', dataDir: dir, ranges: [[{ subnet: '10.1.2.0/24' }]] } };
    if (withPrev) conf['prevResult'] = { cniVersion: version, ips: [{ address: '10.1.2.2/24' }] };
    if (withGcList) conf['cni.dev/valid-attachments'] = [{ containerID: 'existing', ifname: 'eth0' }];
    for (const m of mutations) {
      const target = m.where === 'top' ? conf : (conf['ipam'] as Record<string, unknown>);
      if (typeof target !== 'object' || target === null || Array.isArray(target)) continue;
      if (m.value === undefined) delete target[m.key];
      else target[m.key] = m.value;
    }
    return conf;
  });
};

const stdinArb = (dir: string) =>
  fc.oneof(
    { weight: 10, arbitrary: confArb(dir).map((c) => JSON.stringify(c)) },
    { weight: 1, arbitrary: confArb(dir).chain((c) => fc.nat(JSON.stringify(c).length).map((n) => JSON.stringify(c).slice(0, n))) }, // truncated
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  );

const structuredArgs = fc
  .array(fc.oneof({ weight: 4, arbitrary: fc.tuple(fc.constantFrom('IP', 'IgnoreUnknown', 'K8S_POD_NAME', 'K8S_POD_NAMESPACE'), fc.constantFrom('10.1.2.5', '10.1.2.9', '1', 'pod')) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom('IP', 'FOO', ''), fc.constantFrom(...addrs, 'a=b', '10.1.2.5,fd00::5')) }), { maxLength: 3 })
  .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join(';'));
const cniArgsArb = fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: structuredArgs }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) });

/** Mostly a valid environment (so calls reach the verbs); sometimes anything. */
const validEnv = fc.record({
  CNI_COMMAND: fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'),
  CNI_CONTAINERID: fc.constantFrom('c1', 'c2', 'existing'),
  CNI_IFNAME: fc.constantFrom('eth0', 'net1'),
  CNI_NETNS: fc.constant('/var/run/netns/x'),
  CNI_PATH: fc.constant('/opt/cni/bin'),
  CNI_ARGS: cniArgsArb,
});
const wildEnv = fc.record({
  CNI_COMMAND: fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION', 'add', 'FOO', '', undefined),
  CNI_CONTAINERID: fc.oneof(fc.constantFrom('c1', 'existing', undefined), fc.string({ maxLength: 20 })),
  CNI_IFNAME: fc.oneof(fc.constantFrom('eth0', '', '.', '..', 'a/b', 'a b', 'x'.repeat(16), undefined), fc.string({ maxLength: 17 })),
  CNI_NETNS: fc.constantFrom('/var/run/netns/x', '', undefined),
  CNI_PATH: fc.constantFrom('/opt/cni/bin', undefined),
  CNI_ARGS: cniArgsArb,
});
const envArb = fc.oneof({ weight: 4, arbitrary: validEnv }, { weight: 1, arbitrary: wildEnv });

/** Checks one outcome against the invariants; returns nothing, throws on violation. */
function checkOutcome(command: string | undefined, exitCode: number, stdout: string, before: Record<string, string>, after: Record<string, string>): void {
  if (stdout === '') {
    // Only the verbs that print nothing on success may print nothing, and only on success.
    expect(exitCode).toBe(0);
    expect(['DEL', 'CHECK', 'GC', 'STATUS']).toContain(command);
    return;
  }
  expect(stdout.endsWith('\n')).toBe(true);
  const json = JSON.parse(stdout); // exactly one JSON document
  expect(typeof json).toBe('object');
  expect(stdout).not.toMatch(STACK);
  if (exitCode === 0) {
    expect(json.code).toBeUndefined();
    return;
  }
  expect(exitCode).toBe(1);
  expect(Number.isInteger(json.code)).toBe(true);
  expect(DOCUMENTED.has(json.code)).toBe(true); // 199 would be a crash
  expect(typeof json.msg).toBe('string');
  expect(json.msg.length).toBeGreaterThan(0);
  expect(typeof json.cniVersion).toBe('string');
  expect(after).toEqual(before); // an error changes nothing
}

test('in process: 1500 fuzzed calls end in a result or a documented CNI error, and errors change nothing', async () => {
  // Something to lose: a live reservation made by a valid call.
  const valid = { cniVersion: '1.1.0', name: 'net', ipam: { type: 'pod-ipam', dataDir, ranges: [[{ subnet: '10.1.2.0/24' }]] } };
  const seeded = await dispatch({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'existing', CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' }, JSON.stringify(valid), quiet);
  expect(seeded.exitCode).toBe(0);
  const seen = { ok: 0, errors: new Map<number, number>() };
  await fc.assert(
    fc.asyncProperty(envArb, stdinArb(dataDir), async (env, stdin) => {
      const before = snapshot(dataDir);
      const out = await dispatch(env, stdin, quiet);
      checkOutcome(env.CNI_COMMAND, out.exitCode, out.stdout, before, snapshot(dataDir));
      if (out.exitCode === 0) seen.ok++;
      else {
        const code = JSON.parse(out.stdout).code as number;
        seen.errors.set(code, (seen.errors.get(code) ?? 0) + 1);
      }
    }),
    { numRuns: 1500 },
  );
  if (process.env.FUZZ_VERBOSE) console.log(seen.ok, [...seen.errors].sort((a, b) => a[0] - b[0]));
  // The fuzzer reached past validation: successes and many kinds of errors.
  expect(seen.ok).toBeGreaterThan(50);
  expect(seen.errors.size).toBeGreaterThanOrEqual(5);
}, 60_000);

test('spawned: 40 fuzzed calls of the built plugin exit 0 or 1 with one JSON object, no stack trace on either stream', async () => {
  const valid = { cniVersion: '1.1.0', name: 'net', ipam: { type: 'pod-ipam', dataDir, ranges: [[{ subnet: '10.1.2.0/24' }]] } };
  expect((await runPlugin({ command: 'ADD', containerId: 'existing', stdin: valid })).code).toBe(0);
  const samples = fc.sample(fc.tuple(envArb, stdinArb(dataDir)), { numRuns: 40, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 1e9) });
  for (const [env, stdin] of samples) {
    const before = snapshot(dataDir);
    const out = await runPlugin({
      command: undefined,
      stdin,
      // Every CNI_* key is present in `env` (undefined removes it), replacing the helper's defaults.
      env: { ...env },
      argv: [],
    });
    expect(out.signal).toBeNull();
    expect(out.stderr).not.toMatch(STACK);
    if (env.CNI_COMMAND === undefined) continue; // the operator CLI, not the protocol
    try {
      checkOutcome(env.CNI_COMMAND, out.code ?? -1, out.stdout, before, snapshot(dataDir));
    } catch (e) {
      throw new Error(`${(e as Error).message}\nfor env ${JSON.stringify(env)}\nstdin ${stdin}\nstdout ${out.stdout}`);
    }
  }
}, 60_000);
