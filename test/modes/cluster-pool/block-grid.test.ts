/** Block numbering across pools is plain arithmetic, for IPv4 and very large IPv6 pools. */
import { formatCidr, parseCidr } from '../../../src/core/ip';
import { BlockGrid } from '../../../src/modes/cluster-pool/block-grid';

const cidr = (t: string) => parseCidr(t)!.cidr;

test('numbers blocks across pools in config order and maps them back', () => {
  const grid = new BlockGrid({ family: 4, pools: [cidr('10.0.0.0/23'), cidr('192.168.0.0/22')], mask: 24 });
  expect(grid.total).toBe(6n);
  expect([0n, 1n, 2n, 5n].map((i) => formatCidr(grid.blockAt(i)))).toEqual(['10.0.0.0/24', '10.0.1.0/24', '192.168.0.0/24', '192.168.3.0/24']);
  for (let i = 0n; i < grid.total; i++) expect(grid.indexOf(grid.blockAt(i))).toBe(i);
  expect(grid.indexOf(cidr('10.0.0.0/25'))).toBeUndefined(); // another mask
  expect(grid.indexOf(cidr('10.9.0.0/24'))).toBeUndefined(); // outside the pools
  expect(grid.indexOf(cidr('fd00::/24'))).toBeUndefined();
});

test('a /64 IPv6 pool with /120 blocks: 2^56 blocks, no list built', async () => {
  const grid = new BlockGrid({ family: 6, pools: [cidr('fd00:1::/64')], mask: 120 });
  expect(grid.total).toBe(2n ** 56n);
  const last = grid.blockAt(grid.total - 1n);
  expect(formatCidr(last)).toBe('fd00:1::ffff:ffff:ffff:ff00/120');
  expect(grid.indexOf(last)).toBe(grid.total - 1n);
  const start = await grid.startIndex('node-a');
  expect(start).toBeGreaterThanOrEqual(0n);
  expect(start).toBeLessThan(grid.total);
});

test('start indexes spread node names over the pool', async () => {
  const grid = new BlockGrid({ family: 4, pools: [cidr('10.0.0.0/8')], mask: 24 });
  const starts = new Set(await Promise.all(Array.from({ length: 200 }, (_, i) => grid.startIndex(`node-${i}`))));
  expect(starts.size).toBeGreaterThan(195);
  expect(await grid.startIndex('node-1')).toBe(await grid.startIndex('node-1'));
});
