import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDataDir } from '../helpers/run-plugin';
import { addPods, cli, expectUsageError } from './cli';

describe('pod-ipam status', () => {
  const { dir, cleanup } = tempDataDir();
  afterAll(cleanup);
  // /29: 5 addresses besides the gateway, so 5 pods exhaust the IPv4 set.
  const ipam = { ranges: [[{ subnet: '10.1.2.0/29' }], [{ subnet: 'fd00::/120' }]] };
  let held: string[][];
  beforeAll(async () => {
    held = await addPods(dir, ['p1', 'p2', 'p3', 'p4', 'p5'], ipam);
  });

  test('--json: ranges with used/free/total, reservations, exhaustion warning', async () => {
    const r = await cli(['status', '--data-dir', dir, '--json']);
    expect(r.code).toBe(0);
    const net = r.json.networks[0];
    expect(net).toMatchObject({ name: 'testnet', mode: 'node-local' });
    expect(net.ranges).toEqual([
      { set: 0, cidr: '10.1.2.0/29', rangeStart: '10.1.2.1', rangeEnd: '10.1.2.6', gateway: '10.1.2.1', label: null, used: 5, free: 0, total: 5 },
      { set: 1, cidr: 'fd00::/120', rangeStart: 'fd00::1', rangeEnd: 'fd00::ff', gateway: 'fd00::1', label: null, used: 5, free: 249, total: 254 },
    ]);
    expect(net.reservations).toHaveLength(10);
    expect(net.reservations.map((x: { address: string }) => x.address).sort()).toEqual(held.flat().sort());
    expect(net.reservations[0]).toEqual({ address: expect.any(String), containerId: expect.stringMatching(/^p\d$/), ifname: 'eth0', since: expect.stringMatching(/^\d{4}-/), pod: null, range: expect.any(String) });
    expect(net.warnings.join('\n')).toMatch(/range set 0 \(10\.1\.2\.0\/29\) is exhausted/);
    expect(net.warnings.join('\n')).not.toMatch(/range set 1/);
  });

  test('table: a row per range with a bar, the reservations and warnings', async () => {
    const r = await cli(['status', '--data-dir', dir, '--network', 'testnet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^network testnet\s+mode node-local/m);
    expect(r.stdout).toMatch(/10\.1\.2\.0\/29\s+10\.1\.2\.1\s+5\s+0\s+5\s+\[#{20}\] 100\.0%/);
    expect(r.stdout).toMatch(/^ADDRESS\s+POD\s+CONTAINER\s+IFNAME\s+SINCE$/m);
    expect(r.stdout).toMatch(/^10\.1\.2\.\d\s+-\s+p\d\s+eth0/m);
    expect(r.stdout).toMatch(/^warning: range set 0/m);
  });

  test('reservations outside the recorded ranges are reported (ranges changed under them)', async () => {
    const { dir: d2, cleanup: c2 } = tempDataDir();
    try {
      await addPods(d2, ['a'], { ranges: [[{ subnet: '10.9.0.0/24' }]] });
      await addPods(d2, ['b'], { ranges: [[{ subnet: '10.9.1.0/24' }]] });
      const r = await cli(['status', '--data-dir', d2, '--json']);
      expect(r.json.networks[0].ranges.map((x: { cidr: string }) => x.cidr)).toEqual(['10.9.1.0/24']);
      expect(r.json.networks[0].warnings.join('\n')).toMatch(/1 reservation\(s\) outside the current ranges.*10\.9\.0\.2/);
    } finally {
      c2();
    }
  });

  test('a network without recorded ranges still lists its reservations', async () => {
    fs.rmSync(path.join(dir, 'testnet', 'ranges.json'));
    const r = await cli(['status', '--data-dir', dir, '--json']);
    expect(r.json.networks[0]).toMatchObject({ mode: null, ranges: [] });
    expect(r.json.networks[0].reservations).toHaveLength(10);
    await addPods(dir, ['p1'], ipam); // a repeated ADD records them again
    expect(fs.existsSync(path.join(dir, 'testnet', 'ranges.json'))).toBe(true);
  });

  test('unknown network or data dir: exit 1 with the reason; bad arguments: exit 2', async () => {
    const r = await cli(['status', '--data-dir', dir, '--network', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no state for network "nope".*\n.*networks there: testnet/);
    const empty = await cli(['status', '--data-dir', path.join(dir, 'missing')]);
    expect(empty.code).toBe(1);
    expectUsageError(await cli(['status', '--data-dir', 'relative']), /--data-dir.*absolute path/);
    expectUsageError(await cli(['status', '--network', '../etc']), /--network.*not a network name/);
    expectUsageError(await cli(['status', '--bogus']), /unknown option '--bogus'/);
  });
});
