import * as fs from 'node:fs';
import * as path from 'node:path';
import { AddressNotAllowedError, ConfigError, TryAgainError } from '../../../src/core/errors';
import { formatCidr, formatIP } from '../../../src/core/ip';
import type { RangeSet } from '../../../src/core/range-set';
import { createKubernetesMode } from '../../../src/modes/kubernetes';
import { CACHE_FILE } from '../../../src/modes/kubernetes/cache';
import type { IpamMode, ModeContext } from '../../../src/modes/mode';
import { startKubeFixture } from './kube-fixture';
import type { KubeFixture } from './kube-fixture';

let fx: KubeFixture;
let stateDir: string;
let warnings: string[];
let n = 0;
beforeAll(async () => {
  fx = await startKubeFixture();
});
afterAll(() => fx.close());
beforeEach(() => {
  stateDir = path.join(fx.dir, `state-${n++}`);
  fs.mkdirSync(stateDir, { mode: 0o700 });
  warnings = [];
  fx.server.requests.length = 0;
  fx.server.delayMs = 0;
  fx.server.setNode('node-a', ['10.244.1.0/24']);
});

function mode(ipam: Record<string, unknown> = {}, extra: { env?: Record<string, string>; args?: Record<string, string> } = {}): IpamMode {
  const ctx: ModeContext = {
    network: 'k8s',
    stateDir,
    dataDir: fx.dir,
    env: { ...fx.inClusterEnv(), NODE_NAME: 'node-a', ...extra.env },
    runtimeConfig: {},
    cniArgs: new Map(Object.entries(extra.args ?? {})),
    log: () => undefined,
    warn: (m) => warnings.push(m),
  } as ModeContext;
  return createKubernetesMode({ type: 'pod-ipam', mode: 'kubernetes', ...ipam }, ctx);
}

/** "subnet gateway start-end" per range set: what an allocator will see. */
const describe_ = (sets: RangeSet[]): string[] =>
  sets.map((set) => set.map((r) => `${formatCidr(r.subnet)} gw ${formatIP(r.gateway)}`).join(' | '));
const failure = async (p: Promise<unknown>): Promise<Error> => p.then(() => { throw new Error('expected a failure'); }, (e: Error) => e);
const nodeRequests = (): number => fx.server.count('/api/v1/nodes/');
const ageCache = (seconds: number): void => {
  const file = path.join(stateDir, CACHE_FILE);
  const cache = JSON.parse(fs.readFileSync(file, 'utf8'));
  cache.fetchedAt -= seconds * 1000;
  fs.writeFileSync(file, JSON.stringify(cache));
};

describe('range sets from the Node', () => {
  test('one range set per podCIDR, gateway = first usable address', async () => {
    fx.server.setNode('node-a', ['10.244.1.0/24', 'fd00:10:244:1::/64']);
    expect(describe_(await mode().rangeSets())).toEqual(['10.244.1.0/24 gw 10.244.1.1', 'fd00:10:244:1::/64 gw fd00:10:244:1::1']);
  });

  test('the older single spec.podCIDR', async () => {
    fx.server.setNode('node-a', ['10.244.7.0/24'], { legacy: true });
    expect(describe_(await mode().rangeSets())).toEqual(['10.244.7.0/24 gw 10.244.7.1']);
  });

  test('node name from ipam.nodeName over NODE_NAME', async () => {
    fx.server.setNode('node-b', ['10.244.2.0/24']);
    expect(describe_(await mode({ nodeName: 'node-b' }).rangeSets())).toEqual(['10.244.2.0/24 gw 10.244.2.1']);
  });

  test('a node without podCIDR yet: try again later', async () => {
    fx.server.setNode('node-a', []);
    const e = await failure(mode().rangeSets());
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toBe('node node-a has no podCIDR yet (kube-controller-manager assigns one when it runs with --allocate-node-cidrs)');
  });

  test('an unknown node: try again, naming nodeName', async () => {
    const e = await failure(mode({ nodeName: 'ghost' }).rangeSets());
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toMatch(/node "ghost" does not exist .*set nodeName/);
  });
});

describe('the podCIDR cache', () => {
  test('a warm cache makes no request, in this process or the next', async () => {
    const first = mode();
    await first.rangeSets();
    await first.rangeSets();
    expect(nodeRequests()).toBe(1);
    for (let i = 0; i < 3; i++) expect(describe_(await mode().rangeSets())).toEqual(['10.244.1.0/24 gw 10.244.1.1']);
    expect(nodeRequests()).toBe(1);
  });

  test('a cache older than podCIDRCacheSeconds is refreshed', async () => {
    await mode({ podCIDRCacheSeconds: 60 }).rangeSets();
    ageCache(59);
    await mode({ podCIDRCacheSeconds: 60 }).rangeSets();
    expect(nodeRequests()).toBe(1);
    ageCache(2);
    await mode({ podCIDRCacheSeconds: 60 }).rangeSets();
    expect(nodeRequests()).toBe(2);
  });

  test('a cache from the future (clock went back) is refreshed', async () => {
    await mode().rangeSets();
    ageCache(-3600);
    await mode().rangeSets();
    expect(nodeRequests()).toBe(2);
  });

  test('the cache of another node name is not used', async () => {
    fx.server.setNode('node-b', ['10.244.2.0/24']);
    await mode().rangeSets();
    expect(describe_(await mode({ nodeName: 'node-b' }).rangeSets())).toEqual(['10.244.2.0/24 gw 10.244.2.1']);
    expect(nodeRequests()).toBe(2);
  });

  test('statusRangeSets() (STATUS) makes no API call while the cache is fresh', async () => {
    await mode().rangeSets();
    fx.server.setNode('node-a', ['10.244.9.0/24']);
    for (let i = 0; i < 3; i++) expect(describe_(await mode().statusRangeSets!())).toEqual(['10.244.1.0/24 gw 10.244.1.1']);
    expect(nodeRequests()).toBe(1);
  });

  test('statusRangeSets() (STATUS) serves an expired cache without an API call and writes nothing; the next ADD reads the Node', async () => {
    await mode().rangeSets();
    ageCache(1000);
    const cache = fs.readFileSync(path.join(stateDir, CACHE_FILE), 'utf8');
    fx.server.setNode('node-a', ['10.244.9.0/24']);
    expect(describe_(await mode().statusRangeSets!())).toEqual(['10.244.1.0/24 gw 10.244.1.1']);
    expect(nodeRequests()).toBe(1);
    expect(fs.readFileSync(path.join(stateDir, CACHE_FILE), 'utf8')).toBe(cache);
    expect(describe_(await mode().rangeSets())).toEqual(['10.244.9.0/24 gw 10.244.9.1']);
    expect(nodeRequests()).toBe(2);
  });

  test('statusRangeSets() (STATUS) reads the Node when the cache is from the future (the clock stepped back)', async () => {
    await mode().rangeSets();
    ageCache(-3600);
    expect(describe_(await mode().statusRangeSets!())).toEqual(['10.244.1.0/24 gw 10.244.1.1']);
    expect(nodeRequests()).toBe(2);
  });

  test('a corrupt cache is dropped with a warning and read again', async () => {
    fs.writeFileSync(path.join(stateDir, CACHE_FILE), '{"version": 1, "node": ');
    expect(describe_(await mode().rangeSets())).toEqual(['10.244.1.0/24 gw 10.244.1.1']);
    expect(warnings).toEqual([expect.stringMatching(/ignoring the unreadable podCIDR cache/)]);
  });

  test('API down with a warm but stale cache: keeps serving and warns', async () => {
    await mode().rangeSets();
    ageCache(1000);
    const m = mode({}, { env: { KUBERNETES_SERVICE_PORT: '1' } });
    expect(describe_(await m.rangeSets())).toEqual(['10.244.1.0/24 gw 10.244.1.1']);
    expect(warnings).toEqual([expect.stringMatching(/^serving node node-a's cached podCIDRs \(10\.244\.1\.0\/24, read 1000 s ago\): cannot refresh them: cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:1/)]);
    expect(m.warnings!()).toEqual(warnings);
    // STATUS too: an ADD can be served, so statusRangeSets() does not fail
    expect(describe_(await mode({}, { env: { KUBERNETES_SERVICE_PORT: '1' } }).statusRangeSets!())).toEqual(['10.244.1.0/24 gw 10.244.1.1']);
  });

  test('API down with a cold cache: try again, naming the server', async () => {
    const e = await failure(mode({}, { env: { KUBERNETES_SERVICE_PORT: '1' } }).rangeSets());
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toBe('cannot reach the Kubernetes API server at https://127.0.0.1:1: ECONNREFUSED');
  });

  test('a slow API server with a cold cache times out into try-again', async () => {
    fx.server.delayMs = 1500;
    const e = await failure(mode({ apiTimeoutSeconds: 0.2 }).rangeSets());
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toMatch(/did not answer .* within 200 ms/);
  });
});

describe('a change of the Node\'s CIDRs', () => {
  test('the lost CIDR is retired: no longer allocated from, reported until it comes back', async () => {
    fx.server.setNode('node-a', ['10.244.1.0/24', 'fd00:1::/64']);
    await mode().rangeSets();
    fx.server.setNode('node-a', ['10.244.5.0/24', 'fd00:1::/64']);
    const m = mode({ podCIDRCacheSeconds: 0 });
    expect(describe_(await m.rangeSets())).toEqual(['10.244.5.0/24 gw 10.244.5.1', 'fd00:1::/64 gw fd00:1::1']);
    expect(warnings).toEqual([
      "node node-a's podCIDRs changed from 10.244.1.0/24, fd00:1::/64 to 10.244.5.0/24, fd00:1::/64",
      expect.stringMatching(/^node node-a no longer has podCIDR 10\.244\.1\.0\/24 \(since .*\): its existing reservations are kept, no new address comes from it$/),
    ]);
    // operator status sees it from any later process, without an API call
    const later = mode();
    expect(later.warnings!()).toEqual([warnings[1]]);
    // the CIDR comes back: no longer retired
    fx.server.setNode('node-a', ['10.244.1.0/24', 'fd00:1::/64']);
    await mode({ podCIDRCacheSeconds: 0 }).rangeSets();
    expect(mode().warnings!()).toEqual([expect.stringMatching(/no longer has podCIDR 10\.244\.5\.0\/24/)]);
  });

  test('no change, no warning', async () => {
    await mode().rangeSets();
    await mode({ podCIDRCacheSeconds: 0 }).rangeSets();
    expect(warnings).toEqual([]);
    expect(mode().warnings!()).toEqual([]);
  });
});

describe('the pod address annotation', () => {
  const args = { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0' };
  beforeEach(() => fx.server.setNode('node-a', ['10.244.1.0/24', 'fd00:1::/64']));

  test('off by default: no pod request', async () => {
    fx.server.setPod('default', 'web-0', { 'ipam.kubernetes.io/address': '10.244.1.50' });
    await expect(mode({}, { args }).requestedAddresses!()).resolves.toEqual([]);
    expect(fx.server.count('/api/v1/namespaces/')).toBe(0);
  });

  test.each([
    ['one address', '10.244.1.50', ['10.244.1.50']],
    ['a dual-stack comma list', ' 10.244.1.50 , fd00:1::50', ['10.244.1.50', 'fd00:1::50']],
    ['an address with a prefix', 'fd00:1:0::0050/64', ['fd00:1::50']],
  ])('%s', async (_name, value, expected) => {
    fx.server.setPod('default', 'web-0', { 'ipam.kubernetes.io/address': value });
    await expect(mode({ podAnnotations: true }, { args }).requestedAddresses!()).resolves.toEqual(expected);
  });

  test('a pod without the annotation requests nothing', async () => {
    fx.server.setPod('default', 'web-0', { other: 'x' });
    await expect(mode({ podAnnotations: true }, { args }).requestedAddresses!()).resolves.toEqual([]);
  });

  test('no K8S_POD_NAME in CNI_ARGS: nothing to read', async () => {
    await expect(mode({ podAnnotations: true }).requestedAddresses!()).resolves.toEqual([]);
    expect(fx.server.count('/api/v1/namespaces/')).toBe(0);
  });

  test.each([
    ['not an address', 'banana', /holds "banana", which is not an IP address/],
    ['two IPv4 addresses', '10.244.1.5,10.244.1.6', /names two IPv4 addresses/],
    ['empty', '', /is empty/],
    ['outside the node\'s CIDRs', '10.99.0.5', /annotated address 10\.99\.0\.5 is outside node node-a's podCIDRs \(10\.244\.1\.0\/24, fd00:1::\/64\)/],
  ])('an annotation %s is refused', async (_name, value, message) => {
    fx.server.setPod('default', 'web-0', { 'ipam.kubernetes.io/address': value });
    const e = await failure(mode({ podAnnotations: true }, { args }).requestedAddresses!());
    expect(e).toBeInstanceOf(AddressNotAllowedError);
    expect(e.message).toMatch(/^pod default\/web-0: /);
    expect(e.message).toMatch(message);
  });

  test('a pod the server does not know: try again', async () => {
    const e = await failure(mode({ podAnnotations: true }, { args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'nope' } }).requestedAddresses!());
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toMatch(/pod default\/nope is not in the API server/);
  });

  test('without get on pods: try again naming the permission', async () => {
    fx.server.setPod('default', 'web-0');
    fx.server.permissions.set('system:serviceaccount:kube-system:pod-ipam', new Set(['nodes']));
    try {
      const e = await failure(mode({ podAnnotations: true }, { args }).requestedAddresses!());
      expect(e).toBeInstanceOf(TryAgainError);
      expect(e.message).toMatch(/refused "get on pods" \(403 Forbidden\)/);
    } finally {
      fx.server.permissions.clear();
    }
  });
});

describe('config validation', () => {
  test.each([
    [{ ranges: [[{ subnet: '10.0.0.0/24' }]] }, /^ipam\.ranges: is not used in kubernetes mode/],
    [{ kubeconfig: 'relative/path' }, /^ipam\.kubeconfig: must be an absolute path/],
    [{ nodeName: 'Not_A_Node' }, /^ipam\.nodeName: "Not_A_Node" \(from ipam\.nodeName\) is not a valid/],
    [{ podAnnotations: 'yes' }, /^ipam\.podAnnotations: must be true or false/],
    [{ podCIDRCacheSeconds: -1 }, /^ipam\.podCIDRCacheSeconds: must be a number of seconds/],
    [{ apiTimeoutSeconds: 0 }, /^ipam\.apiTimeoutSeconds: must be a number of seconds greater than 0/],
  ])('%j', (ipam, message) => {
    expect(() => mode(ipam)).toThrow(ConfigError);
    expect(() => mode(ipam)).toThrow(message);
  });

  test('the kubeconfig key selects the kubeconfig over in-cluster settings', async () => {
    const kubeconfig = fx.kubeconfig({ 'client-certificate': fx.pki.clientCertFile, 'client-key': fx.pki.clientKeyFile });
    await mode({ kubeconfig }, { env: { KUBERNETES_SERVICE_PORT: '1' } }).rangeSets();
    expect(fx.server.requests.map((r) => r.user)).toEqual([fx.pki.clientUser]);
  });
});
