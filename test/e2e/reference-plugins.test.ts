/**
 * pod-ipam under the real reference plugins, exactly as a runtime runs it: the bridge or ptp
 * plugin is started with "ipam": {"type": "pod-ipam"} and a CNI_PATH whose first directory
 * holds our build, and it runs pod-ipam itself. Both builds are tested (the single
 * executable installed by scripts/install.sh, and the Node.js bundle behind a shim), in one
 * file so that the host-wide forwarding switch ptp flips is saved and restored once.
 *
 * Needs root, `ip netns` and Debian's containernetworking-plugins; elsewhere every test is
 * reported as skipped.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Lab, REFERENCE_PLUGINS, addressesIn, e2eUnavailable, execCni, freeSubnets, ip, linkExists, ping, pluginDir } from '../helpers/netns';

const unavailable = e2eUnavailable();

type Family = 'v4' | 'v6';
interface Scenario {
  plugin: 'bridge' | 'ptp';
  families: Family[];
}
const SCENARIOS: [string, Scenario][] = [
  ['bridge, IPv4', { plugin: 'bridge', families: ['v4'] }],
  ['bridge, dual-stack', { plugin: 'bridge', families: ['v4', 'v6'] }],
  ['ptp, dual-stack', { plugin: 'ptp', families: ['v4', 'v6'] }],
];

const addrOf = (cidr: string) => cidr.split('/')[0]!;

(unavailable ? describe.skip : describe)(`pod-ipam under the reference plugins${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let lab: Lab;
  beforeAll(() => {
    lab = new Lab();
  });
  afterAll(() => {
    const tag = lab.tag;
    lab.cleanup();
    // Nothing of ours is left on the host.
    expect(ip('link', 'show')).not.toContain(tag);
    expect(ip('netns', 'list')).not.toContain(tag);
  });

  describe('the single executable, installed by scripts/install.sh', () => {
    const target = 'exe';
    let binDir: string;
    beforeAll(() => {
      binDir = pluginDir(lab.dir);
    });

    test.each(SCENARIOS)('%s: addresses, ping, CHECK and DEL through the plugin', async (_name, { plugin, families }) => {
      const subnets = freeSubnets();
      const dataDir = path.join(lab.dir, `data-${target}-${plugin}-${families.join('')}`);
      const conf: Record<string, unknown> = {
        cniVersion: '1.0.0', // what Debian's reference plugins speak
        name: `pi-e2e-${lab.tag}`,
        type: plugin,
        ipMasq: false,
        ...(plugin === 'bridge' ? { bridge: lab.linkName('pib'), isGateway: false } : {}),
        ipam: { type: 'pod-ipam', dataDir, ranges: families.map((f) => [{ subnet: subnets[f] }]) },
      };
      if (plugin === 'bridge') {
        // A Linux bridge takes the lowest MAC of its ports unless one was set, so the bridge
        // MAC in the first pod's ADD result can change when the second pod joins, and the
        // bridge plugin's CHECK then fails on it (a reference-plugin quirk, not ours).
        // A runtime host has a long-lived bridge; pin its MAC the way an admin would.
        const br = conf.bridge as string;
        ip('link', 'add', 'name', br, 'type', 'bridge');
        ip('link', 'set', br, 'address', `02:50:${randomBytes(4).toString('hex').replace(/(..)(?!$)/g, '$1:')}`);
      }
      const cniPath = `${binDir}:${REFERENCE_PLUGINS}`;
      const bin = path.join(REFERENCE_PLUGINS, plugin);
      const envFor = (command: string, containerId: string, netns: string) => ({ CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: cniPath });
      // pod-ipam called directly, to ask what it has reserved for an attachment.
      const podIpam = path.join(binDir, 'pod-ipam');
      const reservedFor = async (containerId: string, netns: string, cidrs: string[]) =>
        (await execCni(podIpam, envFor('CHECK', containerId, netns), { ...conf, prevResult: { cniVersion: '1.0.0', ips: cidrs.map((address) => ({ address })) } })).code === 0;

      // Two pods attached at once, as a runtime does for different containers.
      const namespaces = [await lab.netns(), await lab.netns()];
      const pods = await Promise.all(
        namespaces.map(async (ns, i) => {
          const id = `e2e-${lab.tag}-${target}-${i}`;
          const add = await execCni(bin, envFor('ADD', id, ns.path), conf);
          expect({ code: add.code, stderr: add.stderr, stdout: add.code === 0 ? '' : add.stdout }).toEqual({ code: 0, stderr: '', stdout: '' });
          const ips = (add.json.ips as { address: string }[]).map((x) => x.address);
          expect(ips).toHaveLength(families.length);
          return { ns, id, ips, result: add.json };
        }),
      );

      for (const pod of pods) {
        // The interface inside the namespace carries exactly the addresses of the result...
        expect(addressesIn(pod.ns.name, 'eth0').sort()).toEqual([...pod.ips].sort());
        // ...which pod-ipam holds for this attachment, and not for the other one.
        expect(await reservedFor(pod.id, pod.ns.path, pod.ips)).toBe(true);
      }
      expect(await reservedFor(pods[0]!.id, pods[0]!.ns.path, pods[1]!.ips)).toBe(false);
      expect(new Set(pods.flatMap((p) => p.ips)).size).toBe(2 * families.length);

      // The two namespaces reach each other, over each family.
      for (let f = 0; f < families.length; f++) {
        expect(await ping(pods[0]!.ns.name, addrOf(pods[1]!.ips[f]!))).toBe(true);
        expect(await ping(pods[1]!.ns.name, addrOf(pods[0]!.ips[f]!))).toBe(true);
      }

      // CHECK through the plugin (it runs pod-ipam's CHECK, then checks the interfaces).
      for (const pod of pods) {
        const check = await execCni(bin, envFor('CHECK', pod.id, pod.ns.path), { ...conf, prevResult: pod.result });
        expect({ code: check.code, stdout: check.stdout }).toEqual({ code: 0, stdout: '' });
      }

      // DEL through the plugin releases the reservation and removes the interface.
      const [gone, kept] = pods as [(typeof pods)[number], (typeof pods)[number]];
      const del = await execCni(bin, envFor('DEL', gone.id, gone.ns.path), conf);
      expect({ code: del.code, stdout: del.stdout }).toEqual({ code: 0, stdout: '' });
      expect(linkExists(gone.ns.name, 'eth0')).toBe(false);
      expect(await reservedFor(gone.id, gone.ns.path, gone.ips)).toBe(false);
      expect(await reservedFor(kept.id, kept.ns.path, kept.ips)).toBe(true);
      // The released addresses can be requested by a new container straight away.
      const reuse = await execCni(podIpam, envFor('ADD', `${gone.id}-again`, gone.ns.path), { ...conf, args: { cni: { ips: gone.ips.map(addrOf) } } });
      expect(reuse.code).toBe(0);
      expect((reuse.json.ips as { address: string }[]).map((x) => x.address).sort()).toEqual([...gone.ips].sort());
      expect((await execCni(podIpam, envFor('DEL', `${gone.id}-again`, gone.ns.path), conf)).code).toBe(0);

      // DEL is idempotent, through the plugin too; the second pod goes the same way.
      expect((await execCni(bin, envFor('DEL', gone.id, gone.ns.path), conf)).code).toBe(0);
      expect((await execCni(bin, envFor('DEL', kept.id, kept.ns.path), conf)).code).toBe(0);
      expect(await reservedFor(kept.id, kept.ns.path, kept.ips)).toBe(false);
    });
  });
});
