/**
 * Config values chosen to break lookups and paths, through the executable: mode names that
 * are Object.prototype's properties, data directories the kernel cannot use, and (for
 * `pod-ipam validate`) a document nested deeper than a recursive walk can go.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';
import { cli } from '../cli/cli';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

test.each(['__proto__', 'toString', 'constructor', 'hasOwnProperty'])('mode %j is an unknown mode: code 7 for the plugin, a problem for validate', async (mode) => {
  const conf = nodeLocalConf(dataDir, {}, { mode });
  const out = await runPlugin({ command: 'ADD', stdin: conf });
  expect(out.json).toMatchObject({ code: 7, msg: expect.stringContaining(`ipam.mode: unknown mode ${JSON.stringify(mode)}`) });
  const file = path.join(dataDir, 'net.conf');
  fs.writeFileSync(file, JSON.stringify(conf));
  const validated = await cli(['validate', file, '--json']);
  expect(validated.code).toBe(1);
  expect(validated.json).toMatchObject({ problems: [{ path: 'ipam.mode', message: expect.stringContaining('unknown mode') }] });
});

test.each([
  ['a NUL character', () => `${dataDir}/a\u0000b`, /must not contain a NUL/],
  ['more than PATH_MAX bytes', () => `${dataDir}/${'d/'.repeat(2100)}`, /PATH_MAX/],
  ['a component longer than NAME_MAX', () => `${dataDir}/${'a'.repeat(300)}`, /NAME_MAX/],
  ['a regular file', () => path.join(dataDir, 'file'), /exists and is not a directory/],
  ['a path through a regular file', () => path.join(dataDir, 'file', 'sub'), /passes through something that is not a directory/],
])('a dataDir with %s is a config error (code 7), and nothing is written', async (_name, dir, message) => {
  fs.writeFileSync(path.join(dataDir, 'file'), 'not a directory');
  const before = fs.readdirSync(dataDir).sort();
  const out = await runPlugin({ command: 'ADD', stdin: nodeLocalConf(dir()) });
  expect(out.json).toMatchObject({ code: 7, msg: expect.stringMatching(message) });
  expect(out.json.msg).toMatch(/^ipam\.dataDir: /);
  expect(fs.readdirSync(dataDir).sort()).toEqual(before);
});

test('validate reports a very deeply nested config as the plugin does, not as an internal error', async () => {
  const depth = 200_000;
  const text = `{"cniVersion":"1.1.0","name":"n","ipam":{"type":"pod-ipam","dataDir":${JSON.stringify(dataDir)},"ranges":[[{"subnet":"10.1.2.0/24"}]],"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
  const file = path.join(dataDir, 'deep.conf');
  fs.writeFileSync(file, text);
  const plugin = await runPlugin({ command: 'ADD', stdin: text });
  const validated = await cli(['validate', file]);
  expect(validated.stderr).not.toMatch(/internal error/);
  expect(plugin.code).toBe(0); // the plugin ignores keys it does not use
  expect(validated.code).toBe(0);
  expect(validated.stdout).toContain('valid conf');
});
