/** The built plugin, spawned as a runtime spawns it: env + stdin in, one JSON document out. */
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

test('ADD, CHECK, DEL through the executable', async () => {
  const conf = nodeLocalConf(dataDir);
  const add = await runPlugin({ command: 'ADD', stdin: conf });
  expect(add).toMatchObject({ code: 0, stderr: '' });
  expect(add.json.ips).toEqual([{ address: '10.1.2.2/24', gateway: '10.1.2.1' }]);
  const check = await runPlugin({ command: 'CHECK', stdin: { ...conf, prevResult: add.json } });
  expect(check).toMatchObject({ code: 0, stdout: '' });
  expect(await runPlugin({ command: 'DEL', stdin: conf })).toMatchObject({ code: 0, stdout: '' });
  const after = await runPlugin({ command: 'CHECK', stdin: { ...conf, prevResult: add.json } });
  expect(after.json.code).toBe(3);
});

test('errors: exit 1, one JSON object on stdout, no stack trace; logs only with POD_IPAM_LOG=debug', async () => {
  const bad = await runPlugin({ command: 'ADD', stdin: '{"cniVersion":' });
  expect(bad.code).toBe(1);
  expect(bad.json).toMatchObject({ cniVersion: '1.1.0', code: 6 });
  expect(bad.stdout).not.toMatch(/\bat .*\.(c?js|ts):\d+/);
  expect(bad.stderr).toBe('');
  const debug = await runPlugin({ command: 'ADD', stdin: '{"cniVersion":', env: { POD_IPAM_LOG: 'debug' } });
  expect(debug.stderr).toContain('pod-ipam:');
  expect(debug.json.code).toBe(6);
});

test('VERSION', async () => {
  const out = await runPlugin({ command: 'VERSION', stdin: '{"cniVersion":"0.4.0"}' });
  expect(out.json).toEqual({ cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
});

test('without CNI_COMMAND it is the operator CLI', async () => {
  const help = await runPlugin({ command: undefined, argv: ['--help'] });
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: pod-ipam');
  const version = await runPlugin({ command: undefined, argv: ['--version'] });
  expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  const bad = await runPlugin({ command: undefined, argv: ['--no-such-flag'] });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('unknown option');
  expect(bad.stderr).not.toMatch(/\n\s+at /);
});
