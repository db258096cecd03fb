import * as fs from 'node:fs';
import * as path from 'node:path';
import { runPlugin, tempDataDir } from '../helpers/run-plugin';
import { cli, expectUsageError } from './cli';

/** Three simulated nodes share a file cluster store; node n1's state is this host's. */
describe('pod-ipam blocks and metrics (cluster-pool)', () => {
  const { dir, cleanup } = tempDataDir();
  afterAll(cleanup);
  const store = path.join(dir, 'store');
  const ipam = (node: string) => ({ type: 'pod-ipam', mode: 'cluster-pool', nodeName: node, dataDir: path.join(dir, node), clusterPoolIPv4PodCIDRList: ['10.0.0.0/22'], clusterPoolIPv4MaskSize: 28, clusterStore: { type: 'file', path: store } });
  const conflist = path.join(dir, 'n1.conflist');
  beforeAll(async () => {
    fs.writeFileSync(conflist, JSON.stringify({ cniVersion: '1.1.0', name: 'pods', plugins: [{ type: 'bridge', ipam: ipam('n1') }] }));
    const adds: [string, number][] = [['n1', 8], ['n2', 2], ['n3', 1]];
    for (const [node, pods] of adds) {
      for (let i = 0; i < pods; i++) {
        const r = await runPlugin({ command: 'ADD', containerId: `${node}-${i}`, stdin: { cniVersion: '1.1.0', name: 'pods', ipam: ipam(node) } });
        expect(r.code).toBe(0);
      }
    }
  });

  test('blocks --json: each claimed block with its node; use known for this host\'s blocks', async () => {
    const r = await cli(['blocks', '--config', conflist, '--json']);
    expect(r.code).toBe(0);
    expect(r.json.pools).toEqual([{ family: 'IPv4', pools: ['10.0.0.0/22'], maskSize: 28, blocks: 64 }]);
    expect(r.json.blocks).toHaveLength(3);
    const mine = r.json.blocks.filter((b: { used: number | null }) => b.used !== null);
    expect(mine).toEqual([{ block: expect.stringMatching(/^10\.0\.\d+\.\d+\/28$/), node: expect.stringContaining('n1'), index: expect.any(Number), used: 8, capacity: 13 }]);
    const status = await cli(['status', '--data-dir', path.join(dir, 'n1'), '--json']);
    expect(status.json.networks[0].details.blocks).toEqual([mine[0].block]);
  });

  test('blocks table and picture: one cell per block, owner letters, upper case when half used; --svg', async () => {
    const svg = path.join(dir, 'pool.svg');
    const r = await cli(['blocks', 'show', '--config', conflist, '--svg', svg]);
    expect(r.code).toBe(0);
    const picture = r.stdout.split('\n').find((l) => /^[.a-zA-Z]{64}$/.test(l));
    expect(picture).toBeDefined();
    expect(picture!.replace(/\./g, '')).toHaveLength(3);
    expect(picture).toMatch(/[A-Z]/); // n1's block: 8 of 13 used
    const text = fs.readFileSync(svg, 'utf8');
    expect(text).toMatch(/^<\?xml/);
    expect(text.match(/<rect [^>]*><title>/g)).toHaveLength(64);
    expect(text).toMatch(/8 of|62% used/);
  });

  test('blocks list (cluster-pool engineer\'s) still works beside show', async () => {
    const r = await cli(['blocks', 'list', '--config', conflist]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
  });

  test('metrics: Prometheus text with per-range use and capacity, blocks per node, pool capacity', async () => {
    const r = await cli(['metrics', '--data-dir', path.join(dir, 'n1'), '--config', conflist]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^# TYPE pod_ipam_range_addresses_used gauge$/m);
    expect(r.stdout).toMatch(/^pod_ipam_range_addresses_used\{network="pods",range_set="0",range="10\.0\.\d+\.\d+\/28"\} 8$/m);
    expect(r.stdout).toMatch(/^pod_ipam_range_addresses_capacity\{network="pods",range_set="0",range="[^"]+"\} 13$/m);
    expect(r.stdout).toMatch(/^pod_ipam_pool_blocks_capacity\{network="pods",family="ipv4"\} 64$/m);
    expect(r.stdout).toMatch(/^pod_ipam_pool_blocks_claimed\{network="pods",family="ipv4"\} 3$/m);
    expect(r.stdout.match(/^pod_ipam_node_blocks\{/gm)).toHaveLength(3);
    // Every sample line is "name{labels} value" and every family has HELP and TYPE.
    for (const line of r.stdout.trim().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) pod_ipam_[a-z_]+ .+|pod_ipam_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? \d+)$/);
    const out = path.join(dir, 'pod_ipam.prom');
    const w = await cli(['metrics', '--data-dir', path.join(dir, 'n1'), '--output', out]);
    expect(w.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/pod_ipam_reservations\{network="pods",mode="cluster-pool"\} 8/);
  });

  test('bad arguments: exit 2; a config without cluster-pool: exit 1', async () => {
    expectUsageError(await cli(['blocks']), /required option '-c, --config <file>'/);
    expectUsageError(await cli(['metrics', '--data-dir', 'x']), /absolute path/);
    const other = path.join(dir, 'local.conf');
    fs.writeFileSync(other, JSON.stringify({ cniVersion: '1.1.0', name: 'x', ipam: { type: 'pod-ipam', ranges: [[{ subnet: '10.1.0.0/24' }]] } }));
    const r = await cli(['blocks', '--config', other]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no pod-ipam plugin with ipam.mode "cluster-pool"/);
  });
});
