/**
 * pod-ipam against the reference host-local, differentially: every sequence of calls runs
 * on both (harness.ts), and each step's outcome (success or failure; on success the result's
 * ips, routes and dns) must be the same, wherever the README ("Compatibility with
 * host-local") promises compatibility. Where pod-ipam deliberately differs, the test
 * says so in DIFFERENCES, asserts both sides' behaviour, and the README lists the same.
 *
 * host-local is Debian's containernetworking-plugins 1.1.1 (supports cniVersion up to
 * 1.0.0, so GC and STATUS are not compared).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addressesOf, canonicalJson, differentialUnavailable, Pair } from './harness';
import type { Call, Outcome } from './harness';

const unavailable = differentialUnavailable();

const V4 = { ranges: [[{ subnet: '10.1.2.0/24' }]] };
const DUAL = { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/64' }]] };
const TINY = { ranges: [[{ subnet: '10.1.2.0/29' }]] }; // .2 to .6: five addresses

/** Every deliberate difference, with its reason; each is asserted by a test below and listed in the README. */
export const DIFFERENCES = {
  repeatedAdd: 'a repeated ADD for the same attachment returns what it holds (runtimes retry; CNI-NOTES); host-local fails with "duplicate allocation"',
  repeatedRequestedAdd: 'the same, for an ADD with a requested address; host-local fails with "not available"',
  commaSeparatedIp: 'CNI_ARGS IP= may list one address per family, comma-separated (IP=fd00::77,10.1.2.77), as later host-local releases accept; 1.1.1 refuses it ("invalid IP address")',
  failedAddMovesNothing: 'a failed ADD changes nothing, not even the round-robin position; host-local reserves a dynamic address before it finds a requested one outside every range, releases it, and keeps its cursor moved (the next container gets .3, not .2)',
  checkWithoutPrevResultAddresses: 'CHECK fails when an address of prevResult is not the attachment\'s (code 105); host-local only checks that the container holds some address',
} as const;

let pair: Pair;
beforeEach(() => {
  pair = new Pair();
});
afterEach(() => pair.cleanup());

/** Runs the calls in order on both and expects every step's outcomes to be equal; returns pod-ipam's. */
async function same(...calls: Call[]): Promise<Outcome[]> {
  const outs: Outcome[] = [];
  for (const [i, call] of calls.entries()) {
    const [hostLocal, podIpam] = await pair.run(call);
    const strip = (o: Outcome) => ({ ok: o.ok, ips: o.ips, routes: o.routes, dns: o.dns });
    if (canonicalJson(strip(hostLocal)) !== canonicalJson(strip(podIpam))) {
      throw new Error(`step ${i} (${call.command} ${call.containerId ?? 'c1'}) differs:\nhost-local: ${JSON.stringify(hostLocal)}\npod-ipam:   ${JSON.stringify(podIpam)}`);
    }
    outs.push(podIpam);
  }
  return outs;
}

const add = (ipam: Record<string, unknown>, containerId = 'c1', more: Partial<Call> = {}): Call => ({ command: 'ADD', ipam, containerId, ...more });
const del = (ipam: Record<string, unknown>, containerId = 'c1', more: Partial<Call> = {}): Call => ({ command: 'DEL', ipam, containerId, ...more });

(unavailable ? describe.skip : describe)(`the same as host-local${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  describe('dynamic allocation', () => {
    test('first address of a /24 is .2 (the gateway .1 is never handed out)', async () => {
      const [a] = await same(add(V4));
      expect(addressesOf(a!)).toEqual(['10.1.2.2/24']);
    });

    test('dual-stack: one address per range set, in order', async () => {
      const [a] = await same(add(DUAL));
      expect(addressesOf(a!)).toEqual(['10.1.2.2/24', 'fd00::2/64']);
    });

    test('round-robin: consecutive ADDs, a freed address is not reused at once', async () => {
      await same(add(V4, 'a'), add(V4, 'b'), add(V4, 'c'), del(V4, 'b'), add(V4, 'd'), add(V4, 'e'));
    });

    test('two interfaces of one container get two addresses; DEL of one keeps the other', async () => {
      await same(add(V4, 'c1', { ifname: 'eth0' }), add(V4, 'c1', { ifname: 'eth1' }), del(V4, 'c1', { ifname: 'eth0' }), add(V4, 'c2'));
    });

    test('exhaustion: the sixth ADD of a /29 fails on both; after a DEL the freed address is the one given', async () => {
      const calls = ['a', 'b', 'c', 'd', 'e'].map((id) => add(TINY, id));
      await same(...calls, add(TINY, 'f'), del(TINY, 'c'), add(TINY, 'g'), add(TINY, 'h'));
    });

    test('round-robin wraps around to the start of the range', async () => {
      await same(add(TINY, 'a'), add(TINY, 'b'), add(TINY, 'c'), add(TINY, 'd'), del(TINY, 'a'), del(TINY, 'b'), add(TINY, 'e'), add(TINY, 'f'), add(TINY, 'g'));
    });

    test('rangeStart, rangeEnd and gateway', async () => {
      const ipam = { ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.10', rangeEnd: '10.1.2.12', gateway: '10.1.2.11' }]] };
      await same(add(ipam, 'a'), add(ipam, 'b'), add(ipam, 'c'));
    });

    test('several ranges in one set: round-robin moves on to the next range', async () => {
      const ipam = { ranges: [[{ subnet: '10.1.2.0/30' }, { subnet: '10.1.3.0/30' }]] };
      await same(add(ipam, 'a'), add(ipam, 'b'), add(ipam, 'c'));
    });

    test('IPv6 range: the last address of the subnet is handed out', async () => {
      const ipam = { ranges: [[{ subnet: 'fd00::/126' }]] };
      await same(add(ipam, 'a'), add(ipam, 'b'), add(ipam, 'c'));
    });

    test('legacy single range at the top of ipam, prepended to ranges', async () => {
      await same(add({ subnet: '10.9.0.0/24', gateway: '10.9.0.254' }, 'a'), add({ subnet: '10.9.0.0/24', ...DUAL }, 'b'));
    });

    test('routes and resolvConf pass through to the result', async () => {
      const resolv = path.join(pair.root, 'resolv.conf');
      fs.writeFileSync(resolv, 'nameserver 10.0.0.53\nsearch a.svc b.svc\noptions ndots:5\ndomain example\n');
      await same(add({ ...V4, routes: [{ dst: '0.0.0.0/0' }, { dst: '192.168.0.0/16', gw: '10.1.2.1' }], resolvConf: resolv }));
    });

    test.each(['0.3.1', '0.4.0', '1.0.0'])('the result in cniVersion %s', async (cniVersion) => {
      await same(add(DUAL, 'c1', { top: { cniVersion } }));
    });
  });

  describe('requested (static) addresses', () => {
    test('CNI_ARGS IP=, then a dynamic ADD continues after it', async () => {
      await same(add(V4, 'a', { cniArgs: 'IgnoreUnknown=1;IP=10.1.2.50' }), add(V4, 'b'));
    });

    test('args.cni.ips', async () => {
      await same(add(V4, 'a', { top: { args: { cni: { ips: ['10.1.2.60'] } } } }), add(V4, 'b'));
    });

    test('runtimeConfig.ips', async () => {
      await same(add(V4, 'a', { top: { runtimeConfig: { ips: ['10.1.2.70'] } } }));
    });

    test('sources are merged: args.cni.ips for one family, runtimeConfig.ips for the other', async () => {
      await same(add(DUAL, 'a', { top: { args: { cni: { ips: ['10.1.2.9'] } }, runtimeConfig: { ips: ['fd00::9'] } } }));
    });

    test('sources are merged: CNI_ARGS IP= for one family, args.cni.ips for the other', async () => {
      await same(add(DUAL, 'a', { cniArgs: 'IP=10.1.2.7', top: { args: { cni: { ips: ['fd00::7'] } } } }));
    });

    test('two different addresses for one range set fail on both', async () => {
      await same(add(DUAL, 'a', { cniArgs: 'IP=10.1.2.7', top: { args: { cni: { ips: ['10.1.2.9'] } } } }));
    });

    test('one requested address in a dual-stack network: the other family is dynamic', async () => {
      await same(add(DUAL, 'a', { cniArgs: 'IP=10.1.2.50' }), add(DUAL, 'b'));
    });

    test.each([
      ['the gateway', 'IP=10.1.2.1'],
      ['not an address', 'IP=banana'],
    ])('a request for %s fails on both, and changes nothing', async (_name, cniArgs) => {
      await same(add(V4, 'a', { cniArgs }), add(V4, 'b'));
    });

    test.each([
      ['outside every range', 'IP=10.9.9.9'],
      ['the network address', 'IP=10.1.2.0'],
      ['the broadcast address', 'IP=10.1.2.255'],
    ])('a request for %s fails on both (what follows: see the differences)', async (_name, cniArgs) => {
      await same(add(V4, 'a', { cniArgs }));
    });

    test('a prefix on a requested address is ignored by both, in every source', async () => {
      await same(add(V4, 'a', { cniArgs: 'IP=10.1.2.50/16' }), add(V4, 'b', { top: { args: { cni: { ips: ['10.1.2.60/24'] } } } }), add(V4, 'c', { top: { runtimeConfig: { ips: ['10.1.2.70/24'] } } }));
    });

    test('an address held by another container fails on both; after its DEL it can be had', async () => {
      await same(add(V4, 'a'), add(V4, 'b', { cniArgs: 'IP=10.1.2.2' }), del(V4, 'a'), add(V4, 'b', { cniArgs: 'IP=10.1.2.2' }));
    });

    test('::ffff:a.b.c.d is the IPv4 address', async () => {
      const [a] = await same(add(V4, 'a', { cniArgs: 'IP=::ffff:10.1.2.50' }));
      expect(addressesOf(a!)).toEqual(['10.1.2.50/24']);
    });
  });

  describe('runtimeConfig.ipRanges', () => {
    test('prepended to the configured ranges', async () => {
      const [a] = await same(add(V4, 'a', { top: { runtimeConfig: { ipRanges: [[{ subnet: 'fd00::/64' }]] } } }));
      expect(addressesOf(a!)).toEqual(['fd00::2/64', '10.1.2.2/24']);
    });

    test('alone, with no configured ranges', async () => {
      await same(add({}, 'a', { top: { runtimeConfig: { ipRanges: [[{ subnet: '10.5.0.0/24' }]] } } }));
    });

    test('overlapping the configured ranges: refused by both', async () => {
      await same(add(V4, 'a', { top: { runtimeConfig: { ipRanges: [[{ subnet: '10.1.2.0/25' }]] } } }));
    });
  });

  describe('DEL and CHECK', () => {
    test('DEL of an unknown container, and a repeated DEL, succeed', async () => {
      await same(del(V4, 'never'), add(V4, 'a'), del(V4, 'a'), del(V4, 'a'));
    });

    test('CHECK after ADD succeeds; after DEL it fails', async () => {
      const [a] = await same(add(V4, 'a'));
      const prevResult = { cniVersion: '1.0.0', ips: a!.ips };
      await same({ command: 'CHECK', ipam: V4, containerId: 'a', top: { prevResult } }, del(V4, 'a'), { command: 'CHECK', ipam: V4, containerId: 'a', top: { prevResult } });
    });
  });

  describe('config validation (both refuse)', () => {
    test.each([
      ['a /31 subnet', { ranges: [[{ subnet: '10.1.2.0/31' }]] }],
      ['a /32 subnet', { ranges: [[{ subnet: '10.1.2.0/32' }]] }],
      ['a /127 subnet', { ranges: [[{ subnet: 'fd00::/127' }]] }],
      ['host bits set', { ranges: [[{ subnet: '10.1.2.3/24' }]] }],
      ['rangeStart outside the subnet', { ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.3.5' }]] }],
      ['rangeStart after rangeEnd', { ranges: [[{ subnet: '10.1.2.0/24', rangeStart: '10.1.2.20', rangeEnd: '10.1.2.10' }]] }],
      ['overlapping ranges in a set', { ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: '10.1.2.128/25' }]] }],
      ['a set mixing families', { ranges: [[{ subnet: '10.1.2.0/24' }, { subnet: 'fd00::/64' }]] }],
      ['overlapping range sets', { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: '10.1.2.0/25' }]] }],
      ['no ranges at all', {}],
      ['an IPv4-mapped subnet', { ranges: [[{ subnet: '::ffff:10.1.2.0/120' }]] }],
    ])('%s', async (_name, ipam) => {
      const [a] = await same(add(ipam));
      expect(a!.ok).toBe(false);
    });
  });
});

(unavailable ? describe.skip : describe)('deliberate differences from host-local', () => {
  test(`repeated ADD: ${DIFFERENCES.repeatedAdd}`, async () => {
    await same(add(DUAL));
    const [hostLocal, podIpam] = await pair.run(add(DUAL));
    expect(hostLocal.ok).toBe(false);
    expect(hostLocal.msg).toMatch(/duplicate allocation/);
    expect(addressesOf(podIpam)).toEqual(['10.1.2.2/24', 'fd00::2/64']);
  });

  test(`repeated ADD with a requested address: ${DIFFERENCES.repeatedRequestedAdd}`, async () => {
    await same(add(DUAL, 'c1', { cniArgs: 'IP=10.1.2.50' }));
    const [hostLocal, podIpam] = await pair.run(add(DUAL, 'c1', { cniArgs: 'IP=10.1.2.50' }));
    expect(hostLocal.ok).toBe(false);
    expect(addressesOf(podIpam)).toEqual(['10.1.2.50/24', 'fd00::2/64']);
  });

  test(`comma-separated IP=: ${DIFFERENCES.commaSeparatedIp}`, async () => {
    const [hostLocal, podIpam] = await pair.run(add(DUAL, 'a', { cniArgs: 'IP=fd00::77,10.1.2.77' }));
    expect(hostLocal.ok).toBe(false);
    expect(hostLocal.msg).toMatch(/invalid IP address/);
    expect(addressesOf(podIpam)).toEqual(['10.1.2.77/24', 'fd00::77/64']);
  });

  test(`failed ADD: ${DIFFERENCES.failedAddMovesNothing}`, async () => {
    await same(add(V4, 'a', { cniArgs: 'IP=10.9.9.9' }));
    const [hostLocal, podIpam] = await pair.run(add(V4, 'b'));
    expect(addressesOf(hostLocal)).toEqual(['10.1.2.3/24']);
    expect(addressesOf(podIpam)).toEqual(['10.1.2.2/24']);
  });

  test(`CHECK: ${DIFFERENCES.checkWithoutPrevResultAddresses}`, async () => {
    await same(add(V4, 'a'));
    const prevResult = { cniVersion: '1.0.0', ips: [{ address: '10.1.2.99/24', gateway: '10.1.2.1' }] };
    const [hostLocal, podIpam] = await pair.run({ command: 'CHECK', ipam: V4, containerId: 'a', top: { prevResult } });
    expect(hostLocal.ok).toBe(true);
    expect(podIpam.ok).toBe(false);
  });
});
