import { cli, expectUsageError } from './cli';

// The fixture routing table (test/cli/fixtures/proc-net) has a default route, 10.0.0.0/16 and fd00::/64 on eth0.
describe('pod-ipam plan', () => {
  test('--json: blocks, pods per block, capacity, headroom; a clear pool works (exit 0)', async () => {
    const r = await cli(['plan', '--pool', '10.8.0.0/16', '--mask-size', '24', '--nodes', '200', '--max-pods', '110', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({
      ok: true, family: 'IPv4', pools: ['10.8.0.0/16'], maskSize: 24, blockAddresses: 256, blocks: 256, usablePerBlock: 253, podCapacity: 64768,
      nodes: 200, headroom: 56, maxPods: 110, maxPodsFits: true, conflicts: [], blocksClear: 256, problems: [],
    });
  });

  test('a /28 cannot serve 110 pods: exit 1 with the reason and the mask that would', async () => {
    const r = await cli(['plan', '--pool', '10.8.0.0/16', '--mask-size', '28', '--max-pods', '110']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/pods per block\s+13/);
    expect(r.stdout).toMatch(/problem: a \/28 block holds 13 pods .* use \/25/);
    expect(r.stderr).toMatch(/the plan cannot work/);
  });

  test('overlaps with --avoid and with the host routes; too many nodes', async () => {
    const r = await cli(['plan', '--pool', '10.0.0.0/15', '--mask-size', '24', '--nodes', '600', '--avoid', '10.1.4.0/22,192.168.0.0/16', '--json']);
    expect(r.code).toBe(1);
    expect(r.json.conflicts).toEqual([
      { cidr: '10.1.4.0/22', source: 'avoid', device: null, blocks: 4 },
      { cidr: '10.0.0.0/16', source: 'route', device: 'eth0', blocks: 256 },
    ]);
    expect(r.json.blocksClear).toBe(512 - 260);
    expect(r.json.problems.join('\n')).toMatch(/600 nodes need 600 blocks but the pools hold 512/);
    const noRoutes = await cli(['plan', '--pool', '10.0.0.0/15', '--mask-size', '24', '--no-routes', '--json']);
    expect(noRoutes.json).toMatchObject({ ok: true, conflicts: [] });
  });

  test('IPv6: big numbers stay exact; the fd00::/64 route is found', async () => {
    const r = await cli(['plan', '--pool', 'fd00::/48', '--mask-size', '112', '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/"blocks": 18446744073709551616,/);
    expect(r.stdout).toMatch(/"podCapacity": 1208888926126481755602944,/);
    expect(r.json.conflicts).toEqual([{ cidr: 'fd00::/64', source: 'route', device: 'eth0', blocks: 281474976710656 }]);
    const huge = await cli(['plan', '--pool', 'fd00::/32', '--mask-size', '120', '--no-routes', '--json']);
    expect(huge.stdout).toMatch(/"blocks": 309485009821345068724781056,/);
  });

  test('bad arguments exit 2 with a clear message', async () => {
    expectUsageError(await cli(['plan', '--mask-size', '24']), /required option '--pool <cidrs>'/);
    expectUsageError(await cli(['plan', '--pool', '10.0.0.0/16']), /required option '--mask-size <n>'/);
    expectUsageError(await cli(['plan', '--pool', '10.0.0.1/16', '--mask-size', '24']), /host bits set; did you mean 10\.0\.0\.0\/16/);
    expectUsageError(await cli(['plan', '--pool', 'banana', '--mask-size', '24']), /"banana" is not a CIDR/);
    expectUsageError(await cli(['plan', '--pool', '10.0.0.0/16', '--mask-size', 'x']), /--mask-size must be a whole number/);
    expectUsageError(await cli(['plan', '--pool', '10.0.0.0/16', '--mask-size', '8']), /--mask-size: \/8 is not longer than the prefix of pool 10\.0\.0\.0\/16/);
    expectUsageError(await cli(['plan', '--pool', '10.0.0.0/16', '--mask-size', '31']), /--mask-size: \/31 blocks are too small/);
    expectUsageError(await cli(['plan', '--pool', '10.0.0.0/16,fd00::/64', '--mask-size', '24']), /mixes IPv4 and IPv6/);
  });
});
