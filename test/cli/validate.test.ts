import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDataDir } from '../helpers/run-plugin';
import { cli, expectUsageError } from './cli';

describe('pod-ipam validate', () => {
  const { dir, cleanup } = tempDataDir();
  afterAll(cleanup);
  const write = (name: string, doc: unknown): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
    return file;
  };

  test('a conflist: every problem with its JSON path, prefixed by the plugin', async () => {
    const file = write('bad.conflist', {
      cniVersion: '1.1.0',
      name: 'pods',
      plugins: [
        { type: 'portmap' },
        {
          type: 'bridge',
          ipam: {
            type: 'pod-ipam',
            dataDir: 'relative',
            routes: [{ dst: 'nope' }],
            ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.1.2.128/25' }], [{ subnet: '10.1.3.5/24' }], [{ subnet: 'fd00::/64', gateway: 'fe80::1' }]],
          },
        },
      ],
    });
    const r = await cli(['validate', file, '--json']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ file, kind: 'conflist', valid: false, entries: [] });
    expect(r.json.problems.map((p: { path: string }) => p.path)).toEqual([
      'plugins[1].ipam.dataDir',
      'plugins[1].ipam.routes[0].dst',
      'plugins[1].ipam.ranges[1][0].subnet',
      'plugins[1].ipam.ranges[2][0].gateway',
      'plugins[1].ipam.ranges[0][1]',
    ]);
    expect(r.json.problems[4].message).toMatch(/overlaps plugins\[1\]\.ipam\.ranges\[0\]\[0\]/);
    const table = await cli(['validate', file]);
    expect(table.stdout).toMatch(/5 problem\(s\)/);
    expect(table.stdout).toMatch(/^plugins\[1\]\.ipam\.ranges\[1\]\[0\]\.subnet\s+10\.1\.3\.5\/24 has host bits set/m);
  });

  test('the plugin rejects what validate rejects, with the first problem (CNI code 7)', async () => {
    const { runPlugin } = await import('../helpers/run-plugin');
    const conf = { cniVersion: '1.1.0', name: 'n', ipam: { type: 'pod-ipam', dataDir: dir, ranges: [[{ subnet: '10.1.3.5/24' }], [{ subnet: 'bogus' }]] } };
    const v = await cli(['validate', write('n.conf', conf), '--json']);
    expect(v.json.problems.map((p: { path: string }) => p.path)).toEqual(['ipam.ranges[0][0].subnet', 'ipam.ranges[1][0].subnet']);
    const add = await runPlugin({ command: 'ADD', stdin: conf });
    expect(add.json).toMatchObject({ code: 7 });
    expect(add.json.msg).toContain(v.json.problems[0].path);
  });

  test('a valid conf and a valid bare ipam object (paths without "ipam.")', async () => {
    const ok = await cli(['validate', write('ok.conf', { cniVersion: '1.0.0', name: 'pods', type: 'bridge', ipam: { type: 'pod-ipam', ranges: [[{ subnet: '10.1.2.0/24' }]] } })]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/valid conf \(network pods, mode node-local\)/);
    const bare = await cli(['validate', write('ipam.json', { type: 'pod-ipam', ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.1.2.0/25' }]] }), '--json']);
    expect(bare.json).toMatchObject({ kind: 'ipam', valid: false, problems: [{ path: 'ranges[0][1]', message: expect.stringMatching(/overlaps ranges\[0\]\[0\]/) }] });
  });

  test('envelope problems: name, cniVersion, no pod-ipam plugin, other modes', async () => {
    const env = await cli(['validate', write('env.conf', { cniVersion: '9.9.9', name: 'bad name', ipam: { type: 'host-local' } }), '--json']);
    expect(env.json.problems.map((p: { path: string }) => p.path)).toEqual(['cniVersion', 'name', 'ipam.type', 'ipam.ranges']);
    const none = await cli(['validate', write('none.conflist', { cniVersion: '1.1.0', name: 'x', plugins: [{ type: 'bridge', ipam: { type: 'host-local' } }] }), '--json']);
    expect(none.json.problems).toEqual([{ path: 'plugins', message: expect.stringMatching(/no plugin has an ipam of type "pod-ipam"/) }]);
    const cp = await cli(['validate', write('cp.json', { type: 'pod-ipam', mode: 'cluster-pool', clusterPoolIPv4PodCIDRList: ['10.0.0.0/8'], clusterPoolIPv4MaskSize: 4 }), '--json']);
    expect(cp.json.problems).toEqual([{ path: 'clusterPoolIPv4MaskSize', message: expect.stringMatching(/not longer than the prefix of pool 10\.0\.0\.0\/8/) }]);
    const mode = await cli(['validate', write('mode.json', { type: 'pod-ipam', mode: 'magic' }), '--json']);
    expect(mode.json.problems).toEqual([{ path: 'mode', message: expect.stringMatching(/unknown mode "magic"/) }]);
  });

  test('unreadable or non-JSON file: exit 1; no file argument: exit 2', async () => {
    const missing = await cli(['validate', path.join(dir, 'nope.conf')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.conf: ENOENT/);
    const garbage = await cli(['validate', write('garbage.conf', '{"cniVersion": ')]);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/is not valid JSON/);
    expectUsageError(await cli(['validate']), /missing required argument 'file'/);
  });
});
