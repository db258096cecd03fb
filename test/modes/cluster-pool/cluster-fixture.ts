/**
 * Simulated cluster-pool nodes for process-level tests: each (node, network) has its own
 * data directory under the cluster's directory and runs the built plugin as a runtime
 * would. Judging is by what nodes hand out: the blocks each node serves (its local
 * record) and the addresses its ADDs returned.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cidrsOverlap, parseCidr } from '../../../src/core/ip';
import { openClusterStore } from '../../../src/store/cluster/cluster-store';
import type { ClusterStoreConfig } from '../../../src/store/cluster/cluster-store';
import { runPlugin } from '../../helpers/run-plugin';
import type { PluginCall, PluginOutcome } from '../../helpers/run-plugin';
import type { EtcdServer } from '../../helpers/etcd-server';
import type { KubeStoreBackend } from '../../helpers/fake-kube-claims';

export type StoreKind = 'file' | 'etcd' | 'kubernetes';

export interface Cluster {
  readonly dir: string;
  /** The `clusterStore` config object nodes get. */
  readonly store: Record<string, unknown>;
  readonly storeConfig: ClusterStoreConfig;
}

let seq = 0;
/** A fresh cluster; with the kubernetes store, the stand-in's objects are emptied (one cluster at a time per backend). */
export function newCluster(root: string, kind: StoreKind, etcd?: EtcdServer, kube?: KubeStoreBackend): Cluster {
  const dir = path.join(root, `cluster-${++seq}`);
  fs.mkdirSync(dir, { recursive: true });
  if (kind === 'kubernetes') {
    kube!.claims.clear();
    return { dir, store: kube!.store(), storeConfig: kube!.config() };
  }
  if (kind === 'file') {
    const p = path.join(dir, 'store');
    return { dir, store: { type: 'file', path: p }, storeConfig: { type: 'file', path: p } };
  }
  const prefix = `/cl${seq}-${process.pid}`;
  return { dir, store: { type: 'etcd', endpoints: [etcd!.endpoint], prefix, timeoutSeconds: 5 }, storeConfig: { type: 'etcd', endpoints: [etcd!.endpoint], prefix } };
}

export function nodeConf(cluster: Cluster, node: string, ipam: Record<string, unknown> = {}, network = 'podnet') {
  return {
    cniVersion: '1.1.0',
    name: network,
    ipam: { type: 'pod-ipam', mode: 'cluster-pool', dataDir: path.join(cluster.dir, node), nodeName: node, clusterStore: cluster.store, ...ipam },
  };
}

export const call = (cluster: Cluster, node: string, command: PluginCall['command'], containerId: string, ipam: Record<string, unknown> = {}, network = 'podnet', extra: Partial<PluginCall> = {}): Promise<PluginOutcome> =>
  runPlugin({ command, containerId, stdin: nodeConf(cluster, node, ipam, network), timeoutMs: 120000, ...extra });

/** ADD, retried on code 11 as a runtime does; the final outcome. */
export async function addRetrying(cluster: Cluster, node: string, containerId: string, ipam: Record<string, unknown> = {}, network = 'podnet'): Promise<PluginOutcome> {
  for (let i = 0; ; i++) {
    const out = await call(cluster, node, 'ADD', containerId, ipam, network);
    if (out.code === 0 || out.json?.code !== 11 || i >= 10) return out;
  }
}

export const addressOf = (out: PluginOutcome): string => {
  if (out.code !== 0) throw new Error(`ADD failed: ${out.stdout} ${out.stderr}`);
  return String(out.json.ips[0].address).split('/')[0]!;
};

/** The local record of a (node, network): the blocks it serves and those it gave up. */
export function localRecord(cluster: Cluster, node: string, network = 'podnet'): { blocks: string[]; lost: { block: string; owner: string }[] } {
  const file = path.join(cluster.dir, node, network, 'cluster-pool.json');
  if (!fs.existsSync(file)) return { blocks: [], lost: [] };
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { blocks: string[]; lost?: { block: string; owner: string }[] };
  return { blocks: data.blocks, lost: data.lost ?? [] };
}

/** Makes a node's last store check look `seconds` old (an explicit time, not a wait). */
export function ageCheck(cluster: Cluster, node: string, seconds: number, network = 'podnet'): void {
  const file = path.join(cluster.dir, node, network, 'cluster-pool.json');
  const data = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  data['checkedAt'] = new Date(Date.now() - seconds * 1000).toISOString();
  fs.writeFileSync(file, JSON.stringify(data));
}

export async function storeOwners(cluster: Cluster): Promise<Map<string, string>> {
  const store = await openClusterStore(cluster.storeConfig);
  try {
    return new Map((await store.list()).map((o) => [o.block, o.node]));
  } finally {
    await store.close();
  }
}

/**
 * The promise, checked: no two (node, network) pairs serve overlapping blocks, every
 * address handed out is unique and lies in a block its node serves, and the store
 * records every served block for the node serving it.
 */
export async function expectOneBlockOneNode(cluster: Cluster, served: { who: string; node: string; network: string; addresses: string[] }[]): Promise<void> {
  const owners = await storeOwners(cluster);
  const all = served.map((s) => ({ ...s, blocks: localRecord(cluster, s.node, s.network).blocks }));
  const problems: string[] = [];
  for (const [i, a] of all.entries()) {
    for (const b of all.slice(i + 1)) {
      for (const x of a.blocks) for (const y of b.blocks) if (cidrsOverlap(parseCidr(x)!.cidr, parseCidr(y)!.cidr)) problems.push(`${a.who} serves ${x}, ${b.who} serves ${y}`);
    }
    for (const block of a.blocks) if (owners.get(block) !== `${a.node}/${a.network}`) problems.push(`${a.who} serves ${block}, the store says ${owners.get(block) ?? 'nobody'}`);
    for (const ip of a.addresses) {
      const addr = parseCidr(`${ip}/${ip.includes(':') ? 128 : 32}`)!.cidr;
      if (!a.blocks.some((b) => cidrsOverlap(parseCidr(b)!.cidr, addr))) problems.push(`${a.who} handed out ${ip} outside its blocks ${a.blocks.join(',')}`);
    }
  }
  const addresses = all.flatMap((s) => s.addresses);
  const dupes = addresses.filter((ip, i) => addresses.indexOf(ip) !== i);
  if (dupes.length > 0) problems.push(`addresses handed out twice: ${dupes.join(', ')}`);
  expect(problems).toEqual([]);
}
