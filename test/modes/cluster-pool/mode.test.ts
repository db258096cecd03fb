/**
 * The cluster-pool mode in-process, with the file store in a temp directory: claims,
 * restarts, adoption, growth, exhaustion, config changes, and that a node holding its
 * block never touches the store.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PoolExhaustedError } from '../../../src/core/errors';
import { formatCidr } from '../../../src/core/ip';
import type { RangeSet } from '../../../src/core/range-set';
import { createClusterPoolMode } from '../../../src/modes/cluster-pool';
import type { ModeContext } from '../../../src/modes/mode';
import { openClusterStore } from '../../../src/store/cluster/cluster-store';
import { FileClusterStore } from '../../../src/store/cluster/file-cluster-store';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-cpmode-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const storeDir = () => path.join(tmp, 'cluster');

function node(name: string, ipam: Record<string, unknown> = {}, warnings: string[] = [], network = 'net') {
  const dataDir = path.join(tmp, name);
  const stateDir = path.join(dataDir, network);
  fs.mkdirSync(stateDir, { recursive: true });
  const ctx: ModeContext = { network, stateDir, dataDir, env: {}, runtimeConfig: {}, cniArgs: new Map(), log: () => undefined, warn: (m) => warnings.push(m) };
  return createClusterPoolMode({ type: 'pod-ipam', mode: 'cluster-pool', nodeName: name, clusterPoolIPv4PodCIDRList: ['10.0.0.0/16'], clusterStore: { type: 'file', path: storeDir() }, ...ipam }, ctx);
}

const subnets = (sets: RangeSet[]) => sets.map((s) => s.map((r) => formatCidr(r.subnet)));
const owners = async () => Object.fromEntries((await (await openClusterStore({ type: 'file', path: storeDir() })).list()).map((o) => [o.block, o.node]));

test('first call claims a block; gateway is its first usable address', async () => {
  const sets = await node('a').rangeSets();
  expect(sets).toHaveLength(1);
  const range = sets[0]![0]!;
  expect(range.subnet.prefix).toBe(24);
  expect(range.gateway.value).toBe(range.subnet.network + 1n);
  expect(await owners()).toEqual({ [formatCidr(range.subnet)]: 'a/net' });
});

test('two networks of one node sharing a store and pool get different blocks', async () => {
  const [first] = subnets(await node('a', {}, [], 'net').rangeSets());
  const [second] = subnets(await node('a', {}, [], 'net2').rangeSets());
  expect(first).not.toEqual(second);
  expect(Object.values(await owners()).sort()).toEqual(['a/net', 'a/net2']);
  // And each keeps its own across restarts.
  expect(subnets(await node('a', {}, [], 'net2').rangeSets())).toEqual([second]);
});

test('dual-stack: one block per family, IPv4 first', async () => {
  const sets = await node('a', { clusterPoolIPv6PodCIDR: 'fd00::/112', clusterPoolIPv6MaskSize: 120 }).rangeSets();
  expect(sets.map((s) => s[0]!.subnet.family)).toEqual([4, 6]);
  expect(sets[1]![0]!.subnet.prefix).toBe(120);
});

test('a restarted node keeps its block without contacting the store', async () => {
  const first = subnets(await node('a').rangeSets());
  // Make the store unusable: a node that already owns its block must not notice.
  fs.writeFileSync(path.join(storeDir(), 'blocks.json'), 'not json');
  expect(subnets(await node('a').rangeSets())).toEqual(first);
});

test('a due store check that cannot use the store only warns: the node keeps serving its block', async () => {
  const first = subnets(await node('a').rangeSets());
  fs.writeFileSync(path.join(storeDir(), 'blocks.json'), 'not json'); // the store is unusable now
  const warnings: string[] = [];
  expect(subnets(await node('a', { storeCheckSeconds: 0 }, warnings).rangeSets())).toEqual(first);
  expect(warnings.join('\n')).toMatch(/could not compare this node's blocks with the cluster store .*not valid JSON/);
});

test('a due store check finds the block given to another node: not served, a new block instead, statusRangeSets() fails naming it', async () => {
  const [[first]] = subnets(await node('a', { clusterPoolIPv4PodCIDRList: ['10.0.0.0/23'] }).rangeSets()) as [[string]];
  const store = await openClusterStore({ type: 'file', path: storeDir() });
  await store.release(first, 'a/net');
  expect((await store.claim(first, 'b/net')).won).toBe(true);
  const warnings: string[] = [];
  const mode = node('a', { clusterPoolIPv4PodCIDRList: ['10.0.0.0/23'], storeCheckSeconds: 0 }, warnings);
  const [[second]] = subnets(await mode.rangeSets()) as [[string]];
  expect(second).not.toBe(first);
  expect(warnings.join('\n')).toContain(`gives block ${first} to b/net`);
  await expect(mode.statusRangeSets!()).rejects.toThrow(`block ${first} belongs to b/net`);
  expect(mode.warnings!().join('\n')).toContain(`block ${first} belongs to b/net`);
});

test('a node whose local record was lost adopts its block back instead of claiming another', async () => {
  const first = subnets(await node('a').rangeSets());
  fs.rmSync(path.join(tmp, 'a', 'net', 'cluster-pool.json'));
  expect(subnets(await node('a').rangeSets())).toEqual(first);
  expect(Object.keys(await owners())).toHaveLength(1);
});

test('nodes never share a block, even when their hashes collide on a tiny pool', async () => {
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.0.0.0/22'] }; // 4 blocks
  const got = await Promise.all(['a', 'b', 'c', 'd'].map(async (n) => subnets(await node(n, ipam).rangeSets())[0]![0]!));
  expect(new Set(got).size).toBe(4);
  const err = await node('e', ipam).rangeSets().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PoolExhaustedError);
  expect((err as Error).message).toContain('10.0.0.0/22 with /24 blocks');
});

test('maxBlocksPerNode: grow adds a block up to the limit, then returns undefined', async () => {
  const ipam = { maxBlocksPerNode: 2 };
  const mode = node('a', ipam);
  const sets = await mode.rangeSets();
  const grown = await mode.grow!(0, sets[0]!);
  expect(grown).toHaveLength(2);
  expect(new Set(grown!.map((r) => formatCidr(r.subnet))).size).toBe(2);
  expect(await mode.grow!(0, grown!)).toBeUndefined();
  // A restart serves both blocks.
  expect(subnets(await node('a', ipam).rangeSets())[0]).toHaveLength(2);
  expect(Object.values(await owners())).toEqual(['a/net', 'a/net']);
});

test('grow with the default of one block per node does not claim', async () => {
  const mode = node('a');
  const sets = await mode.rangeSets();
  expect(await mode.grow!(0, sets[0]!)).toBeUndefined();
  expect(Object.keys(await owners())).toHaveLength(1);
});

test('grow on an exhausted pool names the pool', async () => {
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.0.0.0/23'], maxBlocksPerNode: 3 };
  const a = node('a', ipam);
  const sets = await a.rangeSets();
  await node('b', ipam).rangeSets();
  await expect(a.grow!(0, sets[0]!)).rejects.toBeInstanceOf(PoolExhaustedError);
});

test('a changed mask or pool keeps serving owned blocks and warns; new blocks avoid overlapping old ones', async () => {
  const first = subnets(await node('a', { clusterPoolIPv4PodCIDRList: ['10.0.0.0/22'] }).rangeSets())[0]![0]!;
  const warnings: string[] = [];
  const changed = node('a', { clusterPoolIPv4PodCIDRList: ['10.0.0.0/22'], clusterPoolIPv4MaskSize: 25, maxBlocksPerNode: 8 }, warnings);
  const sets = await changed.rangeSets();
  expect(subnets(sets)[0]).toEqual([first]);
  expect(warnings.join('\n')).toMatch(/has mask \/24 but clusterPoolIPv4MaskSize is now 25/);
  expect(changed.warnings!()).toEqual(warnings);
  // Six /25 blocks of the /22 do not overlap the old /24: growth gets exactly those.
  let set = sets[0]!;
  for (let i = 0; i < 6; i++) set = (await changed.grow!(0, set))!;
  const blocks = set.map((r) => r.subnet);
  for (const b of blocks.slice(1)) expect(b.network >= blocks[0]!.network + 256n || b.network + 128n <= blocks[0]!.network).toBe(true);
  await expect(changed.grow!(0, set)).rejects.toBeInstanceOf(PoolExhaustedError);

  const moved: string[] = [];
  const sets2 = await node('a', { clusterPoolIPv4PodCIDRList: ['10.9.0.0/16'] }, moved).rangeSets();
  expect(subnets(sets2)[0]![0]).toBe(first);
  expect(moved.join('\n')).toMatch(/outside the configured pools/);
});

test('large pools: the claim probes, it does not scan', async () => {
  // 1000 nodes already own blocks of a /8 (65,536 blocks), and the IPv6 pool has 2^56
  // blocks: a scan of either would try claim after claim, a probe from the hash tries a
  // few (counted, not timed: a loaded machine cannot fail it).
  fs.mkdirSync(storeDir());
  const store = await openClusterStore({ type: 'file', path: storeDir() });
  const blocks: Record<string, string> = {};
  fs.mkdirSync(path.join(storeDir(), 'claims'));
  for (let i = 0; i < 1000; i++) {
    blocks[`10.${i >> 8}.${i & 255}.0/24`] = `old-${i}`;
    fs.writeFileSync(path.join(storeDir(), 'claims', `10.${i >> 8}.${i & 255}.0_24`), `old-${i}\n`);
  }
  const attempts = jest.spyOn(FileClusterStore.prototype, 'claim');
  const sets = await node('new', { clusterPoolIPv4PodCIDRList: ['10.0.0.0/8'], clusterPoolIPv6PodCIDR: 'fd00::/64' }).rangeSets();
  expect(attempts.mock.calls.length).toBeGreaterThanOrEqual(2);
  expect(attempts.mock.calls.length).toBeLessThanOrEqual(10);
  attempts.mockRestore();
  expect(sets[1]![0]!.subnet.prefix).toBe(120);
  expect(blocks[formatCidr(sets[0]![0]!.subnet)]).toBeUndefined();
  expect((await store.list()).length).toBe(1002);
});

test('STATUS (statusRangeSets, couldGrow) claims nothing and writes nothing, in the store or locally', async () => {
  const mode = node('a', { storeCheckSeconds: 0 });
  const listing = () => (fs.existsSync(tmp) ? fs.readdirSync(tmp, { recursive: true }).map(String).sort() : []);
  const before = listing();
  const stamp = () => Object.fromEntries(listing().map((f) => [f, fs.statSync(path.join(tmp, f)).mtimeMs]));
  const stamped = stamp();
  expect(await mode.statusRangeSets!()).toEqual([[]]); // no block yet: an empty set
  expect(await mode.couldGrow!(0)).toBe(true); // the store has a free block
  expect(await owners()).toEqual({});
  expect(listing()).toEqual(before);
  expect(stamp()).toEqual(stamped);
});

test('STATUS on a full pool says so without claiming', async () => {
  const ipam = { clusterPoolIPv4PodCIDRList: ['10.0.0.0/24'], clusterPoolIPv4MaskSize: 25 }; // two blocks
  await node('a', ipam).rangeSets();
  await node('b', ipam).rangeSets();
  await expect(node('c', ipam).couldGrow!(0)).rejects.toThrow(PoolExhaustedError);
  expect(Object.values(await owners()).sort()).toEqual(['a/net', 'b/net']);
});
