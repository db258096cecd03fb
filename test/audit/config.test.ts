/**
 * The log keys through the real dispatch, in process: bad values are code 7 with the JSON
 * path and change no state; "" turns the log off; levels decide which calls are logged;
 * a refused config is still logged where its own keys point.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dispatch } from '../../src/cni/dispatch';
import { bestEffortLogConfig } from '../../src/cni/log-config';
import { readLog } from '../../src/audit/reader';
import { isAuditLogFile } from '../helpers/audit-log';
import { nodeLocalConf, tempDataDir } from '../helpers/run-plugin';

const quiet = { debug: () => undefined, warn: () => undefined };
let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir('pod-ipam-audit-conf-')));
afterEach(() => cleanup());

const env = (command: string, extra: Record<string, string> = {}) => ({ CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...extra });
async function call(command: string, conf: unknown, extra: Record<string, string> = {}) {
  const out = await dispatch(env(command, extra), JSON.stringify(conf), quiet);
  return { exitCode: out.exitCode, json: out.stdout ? JSON.parse(out.stdout) : undefined };
}
const log = () => readLog(path.join(dataDir, 'pod-ipam.log')).records;
const state = () => fs.readdirSync(dataDir, { recursive: true }).map(String).filter((f) => !isAuditLogFile(f)).sort();

test.each([
  ['logFile', 'relative/audit.log', /^ipam\.logFile: must be an absolute path/],
  ['logFile', 7, /^ipam\.logFile: must be a string/],
  ['logLevel', 'verbose', /^ipam\.logLevel: must be one of debug, info, error/],
  ['logMaxBytes', 100, /^ipam\.logMaxBytes: must be a number from 1024/],
  ['logMaxBytes', 4096.5, /^ipam\.logMaxBytes: must be a whole number/],
  ['logMaxBytes', '10MiB', /^ipam\.logMaxBytes: must be a number/],
  ['logMaxFiles', 0, /^ipam\.logMaxFiles: must be a number from 1 to 20/],
])('%s %p is code 7 naming the field; no state changes', async (key, value, msg) => {
  const out = await call('ADD', nodeLocalConf(dataDir, {}, { [key]: value }));
  expect(out.json.code).toBe(7);
  expect(out.json.msg).toMatch(msg);
  expect(state()).toEqual([]);
  // The refusal itself is logged, at the default place (the bad key replaced by its default).
  expect(log()).toMatchObject([{ verb: 'ADD', level: 'error', error: { code: 7 } }]);
});

test('logFile "" turns the log off', async () => {
  expect((await call('ADD', nodeLocalConf(dataDir, {}, { logFile: '' }))).exitCode).toBe(0);
  expect(fs.readdirSync(dataDir).filter(isAuditLogFile)).toEqual([]);
});

test('level info: every call but a successful STATUS; error: failures only; debug: everything but VERSION', async () => {
  for (const [level, expected] of [
    ['info', ['ADD', 'ADD', 'ADD', 'STATUS']],
    ['error', ['ADD', 'STATUS']],
    ['debug', ['ADD', 'ADD', 'ADD', 'STATUS', 'STATUS']],
  ] as const) {
    const file = path.join(dataDir, `${level}.log`);
    const ok = nodeLocalConf(dataDir, { name: level }, { logFile: file, logLevel: level });
    const tiny = nodeLocalConf(dataDir, { name: level }, { logFile: file, logLevel: level, ranges: [[{ subnet: '10.9.0.0/30' }]] });
    await call('ADD', ok);
    await call('STATUS', ok);
    await call('VERSION', ok);
    await call('ADD', tiny, { CNI_CONTAINERID: 'c2' }); // 10.9.0.2 is the only address: served
    await call('ADD', tiny, { CNI_CONTAINERID: 'c3' }); // exhausted: code 100
    await call('STATUS', tiny); // code 50
    const verbs = readLog(file).records.map((r) => r.verb);
    const failures = readLog(file).records.filter((r) => r.error).map((r) => r.error!.code);
    expect(failures).toEqual([100, 50]);
    expect(verbs.sort()).toEqual([...expected].sort());
  }
});

test('a custom logFile and a config refused before its ipam keys were read', async () => {
  const file = path.join(dataDir, 'logs', 'audit.log');
  const out = await call('ADD', { ...nodeLocalConf(dataDir, {}, { logFile: file }), cniVersion: '9.9.9' });
  expect(out.json.code).toBe(1);
  expect(readLog(file).records).toMatchObject([{ verb: 'ADD', network: 'testnet', containerId: 'c1', error: { code: 1 } }]);
});

test('where a refused config is logged', () => {
  expect(bestEffortLogConfig('not json', '/var/lib/x')).toBeUndefined();
  expect(bestEffortLogConfig('{"name":"n"}', '/var/lib/x')).toBeUndefined(); // no ipam: no telling
  expect(bestEffortLogConfig('{"ipam":{}}', '/var/lib/x')?.file).toBe('/var/lib/x/pod-ipam.log');
  expect(bestEffortLogConfig('{"ipam":{"dataDir":"rel"}}', '/var/lib/x')).toBeUndefined();
  expect(bestEffortLogConfig('{"ipam":{"dataDir":"rel","logFile":"/l/a.log"}}', '/var/lib/x')?.file).toBe('/l/a.log');
  expect(bestEffortLogConfig('{"ipam":{"dataDir":"/d","logFile":""}}', '/var/lib/x')?.file).toBeUndefined();
  expect(bestEffortLogConfig('{"ipam":{"dataDir":"/d","logLevel":"loud","logMaxBytes":5}}', '/var/lib/x')).toEqual({ file: '/d/pod-ipam.log', level: 'info', maxBytes: 10 * 1024 * 1024, maxFiles: 1 });
});

test('the verbs can add to the line through req.audit (exhausted set and refused address from the errors)', async () => {
  const conf = nodeLocalConf(dataDir, {}, { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/126' }]] });
  await call('ADD', conf, { CNI_CONTAINERID: 'a' });
  await call('ADD', conf, { CNI_CONTAINERID: 'b' });
  await call('ADD', conf, { CNI_CONTAINERID: 'c', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-3' });
  await call('ADD', conf, { CNI_CONTAINERID: 'd', CNI_ARGS: 'IP=10.1.2.2,fd00::3' });
  const [, , exhausted, refused] = log();
  expect(exhausted).toMatchObject({ containerId: 'c', pod: { namespace: 'default', name: 'web-3' }, exhausted: { set: 1 }, error: { code: 100 } });
  expect(refused).toMatchObject({ containerId: 'd', requested: ['10.1.2.2', 'fd00::3'], refused: { address: '10.1.2.2' }, error: { code: 101 } });
  expect(refused!.refused!.reason).toMatch(/already reserved for a\/eth0|already reserved/);
});

test.each(['pod-ipam.log', 'pod-ipam.log.1', 'pod-ipam.log.lock'])('a network named %p (the default log file) is code 7 naming logFile; no state; with a logFile of its own it works', async (name) => {
  const out = await call('ADD', nodeLocalConf(dataDir, { name }));
  expect(out.json.code).toBe(7);
  expect(out.json.msg).toMatch(/^ipam\.logFile: the network's name .* is the default audit log's file name/);
  expect(fs.readdirSync(dataDir).filter((f) => f === name)).toEqual([]);
  const file = path.join(dataDir, 'elsewhere.log');
  expect((await call('ADD', nodeLocalConf(dataDir, { name }, { logFile: file }))).exitCode).toBe(0);
  expect(readLog(file).records).toMatchObject([{ verb: 'ADD', network: name, level: 'info' }]);
});
