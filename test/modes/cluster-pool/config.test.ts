/** Every invalid cluster-pool config is a ConfigError (CNI code 7) naming the key and why. */
import { ConfigError } from '../../../src/core/errors';
import { formatCidr } from '../../../src/core/ip';
import { parseClusterPoolConfig } from '../../../src/modes/cluster-pool/config';

const env = { NODE_NAME: 'node-a' };
const parse = (ipam: Record<string, unknown>, e: Record<string, string | undefined> = env) => parseClusterPoolConfig(ipam, e, '/var/lib/pi');

test('defaults: /24 and /120 masks, NODE_NAME, one block per node, file store under dataDir', () => {
  const c = parse({ clusterPoolIPv4PodCIDRList: ['10.0.0.0/16'], clusterPoolIPv6PodCIDR: 'fd00::/104' });
  expect(c.families.map((f) => [f.family, f.pools.map(formatCidr), f.mask])).toEqual([
    [4, ['10.0.0.0/16'], 24],
    [6, ['fd00::/104'], 120],
  ]);
  expect(c.nodeName).toBe('node-a');
  expect(c.maxBlocksPerNode).toBe(1);
  expect(c.store).toEqual({ type: 'file', path: '/var/lib/pi/cluster-pool' });
});

test('etcd store with TLS and prefix', () => {
  const c = parse({
    clusterPoolIPv4PodCIDR: '10.0.0.0/8',
    clusterStore: { type: 'etcd', endpoints: ['https://10.0.0.1:2379'], prefix: '/x', tls: { ca: '/ca', cert: '/c', key: '/k' }, timeoutSeconds: 2 },
  });
  expect(c.store).toEqual({ type: 'etcd', endpoints: ['https://10.0.0.1:2379'], prefix: '/x', tls: { ca: '/ca', cert: '/c', key: '/k' }, timeoutMs: 2000 });
});

const v4 = { clusterPoolIPv4PodCIDRList: ['10.0.0.0/16'] };
test('kubernetes store: a kubeconfig, or in-cluster without one; default timeout 5 s; the environment kept for it', () => {
  expect(parse({ ...v4, clusterStore: { type: 'kubernetes', kubeconfig: '/etc/k', timeoutSeconds: 2 } }).store).toEqual({ type: 'kubernetes', kubeconfig: '/etc/k', timeoutMs: 2000, env });
  expect(parse({ ...v4, clusterStore: { type: 'kubernetes' } }).store).toEqual({ type: 'kubernetes', timeoutMs: 5000, env });
});

test.each<[string, Record<string, unknown>, string, RegExp]>([
  ['no pool', {}, 'ipam.clusterPoolIPv4PodCIDRList', /no pool/],
  ['mask not longer than the pool', { ...v4, clusterPoolIPv4MaskSize: 16 }, 'ipam.clusterPoolIPv4MaskSize', /not longer than the prefix of pool 10\.0\.0\.0\/16/],
  ['mask shorter than the pool', { ...v4, clusterPoolIPv4MaskSize: 8 }, 'ipam.clusterPoolIPv4MaskSize', /not longer/],
  ['v4 block too small', { ...v4, clusterPoolIPv4MaskSize: 31 }, 'ipam.clusterPoolIPv4MaskSize', /too small.*\/30/],
  ['v6 block too small', { clusterPoolIPv6PodCIDRList: ['fd00::/64'], clusterPoolIPv6MaskSize: 127 }, 'ipam.clusterPoolIPv6MaskSize', /too small.*\/126/],
  ['mask not a number', { ...v4, clusterPoolIPv4MaskSize: '24' }, 'ipam.clusterPoolIPv4MaskSize', /prefix length/],
  ['overlapping pools', { clusterPoolIPv4PodCIDRList: ['10.0.0.0/16', '10.0.128.0/17'] }, 'ipam.clusterPoolIPv4PodCIDRList[1]', /overlaps pool 10\.0\.0\.0\/16/],
  ['host bits', { clusterPoolIPv4PodCIDRList: ['10.0.0.1/16'] }, 'ipam.clusterPoolIPv4PodCIDRList[0]', /host bits/],
  ['wrong family', { clusterPoolIPv4PodCIDRList: ['fd00::/64'] }, 'ipam.clusterPoolIPv4PodCIDRList[0]', /not an IPv4/],
  ['not a CIDR', { clusterPoolIPv6PodCIDR: 'fd00::' }, 'ipam.clusterPoolIPv6PodCIDR', /not a CIDR/],
  ['list not a list', { clusterPoolIPv4PodCIDRList: '10.0.0.0/8' }, 'ipam.clusterPoolIPv4PodCIDRList', /must be a list/],
  ['list and single', { ...v4, clusterPoolIPv4PodCIDR: '10.1.0.0/16' }, 'ipam.clusterPoolIPv4PodCIDR', /either/],
  ['mask without pool', { ...v4, clusterPoolIPv6MaskSize: 112 }, 'ipam.clusterPoolIPv6MaskSize', /no IPv6 pool/],
  ['host-local ranges', { ...v4, ranges: [] }, 'ipam.ranges', /not used in cluster-pool/],
  ['maxBlocksPerNode 0', { ...v4, maxBlocksPerNode: 0 }, 'ipam.maxBlocksPerNode', /whole number/],
  ['maxBlocksPerNode 1.5', { ...v4, maxBlocksPerNode: 1.5 }, 'ipam.maxBlocksPerNode', /whole number/],
  ['bad node name', { ...v4, nodeName: 'a b' }, 'ipam.nodeName', /not a usable node name/],
  ['unknown store', { ...v4, clusterStore: { type: 'consul' } }, 'ipam.clusterStore.type', /"file", "etcd" or "kubernetes"/],
  ['kubernetes relative kubeconfig', { ...v4, clusterStore: { type: 'kubernetes', kubeconfig: 'kubeconfig' } }, 'ipam.clusterStore.kubeconfig', /absolute path/],
  ['kubernetes timeout too long', { ...v4, clusterStore: { type: 'kubernetes', timeoutSeconds: 120 } }, 'ipam.clusterStore.timeoutSeconds', /from 0\.5 to 60/],
  ['kubernetes with etcd keys', { ...v4, clusterStore: { type: 'kubernetes', endpoints: ['https://a:1'] } }, 'ipam.clusterStore.endpoints', /not used by the kubernetes store/],
  ['store not an object', { ...v4, clusterStore: 'etcd' }, 'ipam.clusterStore', /must be an object/],
  ['relative file path', { ...v4, clusterStore: { type: 'file', path: 'x' } }, 'ipam.clusterStore.path', /absolute/],
  ['etcd without endpoints', { ...v4, clusterStore: { type: 'etcd' } }, 'ipam.clusterStore.endpoints', /non-empty list/],
  ['etcd endpoint not a URL', { ...v4, clusterStore: { type: 'etcd', endpoints: ['10.0.0.1:2379'] } }, 'ipam.clusterStore.endpoints[0]', /http/],
  ['etcd prefix', { ...v4, clusterStore: { type: 'etcd', endpoints: ['http://a:1'], prefix: 'x/' } }, 'ipam.clusterStore.prefix', /start with/],
  ['etcd cert without key', { ...v4, clusterStore: { type: 'etcd', endpoints: ['http://a:1'], tls: { cert: '/c' } } }, 'ipam.clusterStore.tls.key', /together/],
  ['etcd timeout too short', { ...v4, clusterStore: { type: 'etcd', endpoints: ['http://a:1'], timeoutSeconds: 0.01 } }, 'ipam.clusterStore.timeoutSeconds', /from 0\.5 to 60/],
  ['storeCheckSeconds too long', { ...v4, storeCheckSeconds: 3600 }, 'ipam.storeCheckSeconds', /from 0 .* to 120/],
  ['storeCheckSeconds negative', { ...v4, storeCheckSeconds: -1 }, 'ipam.storeCheckSeconds', /from 0/],
  ['overlap found among unsorted pools', { clusterPoolIPv4PodCIDRList: ['10.9.0.0/16', '10.1.0.0/16', '10.5.0.0/16', '10.1.64.0/18'] }, 'ipam.clusterPoolIPv4PodCIDRList[3]', /10\.1\.64\.0\/18 overlaps pool 10\.1\.0\.0\/16 \(ipam\.clusterPoolIPv4PodCIDRList\[1\]\)/],
  ['more pools than supported', { clusterPoolIPv4PodCIDRList: Array.from({ length: 2000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`), clusterPoolIPv4MaskSize: 26 }, 'ipam.clusterPoolIPv4PodCIDRList', /2000 pools; at most 1024/],
  ['etcd relative ca', { ...v4, clusterStore: { type: 'etcd', endpoints: ['http://a:1'], tls: { ca: 'ca.pem' } } }, 'ipam.clusterStore.tls.ca', /absolute/],
])('%s', (_name, ipam, path, message) => {
  let err: unknown;
  try {
    parse(ipam);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).path).toBe(path);
  expect((err as ConfigError).message).toMatch(message);
});

test('node name falls back from ipam.nodeName to NODE_NAME to the host name', () => {
  expect(parse({ ...v4, nodeName: 'explicit' }).nodeName).toBe('explicit');
  expect(parse(v4, {}).nodeName.length).toBeGreaterThan(0);
});

test('1,024 pools (the most allowed) validate, each checked against its neighbours only', () => {
  const pools = Array.from({ length: 1024 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`).reverse();
  const c = parse({ clusterPoolIPv4PodCIDRList: pools, clusterPoolIPv4MaskSize: 26 });
  expect(c.families[0]!.pools).toHaveLength(1024);
  expect(formatCidr(c.families[0]!.pools[0]!)).toBe('10.3.255.0/24'); // config order kept
});

test('storeCheckSeconds: default 60, 0 means every ADD', () => {
  expect(parse(v4).storeCheckMs).toBe(60000);
  expect(parse({ ...v4, storeCheckSeconds: 0 }).storeCheckMs).toBe(0);
});
