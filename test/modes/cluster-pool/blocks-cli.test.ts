/**
 * `pod-ipam blocks list|release` through the built executable, against the file store and
 * simulated nodes whose local state lives on this host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runPlugin, tempDataDir } from '../../helpers/run-plugin';

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = tempDataDir('pod-ipam-cpcli-');
});
afterEach(() => tmp.cleanup());

function conflist(node: string) {
  return {
    cniVersion: '1.1.0',
    name: 'podnet',
    plugins: [{ type: 'bridge', ipam: { type: 'pod-ipam', mode: 'cluster-pool', nodeName: node, dataDir: path.join(tmp.dir, node), clusterPoolIPv4PodCIDRList: ['10.80.0.0/16'], clusterStore: { type: 'file', path: path.join(tmp.dir, 'store') } } }],
  };
}

function writeConf(node: string): string {
  const file = path.join(tmp.dir, `${node}.conflist`);
  fs.writeFileSync(file, JSON.stringify(conflist(node)));
  return file;
}

const cli = (...argv: string[]) => runPlugin({ command: undefined, argv });
const add = (node: string, containerId: string) => runPlugin({ command: 'ADD', containerId, stdin: { ...conflist(node).plugins[0], cniVersion: '1.1.0', name: 'podnet' } });
const del = (node: string, containerId: string) => runPlugin({ command: 'DEL', containerId, stdin: { ...conflist(node).plugins[0], cniVersion: '1.1.0', name: 'podnet' } });

test('release refuses a node with live reservations, frees it once its pods are gone', async () => {
  expect((await add('a', 'c1')).code).toBe(0);
  expect((await add('b', 'c1')).code).toBe(0);
  const conf = writeConf('a');
  const listed = await cli('blocks', 'list', '--config', conf);
  expect(listed.code).toBe(0);
  expect(listed.stdout.trim().split('\n').map((l) => l.split('\t')[1]).sort()).toEqual(['a/podnet', 'b/podnet']);

  const refused = await cli('blocks', 'release', '--config', conf, '--node', 'a');
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/still holds 1 reservation.*--force/);
  expect((await cli('blocks', 'list', '--config', conf)).stdout).toMatch(/\ta\/podnet\n/);

  expect((await del('a', 'c1')).code).toBe(0);
  const released = await cli('blocks', 'release', '--config', conf, '--node', 'a');
  expect(released.code).toBe(0);
  expect(released.stdout).toMatch(/^released 10\.80\.\d+\.0\/24 \(node a\)$/m);
  expect((await cli('blocks', 'list', '--config', conf)).stdout.trim().split('\n')).toHaveLength(1);
  expect((await cli('blocks', 'release', '--config', conf, '--node', 'a')).stdout).toMatch(/owns no blocks/);
});

test('--force frees a busy node and drops the blocks from its local record', async () => {
  expect((await add('a', 'c1')).code).toBe(0);
  const conf = writeConf('a');
  const forced = await cli('blocks', 'release', '--config', conf, '--node', 'a', '--force');
  expect(forced.code).toBe(0);
  expect(forced.stderr).toMatch(/--force/);
  const record = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'a', 'podnet', 'cluster-pool.json'), 'utf8'));
  expect(record.blocks).toEqual([]);
  expect((await cli('blocks', 'list', '--config', conf)).stdout).toBe('');
});

test('a node whose state is not on this host is released with a note once its heartbeat has run out', async () => {
  expect((await add('gone', 'c1')).code).toBe(0);
  const conf = writeConf('other');
  expect((await cli('blocks', 'release', '--config', conf, '--node', 'gone')).stderr).toMatch(/looks alive/);
  // Its heartbeat ran out (an explicit time in the past, not a wait).
  const past = new Date(Date.now() - 60000).toISOString();
  fs.writeFileSync(path.join(tmp.dir, 'store', 'heartbeats', 'gone%2Fpodnet'), JSON.stringify({ at: past, until: past }));
  const out = await cli('blocks', 'release', '--config', conf, '--node', 'gone');
  expect(out.code).toBe(0);
  expect(out.stderr).toMatch(/no local state/);
  expect(out.stderr).toMatch(/has sent no heartbeat/);
  expect(out.stdout).toMatch(/released/);
});

test('bad input is a one-line error, never a stack trace', async () => {
  const missing = await cli('blocks', 'release', '--config', path.join(tmp.dir, 'nope'), '--node', 'a');
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/cannot read/);
  const notCp = path.join(tmp.dir, 'nl.conf');
  fs.writeFileSync(notCp, JSON.stringify({ cniVersion: '1.1.0', name: 'n', ipam: { type: 'pod-ipam' } }));
  const wrong = await cli('blocks', 'list', '--config', notCp);
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(/no plugin whose ipam.mode is "cluster-pool"/);
  const noNode = await cli('blocks', 'release', '--config', notCp);
  expect(noNode.code).toBe(2);
  for (const out of [missing, wrong, noNode]) expect(out.stderr).not.toMatch(/\n\s+at /);
});
