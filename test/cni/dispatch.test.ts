/**
 * The protocol, in process: the real dispatch against a temporary data directory, for
 * every supported cniVersion and every error code the plugin documents.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dispatch } from '../../src/cni/dispatch';
import { SUPPORTED_VERSIONS } from '../../src/cni/versions';
import { isAuditLogFile } from '../helpers/audit-log';
import { nodeLocalConf, tempDataDir } from '../helpers/run-plugin';

const quiet = { debug: () => undefined, warn: () => undefined };
let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

const env = (command: string, extra: Record<string, string | undefined> = {}) => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/x',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  ...extra,
});
async function call(command: string, conf: unknown, extra: Record<string, string | undefined> = {}) {
  const out = await dispatch(env(command, extra), typeof conf === 'string' ? conf : JSON.stringify(conf), quiet);
  return { exitCode: out.exitCode, json: out.stdout ? JSON.parse(out.stdout) : undefined, stdout: out.stdout };
}
/** The state under the data directory (the audit log is not state: see test/helpers/audit-log.ts). */
const stateFiles = () => (fs.existsSync(dataDir) ? fs.readdirSync(dataDir, { recursive: true }).map(String).filter((f) => !isAuditLogFile(f)).sort() : []);

describe.each(SUPPORTED_VERSIONS)('cniVersion %s', (version) => {
  const conf = () => nodeLocalConf(dataDir, { cniVersion: version }, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/120' }]], routes: [{ dst: '0.0.0.0/0', mtu: 1400 }] });
  const legacy = version.startsWith('0.');

  test('ADD answers in the input version; repeated ADD gives the same addresses', async () => {
    const first = await call('ADD', conf());
    expect(first.exitCode).toBe(0);
    expect(first.json.cniVersion).toBe(version);
    expect(first.json.ips).toEqual([
      { ...(legacy ? { version: '4' } : {}), address: '10.1.2.2/24', gateway: '10.1.2.1' },
      { ...(legacy ? { version: '6' } : {}), address: 'fd00::2/120', gateway: 'fd00::1' },
    ]);
    expect(first.json.routes).toEqual([{ dst: '0.0.0.0/0', ...(version === '1.1.0' ? { mtu: 1400 } : {}) }]);
    expect(first.json.interfaces).toBeUndefined();
    expect((await call('ADD', conf())).json).toEqual(first.json);
    expect((await call('ADD', conf(), { CNI_CONTAINERID: 'c2' })).json.ips[0].address).toBe('10.1.2.3/24');
  });

  test('DEL releases, is idempotent, and the address is reused only after a full cycle', async () => {
    await call('ADD', conf());
    expect((await call('DEL', conf())).exitCode).toBe(0);
    expect((await call('DEL', conf())).exitCode).toBe(0);
    expect((await call('DEL', conf(), { CNI_CONTAINERID: 'never-added' })).stdout).toBe('');
    expect((await call('ADD', conf(), { CNI_CONTAINERID: 'c3' })).json.ips[0].address).toBe('10.1.2.3/24');
  });

  test('CHECK needs 0.4.0, then verifies prevResult', async () => {
    const added = await call('ADD', conf());
    const checked = await call('CHECK', { ...conf(), prevResult: added.json });
    if (version === '0.3.0' || version === '0.3.1') {
      expect(checked.json.code).toBe(1);
      return;
    }
    expect(checked).toMatchObject({ exitCode: 0, stdout: '' });
    const wrong = { ...added.json, ips: [{ address: '10.1.2.99/24' }] };
    expect((await call('CHECK', { ...conf(), prevResult: wrong })).json.code).toBe(105);
    expect((await call('CHECK', { ...conf(), prevResult: added.json }, { CNI_CONTAINERID: 'other' })).json.code).toBe(3);
    expect((await call('CHECK', conf())).json.code).toBe(7);
  });

  test('GC and STATUS need 1.1.0', async () => {
    const gc = await call('GC', { ...conf(), 'cni.dev/valid-attachments': [] });
    const status = await call('STATUS', conf());
    if (version === '1.1.0') {
      expect([gc.exitCode, status.exitCode]).toEqual([0, 0]);
    } else {
      expect([gc.json.code, status.json.code]).toEqual([1, 1]);
    }
  });
});

describe('GC', () => {
  test('releases every reservation not listed, keeps the listed ones; both key spellings', async () => {
    const conf = nodeLocalConf(dataDir);
    for (const id of ['a', 'b', 'c']) await call('ADD', conf, { CNI_CONTAINERID: id });
    expect((await call('GC', { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'b', ifname: 'eth0' }] })).exitCode).toBe(0);
    expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips')).sort()).toEqual(['10.1.2.3']);
    expect((await call('GC', { ...conf, 'cni.dev/attachments': [] })).exitCode).toBe(0);
    expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toEqual([]);
    expect(fs.readdirSync(path.join(dataDir, 'testnet', 'attachments'))).toEqual([]);
  });

  test('goes on past a corrupt reservation file and reports it (code 103)', async () => {
    const conf = nodeLocalConf(dataDir);
    for (const id of ['a', 'b', 'c']) await call('ADD', conf, { CNI_CONTAINERID: id });
    fs.writeFileSync(path.join(dataDir, 'testnet', 'ips', '10.1.2.3'), '{torn');
    const out = await call('GC', { ...conf, 'cni.dev/valid-attachments': [] });
    expect(out.json.code).toBe(103);
    expect(out.json.details).toContain('10.1.2.3');
    expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toEqual(['10.1.2.3']);
  });

  test('a missing list is not an empty list', async () => {
    const conf = nodeLocalConf(dataDir);
    await call('ADD', conf);
    const out = await call('GC', conf);
    expect(out.json).toMatchObject({ code: 7 });
    expect(out.json.msg).toContain('cni.dev/valid-attachments');
    expect(fs.readdirSync(path.join(dataDir, 'testnet', 'ips'))).toEqual(['10.1.2.2']);
  });
});

describe('STATUS', () => {
  test('code 50 when a range set has no free address', async () => {
    const conf = nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.1.2.0/30' }]] });
    expect((await call('STATUS', conf)).exitCode).toBe(0);
    expect((await call('ADD', conf)).json.ips[0].address).toBe('10.1.2.2/30');
    const status = await call('STATUS', conf);
    expect(status.json.code).toBe(50);
    expect(status.json.msg).toContain('10.1.2.0/30');
  });
});

describe('requested addresses', () => {
  test.each([
    ['runtimeConfig.ips', { runtimeConfig: { ips: ['10.1.2.50/24'] } }, 'IgnoreUnknown=1', '10.1.2.50/24'],
    ['args.cni.ips', { args: { cni: { ips: ['10.1.2.60'] } } }, '', '10.1.2.60/24'],
    ['CNI_ARGS IP=', {}, 'IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.1.2.70', '10.1.2.70/24'],
    ['every source, the same address', { runtimeConfig: { ips: ['10.1.2.70'] }, args: { cni: { ips: ['10.1.2.70/24'] } } }, 'IP=10.1.2.70', '10.1.2.70/24'],
  ])('%s is honoured', async (_name, extra, cniArgs, expected) => {
    const out = await call('ADD', { ...nodeLocalConf(dataDir), ...extra }, { CNI_ARGS: cniArgs });
    expect(out.json.ips[0].address).toBe(expected);
  });

  test('sources are merged as host-local merges them: two addresses for one range set are refused', async () => {
    const out = await call('ADD', { ...nodeLocalConf(dataDir), runtimeConfig: { ips: ['10.1.2.50'] }, args: { cni: { ips: ['10.1.2.60'] } } });
    expect(out.json.code).toBe(102);
  });

  test('dual-stack through CNI_ARGS, comma-separated', async () => {
    const conf = nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/120' }]] });
    const out = await call('ADD', conf, { CNI_ARGS: 'IP=fd00::77,10.1.2.77' });
    expect(out.json.ips.map((i: { address: string }) => i.address)).toEqual(['10.1.2.77/24', 'fd00::77/120']);
  });

  test.each([
    ['taken', 'IP=10.1.2.2', 101],
    ['outside', 'IP=10.9.9.9', 102],
    ['gateway', 'IP=10.1.2.1', 102],
    ['not an address', 'IP=banana', 4],
  ])('%s is refused and nothing changes', async (_name, cniArgs, code) => {
    await call('ADD', nodeLocalConf(dataDir), { CNI_CONTAINERID: 'first' });
    const before = stateFiles();
    const out = await call('ADD', nodeLocalConf(dataDir), { CNI_ARGS: cniArgs });
    expect(out.json.code).toBe(code);
    expect(stateFiles()).toEqual(before);
  });
});

describe('errors are one CNI error object, and leave state exactly as it was', () => {
  const good = () => nodeLocalConf(dataDir);
  test.each([
    ['unknown version', () => ({ ...good(), cniVersion: '9.9.9' }), {}, 1],
    ['missing CNI_CONTAINERID', good, { CNI_CONTAINERID: undefined }, 4],
    ['bad CNI_CONTAINERID', good, { CNI_CONTAINERID: '../../etc' }, 4],
    ['bad CNI_IFNAME', good, { CNI_IFNAME: 'a/b' }, 4],
    ['long CNI_IFNAME', good, { CNI_IFNAME: 'a234567890123456' }, 4],
    ['missing CNI_NETNS', good, { CNI_NETNS: undefined }, 4],
    ['missing CNI_PATH', good, { CNI_PATH: undefined }, 4],
    ['bad CNI_COMMAND', good, { CNI_COMMAND: 'FROB' }, 4],
    ['bad CNI_ARGS', good, { CNI_ARGS: 'novalue' }, 4],
    ['not JSON', () => '{"cniVersion": ', {}, 6],
    ['empty stdin', () => '', {}, 6],
    ['JSON array', () => '[]', {}, 6],
    ['network name escaping the data dir', () => ({ ...good(), name: '../x' }), {}, 7],
    ['no ipam', () => ({ cniVersion: '1.1.0', name: 'n' }), {}, 7],
    ['unknown mode', () => nodeLocalConf(dataDir, {}, { mode: 'magic' }), {}, 7],
    ['host bits', () => nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.1.2.3/24' }]] }), {}, 7],
    ['relative dataDir', () => nodeLocalConf('var/lib', {}), {}, 7],
    ['bad route', () => nodeLocalConf(dataDir, {}, { routes: [{ dst: 'default' }] }), {}, 7],
    ['bad exclude', () => nodeLocalConf(dataDir, {}, { exclude: ['10.1.2.x'] }), {}, 7],
    ['bad runtimeConfig.ips', () => ({ ...good(), runtimeConfig: { ips: [7] } }), {}, 7],
    ['resolvConf missing', () => nodeLocalConf(dataDir, {}, { resolvConf: '/nonexistent/resolv.conf' }), {}, 7],
  ])('%s -> code %i', async (_name, conf, extra, code) => {
    const out = await call('ADD', conf(), extra);
    expect(out.exitCode).toBe(1);
    expect(Object.keys(out.json).sort()).toEqual(['cniVersion', 'code', 'details', 'msg']);
    expect(out.json.code).toBe(code);
    expect(out.stdout).not.toMatch(/\n\s+at /);
    expect(stateFiles()).toEqual([]);
  });

  test('code 7 messages carry the JSON path of the bad field', async () => {
    const out = await call('ADD', nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.2.0/25' }]] }));
    expect(out.json.msg).toMatch(/^ipam\.ranges\[1\]\[0\]: /);
  });

  test('code 4 names the variables', async () => {
    const out = await call('ADD', good(), { CNI_CONTAINERID: undefined, CNI_IFNAME: undefined });
    expect(out.json.msg).toContain('CNI_CONTAINERID');
    expect(out.json.msg).toContain('CNI_IFNAME');
  });

  test('range exhausted -> 100, state unchanged', async () => {
    const conf = nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.1.2.0/30' }]] });
    await call('ADD', conf, { CNI_CONTAINERID: 'a' });
    const before = stateFiles();
    const out = await call('ADD', conf, { CNI_CONTAINERID: 'b' });
    expect(out.json.code).toBe(100);
    expect(stateFiles()).toEqual(before);
  });

  test('a dual-stack ADD whose second set is exhausted reserves nothing in the first', async () => {
    const conf = nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/126' }]] });
    await call('ADD', conf, { CNI_CONTAINERID: 'a' });
    await call('ADD', conf, { CNI_CONTAINERID: 'b' });
    const before = stateFiles();
    expect((await call('ADD', conf, { CNI_CONTAINERID: 'c' })).json.code).toBe(100);
    expect(stateFiles()).toEqual(before);
  });
});

describe('config compatible with host-local', () => {
  test('legacy single range with rangeStart/rangeEnd/gateway, exclude, resolvConf', async () => {
    const resolv = path.join(dataDir, 'resolv.conf');
    fs.writeFileSync(resolv, 'nameserver 10.0.0.53\nsearch a.svc b.svc\noptions ndots:5\ndomain example\n');
    const conf = nodeLocalConf(dataDir, {}, { ranges: undefined, subnet: '10.1.2.0/24', rangeStart: '10.1.2.10', rangeEnd: '10.1.2.20', gateway: '10.1.2.254', exclude: ['10.1.2.10/31'], resolvConf: resolv });
    const out = await call('ADD', conf);
    expect(out.json.ips).toEqual([{ address: '10.1.2.12/24', gateway: '10.1.2.254' }]);
    expect(out.json.dns).toEqual({ nameservers: ['10.0.0.53'], search: ['a.svc', 'b.svc'], options: ['ndots:5'], domain: 'example' });
  });

  test('runtimeConfig.ipRanges is prepended to the configured ranges (as host-local does)', async () => {
    const out = await call('ADD', { ...nodeLocalConf(dataDir), runtimeConfig: { ipRanges: [[{ subnet: '10.9.0.0/24' }]] } });
    expect(out.json.ips.map((i: { address: string }) => i.address)).toEqual(['10.9.0.2/24', '10.1.2.2/24']);
  });

  test('the whole plugin config arrives, with keys we ignore', async () => {
    const conf = { ...nodeLocalConf(dataDir), type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: true };
    expect((await call('ADD', conf)).exitCode).toBe(0);
  });
});

describe('VERSION', () => {
  test.each([
    ['{"cniVersion":"0.4.0"}', '0.4.0'],
    ['', '1.1.0'],
    ['garbage', '1.1.0'],
  ])('%j -> %s', async (stdin, version) => {
    const out = await call('VERSION', stdin);
    expect(out.json).toEqual({ cniVersion: version, supportedVersions: [...SUPPORTED_VERSIONS] });
  });
});
