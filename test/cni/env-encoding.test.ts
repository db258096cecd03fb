/**
 * Environment values that are not valid UTF-8: the runtime hands the plugin raw bytes and
 * the executable decodes them lossily (invalid bytes become U+FFFD), so $'e\xff' and
 * $'e\xfe' would be one attachment. They are refused, code 4, naming the variable. The
 * bytes are set by bash ($'...'), since Node.js can only pass valid UTF-8 to a child.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { EXECUTABLE, nodeLocalConf, tempDataDir } from '../helpers/run-plugin';

let dataDir: string;
let cleanup: () => void;
beforeEach(() => ({ dir: dataDir, cleanup } = tempDataDir()));
afterEach(() => cleanup());

/** Runs the plugin with `assignments` written in bash syntax, e.g. CNI_IFNAME=$'e\xff'. */
function run(command: string, assignments: string) {
  const script = `CNI_COMMAND=${command} CNI_CONTAINERID=c1 CNI_NETNS=/x CNI_IFNAME=eth0 CNI_PATH=/opt/cni/bin ${assignments} exec "$0"`;
  const out = spawnSync('bash', ['-c', script, EXECUTABLE], { input: JSON.stringify(nodeLocalConf(dataDir)), encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 30000 });
  return { status: out.status, json: out.stdout ? JSON.parse(out.stdout) : undefined };
}
const state = () => fs.readdirSync(dataDir, { recursive: true }).map(String).filter((f) => !f.startsWith('pod-ipam.log')).sort();

test.each([
  ['CNI_IFNAME', "CNI_IFNAME=$'e\\xff'"],
  ['CNI_CONTAINERID', "CNI_CONTAINERID=$'c\\xfe1'"],
  ['CNI_ARGS', "CNI_ARGS=$'K8S_POD_NAME=w\\xffeb'"],
])('%s that is not UTF-8: code 4 naming it, nothing written', (name, assignment) => {
  const before = state();
  const out = run('ADD', assignment);
  expect(out.status).not.toBe(0);
  expect(out.json.code).toBe(4);
  expect(out.json.msg).toContain(`${name} is not valid UTF-8`);
  expect(state()).toEqual(before);
});

test('two undecodable interface names never share an address, and DEL of one frees nothing', () => {
  expect(run('ADD', "CNI_IFNAME=$'e\\xff'").json.code).toBe(4);
  expect(run('ADD', "CNI_IFNAME=$'e\\xfe'").json.code).toBe(4);
  expect(run('DEL', "CNI_IFNAME=$'e\\xfe'").json.code).toBe(4);
  const clean = run('ADD', 'CNI_IFNAME=eth1');
  expect(clean.status).toBe(0);
  expect(clean.json.ips[0].address).toBe('10.1.2.2/24');
});
