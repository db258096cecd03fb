import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDataDir } from '../helpers/run-plugin';
import { addPods, cli, expectUsageError } from './cli';

const ipam = { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/120' }]] };
const addresses = async (dir: string): Promise<string[]> => (await cli(['status', '--data-dir', dir, '--json'])).json.networks[0].reservations.map((r: { address: string }) => r.address).sort();

describe('pod-ipam release', () => {
  const { dir, cleanup } = tempDataDir();
  afterAll(cleanup);
  let held: string[][];
  beforeAll(async () => {
    held = await addPods(dir, ['alpha', 'beta', 'gamma'], ipam);
  });

  test('--dry-run shows what would go and changes nothing', async () => {
    const r = await cli(['release', '--data-dir', dir, '--network', 'testnet', '--container', 'alpha', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toEqual({ network: 'testnet', dryRun: true, released: held[0]!.map((address) => ({ address, pod: null, containerId: 'alpha', ifname: 'eth0', since: expect.any(String) })) });
    expect(await addresses(dir)).toHaveLength(6);
  });

  test('--container frees every address of the container, --ip one address', async () => {
    const r = await cli(['release', '--data-dir', dir, '--network', 'testnet', '--container', 'alpha', '--ifname', 'eth0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^released 2 address\(es\) in network testnet/);
    const ip = await cli(['release', '--data-dir', dir, '--network', 'testnet', '--ip', held[1]![0]!, '--json']);
    expect(ip.json.released).toEqual([{ address: held[1]![0], pod: null, containerId: 'beta', ifname: 'eth0', since: expect.any(String) }]);
    expect(await addresses(dir)).toEqual([held[1]![1]!, ...held[2]!].sort());
    // The freed address can be handed out again (the attachment index was updated too).
    expect(fs.existsSync(path.join(dir, 'testnet', 'attachments', 'alpha:eth0'))).toBe(false);
  });

  test('nothing matching is a no-op, said on stderr', async () => {
    const r = await cli(['release', '--data-dir', dir, '--network', 'testnet', '--ip', '10.9.9.9']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/nothing to release/);
  });

  test('bad arguments exit 2 with a clear message', async () => {
    expectUsageError(await cli(['release', '--data-dir', dir, '--network', 'testnet']), /give --ip ADDR, --container ID or --pod NAMESPACE\/NAME/);
    expectUsageError(await cli(['release', '--data-dir', dir, '--container', 'x']), /required option '--network <name>'/);
    expectUsageError(await cli(['release', '--data-dir', dir, '--network', 'testnet', '--ip', '10.1.2.300']), /--ip.*not an IP address/);
    expectUsageError(await cli(['release', '--data-dir', dir, '--network', 'testnet', '--ip', '10.1.2.2', '--container', 'x']), /cannot be used with/);
    expectUsageError(await cli(['release', '--data-dir', dir, '--network', 'testnet', '--ifname', 'eth0']), /--ifname needs --container/);
  });
});

describe('pod-ipam gc', () => {
  const { dir, cleanup } = tempDataDir();
  afterAll(cleanup);
  const keep = path.join(dir, 'keep.txt');
  const longId = 'a'.repeat(64);
  beforeAll(async () => {
    await addPods(dir, [longId, 'b1', 'c1'], ipam);
  });

  test('--dry-run lists reservations of containers not in the keep file; prefixes of 12+ characters keep', async () => {
    fs.writeFileSync(keep, `# from crictl pods -q\n${longId.slice(0, 13)}\n\nb1\n`);
    const r = await cli(['gc', '--data-dir', dir, '--network', 'testnet', '--keep-file', keep, '--grace', '0', '--dry-run', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.dryRun).toBe(true);
    expect(r.json.kept).toBe(4);
    expect(r.json.released.map((x: { containerId: string }) => x.containerId)).toEqual(['c1', 'c1']);
    expect(await addresses(dir)).toHaveLength(6);
  });

  test('releases them for real', async () => {
    const r = await cli(['gc', '--data-dir', dir, '--network', 'testnet', '--keep-file', keep, '--grace', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^released 2 address\(es\) in network testnet; 4 kept/);
    expect(await addresses(dir)).toHaveLength(4);
  });

  test('an empty keep file is refused unless --allow-empty', async () => {
    fs.writeFileSync(keep, '\n');
    const r = await cli(['gc', '--data-dir', dir, '--network', 'testnet', '--keep-file', keep]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/lists no container.*\n.*--allow-empty/);
    expect(await addresses(dir)).toHaveLength(4);
    const all = await cli(['gc', '--data-dir', dir, '--network', 'testnet', '--keep-file', keep, '--grace', '0', '--allow-empty', '--json']);
    expect(all.json.released).toHaveLength(4);
    expect(await addresses(dir)).toEqual([]);
  });

  test('missing keep file: exit 1; missing option: exit 2', async () => {
    const r = await cli(['gc', '--data-dir', dir, '--network', 'testnet', '--keep-file', path.join(dir, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read the keep file .*ENOENT/);
    expectUsageError(await cli(['gc', '--data-dir', dir, '--network', 'testnet']), /required option '--keep-file <file>'/);
  });
});

describe('pod-ipam gc: pods that started while the keep file was written', () => {
  const { dir, cleanup } = tempDataDir();
  afterAll(cleanup);
  const keep = path.join(dir, 'keep.txt');
  const sinceOf = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await cli(['status', '--data-dir', dir, '--json'])).json.networks[0].reservations.map((r: { containerId: string; since: string }) => [r.containerId, Date.parse(r.since)]));
  /** Writes the keep file (listing only `alive`) as if it had been written at `at` (ms). */
  const keepFile = (at: number, ...alive: string[]) => {
    fs.writeFileSync(keep, `${alive.join('\n')}\n`);
    fs.utimesSync(keep, at / 1000, at / 1000);
  };
  const gc = async (...extra: string[]) => (await cli(['gc', '--data-dir', dir, '--network', 'testnet', '--keep-file', keep, '--dry-run', '--json', ...extra])).json.released.map((r: { containerId: string }) => r.containerId).sort();

  beforeAll(async () => {
    await addPods(dir, ['listed', 'gone', 'starting'], ipam);
  });

  test('a reservation made after the keep file was written is kept (the README recipe\'s window)', async () => {
    const since = await sinceOf();
    keepFile(since.starting! - 1, 'listed'); // "starting" got its address after the listing
    expect(await gc('--grace', '0')).toEqual(['gone', 'gone']);
  });

  test('--grace keeps reservations made shortly before the file was written; 0 does not', async () => {
    const since = await sinceOf();
    keepFile(Math.max(since.starting!, since.gone!) + 30_000, 'listed'); // written 30 s after both
    expect(await gc()).toEqual([]); // default grace (120 s) keeps both
    expect(await gc('--grace', '10')).toEqual(['gone', 'gone', 'starting', 'starting']);
    expect(await gc('--grace', '0')).toEqual(['gone', 'gone', 'starting', 'starting']);
  });

  test('a bad --grace is a usage error', async () => {
    expectUsageError(await cli(['gc', '--data-dir', dir, '--network', 'testnet', '--keep-file', keep, '--grace', '-1']), /--grace.*must be a duration/);
  });
});
