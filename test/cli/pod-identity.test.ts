/**
 * Who holds an address: the pod a runtime names in CNI_ARGS is recorded with each
 * reservation (the same parse the audit log writes), shown by `status` and `metrics`,
 * and `release --pod NAMESPACE/NAME` frees that pod's addresses. Reservations made
 * without pod names are listed as such.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nodeLocalConf, runPlugin, tempDataDir } from '../helpers/run-plugin';
import { snapshotFiles } from '../helpers/state-files';
import { cli, expectUsageError } from './cli';

const ipam = { ranges: [[{ subnet: '10.1.2.0/24' }], [{ subnet: 'fd00::/120' }]] };
const podArgs = (ns: string, name: string, uid: string): string => `IgnoreUnknown=1;K8S_POD_NAMESPACE=${ns};K8S_POD_NAME=${name};K8S_POD_UID=${uid};K8S_POD_INFRA_CONTAINER_ID=x`;

async function add(dir: string, containerId: string, cniArgs?: string): Promise<string[]> {
  const r = await runPlugin({ command: 'ADD', containerId, stdin: nodeLocalConf(dir, {}, ipam), ...(cniArgs === undefined ? {} : { cniArgs }) });
  if (r.code !== 0) throw new Error(`ADD ${containerId}: ${r.stdout} ${r.stderr}`);
  return (r.json.ips as { address: string }[]).map((i) => i.address.split('/')[0]!);
}

describe('pod identity on reservations', () => {
  const { dir, cleanup } = tempDataDir();
  afterAll(cleanup);
  const held: Record<string, string[]> = {};
  beforeAll(async () => {
    held.web = await add(dir, 'sandbox-web', podArgs('default', 'web-0', 'uid-web-0'));
    held.webOther = await add(dir, 'sandbox-web-other', podArgs('shop', 'web-0', 'uid-shop-web-0'));
    held.db = await add(dir, 'sandbox-db', podArgs('default', 'db-0', 'uid-db-0'));
    held.bare = await add(dir, 'podman-1');
  });

  test('status --json: each reservation names its pod (namespace, name, uid), or null when the runtime named none', async () => {
    const r = await cli(['status', '--data-dir', dir, '--json']);
    expect(r.code).toBe(0);
    const byAddress = new Map<string, unknown>(r.json.networks[0].reservations.map((v: { address: string; pod: unknown }) => [v.address, v.pod]));
    for (const ip of held.web!) expect(byAddress.get(ip)).toEqual({ namespace: 'default', name: 'web-0', uid: 'uid-web-0' });
    for (const ip of held.webOther!) expect(byAddress.get(ip)).toEqual({ namespace: 'shop', name: 'web-0', uid: 'uid-shop-web-0' });
    for (const ip of held.bare!) expect(byAddress.get(ip)).toBeNull();
  });

  test('status table: a POD column, "-" for a reservation without one', async () => {
    const r = await cli(['status', '--data-dir', dir]);
    expect(r.stdout).toMatch(/^ADDRESS\s+POD\s+CONTAINER\s+IFNAME\s+SINCE$/m);
    expect(r.stdout).toMatch(new RegExp(`^${held.db![0]!.replace(/\./g, '\\.')}\\s+default/db-0\\s+sandbox-db\\s+eth0`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${held.bare![0]!.replace(/\./g, '\\.')}\\s+-\\s+podman-1\\s+eth0`, 'm'));
  });

  test('the pod recorded is the one the audit log wrote for the same ADD', async () => {
    const lines = fs.readFileSync(path.join(dir, 'pod-ipam.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { verb: string; containerId?: string; pod?: unknown }).filter((l) => l.verb === 'ADD');
    const web = lines.find((l) => l.containerId === 'sandbox-web');
    expect(web?.pod).toEqual({ namespace: 'default', name: 'web-0', uid: 'uid-web-0' });
    const bare = lines.find((l) => l.containerId === 'podman-1');
    expect(bare).toBeDefined(); // the ADD is there, and has no pod
    expect(bare?.pod).toBeUndefined();
  });

  test('metrics: one info series per reservation with its pod, and the count without one', async () => {
    const r = await cli(['metrics', '--data-dir', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`pod_ipam_reservation_info{network="testnet",address="${held.db![0]}",namespace="default",pod="db-0",uid="uid-db-0",container_id="sandbox-db",ifname="eth0"} 1`);
    expect(r.stdout).toContain(`pod_ipam_reservation_info{network="testnet",address="${held.bare![0]}",namespace="",pod="",uid="",container_id="podman-1",ifname="eth0"} 1`);
    expect(r.stdout.match(/^pod_ipam_reservation_info\{/gm)).toHaveLength(8);
    expect(r.stdout).toMatch(/^pod_ipam_reservations_without_pod\{network="testnet",mode="node-local"\} 2$/m);
  });

  test('release --pod NS/NAME: --dry-run changes nothing; then exactly that pod\'s addresses go (not the same name in another namespace)', async () => {
    const before = snapshotFiles(dir);
    const dry = await cli(['release', '--data-dir', dir, '--network', 'testnet', '--pod', 'default/web-0', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(dry.json.released.map((x: { address: string }) => x.address).sort()).toEqual([...held.web!].sort());
    expect(snapshotFiles(dir)).toEqual(before);

    const r = await cli(['release', '--data-dir', dir, '--network', 'testnet', '--pod', 'default/web-0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^released 2 address\(es\) in network testnet/);
    expect(r.stdout).toMatch(/default\/web-0\s+sandbox-web\s+eth0/);
    const left = (await cli(['status', '--data-dir', dir, '--json'])).json.networks[0].reservations.map((v: { address: string }) => v.address).sort();
    expect(left).toEqual([...held.webOther!, ...held.db!, ...held.bare!].sort());
    expect(fs.existsSync(path.join(dir, 'testnet', 'attachments', 'sandbox-web:eth0'))).toBe(false);

    const again = await cli(['release', '--data-dir', dir, '--network', 'testnet', '--pod', 'default/web-0']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/nothing to release.*pod default\/web-0/);

    // The audit log tells the pod's whole story: its ADD, then the operator's release of
    // each address (the dry run and the release of nothing wrote no line).
    const story = await cli(['log', '--data-dir', dir, '--pod', 'default/web-0', '--json']);
    expect(story.code).toBe(0);
    const lines = story.stdout.trim().split('\n').map((l) => JSON.parse(l) as { verb: string; released?: string[]; containerId: string });
    expect(lines.map((l) => l.verb)).toEqual(['ADD', 'RELEASE', 'RELEASE']);
    expect(lines.slice(1).flatMap((l) => l.released).sort()).toEqual([...held.web!].sort());
    expect(lines.every((l) => l.containerId === 'sandbox-web')).toBe(true);
  });

  test('--pod takes NAMESPACE/NAME and no other selector', async () => {
    expectUsageError(await cli(['release', '--data-dir', dir, '--network', 'testnet', '--pod', 'web-0']), /--pod.*NAMESPACE\/NAME/);
    expectUsageError(await cli(['release', '--data-dir', dir, '--network', 'testnet', '--pod', 'a/b/c']), /--pod.*NAMESPACE\/NAME/);
    expectUsageError(await cli(['release', '--data-dir', dir, '--network', 'testnet', '--pod', 'default/db-0', '--container', 'x']), /cannot be used with/);
  });
});
