/**
 * The cluster-pool mode's own `ipam` keys, validated once. Imports nothing heavy: it runs
 * on every call in this mode, including the hot path that never contacts the store.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from '../../core/errors';
import { cidrsOverlap, formatCidr, parseCidr } from '../../core/ip';
import type { Cidr, Family } from '../../core/ip';
import type { ClusterStoreConfig } from '../../store/cluster/cluster-store';

export interface FamilyPools {
  readonly family: Family;
  readonly pools: readonly Cidr[];
  /** Prefix length of every block carved from the pools. */
  readonly mask: number;
}

export interface ClusterPoolConfig {
  /** IPv4 first, then IPv6; one range set per entry. */
  readonly families: readonly FamilyPools[];
  readonly nodeName: string;
  readonly maxBlocksPerNode: number;
  /** Longest time between two comparisons of the node's blocks with the store (ADD, STATUS). */
  readonly storeCheckMs: number;
  readonly store: ClusterStoreConfig;
}

const DEFAULT_MASK: Record<Family, number> = { 4: 24, 6: 120 };
// A block must hold its network address, gateway (first usable), one pod and, in IPv4, a
// broadcast address: /30 and /126 are the smallest, as for any node-local subnet.
const LONGEST_MASK: Record<Family, number> = { 4: 30, 6: 126 };
export const MAX_BLOCKS_PER_NODE = 1024;
export const DEFAULT_ETCD_PREFIX = '/pod-ipam';
export const DEFAULT_STORE_CHECK_SECONDS = 60;
/** Checks may not be rarer than this: a node's heartbeat (HEARTBEAT_TTL_SECONDS) must stay fresh. */
export const MAX_STORE_CHECK_SECONDS = 120;
/** How long a node's heartbeat keeps `blocks release` from freeing its blocks without --force. */
export const HEARTBEAT_TTL_SECONDS = 600;
export const DEFAULT_KUBERNETES_TIMEOUT_SECONDS = 5;
/** Below this an etcd request cannot finish a TLS handshake on a loaded host. */
const MIN_ETCD_TIMEOUT_SECONDS = 0.5;
/** Pools per family: enough for any real cluster, and keeps validation cheap on every call. */
const MAX_POOLS = 1024;

/** Node names end up in store keys, values and messages: keep them plain. */
const NODE_NAME = /^[A-Za-z0-9]([-A-Za-z0-9._]{0,251}[A-Za-z0-9])?$/;

/**
 * @param dataDir the validated `ipam.dataDir` (the file store's default lives under it).
 * @throws ConfigError naming the `ipam.*` key that is wrong and why.
 */
export function parseClusterPoolConfig(ipam: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>>, dataDir: string): ClusterPoolConfig {
  for (const key of ['ranges', 'subnet', 'rangeStart', 'rangeEnd', 'gateway']) {
    if (ipam[key] !== undefined) throw new ConfigError(`ipam.${key}`, 'is not used in cluster-pool mode: the node\'s ranges are blocks claimed from clusterPoolIPv4PodCIDRList / clusterPoolIPv6PodCIDRList; remove it');
  }
  const families = ([4, 6] as const).flatMap((family) => familyPools(ipam, family));
  if (families.length === 0) {
    throw new ConfigError('ipam.clusterPoolIPv4PodCIDRList', 'no pool configured: set clusterPoolIPv4PodCIDRList (e.g. ["10.0.0.0/8"]) and/or clusterPoolIPv6PodCIDRList');
  }
  const nodeName = ipam['nodeName'] ?? (env['NODE_NAME'] || os.hostname());
  if (typeof nodeName !== 'string' || !NODE_NAME.test(nodeName)) {
    const from = ipam['nodeName'] !== undefined ? 'ipam.nodeName' : env['NODE_NAME'] ? 'NODE_NAME' : 'the host name';
    throw new ConfigError('ipam.nodeName', `${JSON.stringify(nodeName)} (from ${from}) is not a usable node name (letters, digits, "-", ".", "_"; at most 253); set ipam.nodeName`);
  }
  const maxBlocksPerNode = ipam['maxBlocksPerNode'] ?? 1;
  if (typeof maxBlocksPerNode !== 'number' || !Number.isInteger(maxBlocksPerNode) || maxBlocksPerNode < 1 || maxBlocksPerNode > MAX_BLOCKS_PER_NODE) {
    throw new ConfigError('ipam.maxBlocksPerNode', `must be a whole number from 1 to ${MAX_BLOCKS_PER_NODE}, not ${JSON.stringify(maxBlocksPerNode)}`);
  }
  const check = ipam['storeCheckSeconds'] ?? DEFAULT_STORE_CHECK_SECONDS;
  if (typeof check !== 'number' || !(check >= 0) || check > MAX_STORE_CHECK_SECONDS) {
    throw new ConfigError('ipam.storeCheckSeconds', `must be a number of seconds from 0 (check on every ADD) to ${MAX_STORE_CHECK_SECONDS}, not ${JSON.stringify(check)}`);
  }
  return { families, nodeName, maxBlocksPerNode, storeCheckMs: check * 1000, store: parseStore(ipam['clusterStore'], dataDir, env) };
}

function familyPools(ipam: Readonly<Record<string, unknown>>, family: Family): FamilyPools[] {
  const v = `IPv${family}`;
  const listKey = `clusterPool${v}PodCIDRList`;
  const singleKey = `clusterPool${v}PodCIDR`;
  const maskKey = `clusterPool${v}MaskSize`;
  const list = ipam[listKey];
  const single = ipam[singleKey];
  if (list !== undefined && single !== undefined) throw new ConfigError(`ipam.${singleKey}`, `set either ${listKey} or ${singleKey}, not both`);
  let raw: { text: unknown; path: string }[];
  if (list !== undefined) {
    if (!Array.isArray(list)) throw new ConfigError(`ipam.${listKey}`, `must be a list of CIDRs, e.g. ["${family === 4 ? '10.0.0.0/8' : 'fd00::/104'}"]`);
    raw = list.map((text, i) => ({ text, path: `ipam.${listKey}[${i}]` }));
  } else {
    raw = single === undefined ? [] : [{ text: single, path: `ipam.${singleKey}` }];
  }
  if (raw.length === 0) {
    if (ipam[maskKey] !== undefined) throw new ConfigError(`ipam.${maskKey}`, `is set but no ${v} pool is: set ${listKey} too`);
    return [];
  }
  const pools = raw.map(({ text, path: p }) => parsePool(text, p, family));
  const mask = ipam[maskKey] ?? DEFAULT_MASK[family];
  const bits = family === 4 ? 32 : 128;
  if (typeof mask !== 'number' || !Number.isInteger(mask) || mask < 1 || mask > bits) {
    throw new ConfigError(`ipam.${maskKey}`, `must be a prefix length from 1 to ${bits}, not ${JSON.stringify(mask)}`);
  }
  if (mask > LONGEST_MASK[family]) {
    throw new ConfigError(`ipam.${maskKey}`, `/${mask} blocks are too small to hold a pod besides the network${family === 4 ? ', broadcast' : ''} and gateway addresses; use /${LONGEST_MASK[family]} or shorter`);
  }
  if (pools.length > MAX_POOLS) throw new ConfigError(`ipam.${listKey}`, `has ${pools.length} pools; at most ${MAX_POOLS} are supported: merge adjacent ones into larger CIDRs`);
  pools.forEach((pool) => {
    if (mask <= pool.prefix) {
      throw new ConfigError(`ipam.${maskKey}`, `/${mask} is not longer than the prefix of pool ${formatCidr(pool)}; a block must be a part of its pool (e.g. /${Math.min(pool.prefix + 8, LONGEST_MASK[family])})`);
    }
  });
  // Sorted by start, CIDRs overlap only if some pool overlaps the one before it: n log n,
  // not n^2, on every call (2,000 pools cost 0.35 s per ADD checked pairwise).
  const order = pools.map((_, i) => i).sort((a, b) => (pools[a]!.network < pools[b]!.network ? -1 : pools[a]!.network > pools[b]!.network ? 1 : a - b));
  for (let k = 1; k < order.length; k++) {
    const [i, j] = [order[k]!, order[k - 1]!];
    if (cidrsOverlap(pools[i]!, pools[j]!)) {
      const [later, earlier] = i > j ? [i, j] : [j, i];
      throw new ConfigError(raw[later]!.path, `pool ${formatCidr(pools[later]!)} overlaps pool ${formatCidr(pools[earlier]!)} (${raw[earlier]!.path})`);
    }
  }
  return [{ family, pools, mask }];
}

function parsePool(text: unknown, p: string, family: Family): Cidr {
  const parsed = typeof text === 'string' ? parseCidr(text) : undefined;
  if (!parsed) throw new ConfigError(p, `${JSON.stringify(text)} is not a CIDR such as "${family === 4 ? '10.0.0.0/8' : 'fd00::/104'}"`);
  if (parsed.cidr.family !== family) throw new ConfigError(p, `${String(text)} is not an IPv${family} CIDR`);
  if (parsed.hostBitsSet) throw new ConfigError(p, `${String(text)} has host bits set; did you mean ${formatCidr(parsed.cidr)}?`);
  return parsed.cidr;
}

function parseStore(raw: unknown, dataDir: string, env: Readonly<Record<string, string | undefined>>): ClusterStoreConfig {
  const p = 'ipam.clusterStore';
  if (raw === undefined) return { type: 'file', path: path.join(dataDir, 'cluster-pool') };
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(p, 'must be an object such as {"type": "etcd", "endpoints": ["https://10.0.0.1:2379"]}');
  const o = raw as Record<string, unknown>;
  const type = o['type'] ?? 'file';
  if (type === 'file') {
    const dir = o['path'] ?? path.join(dataDir, 'cluster-pool');
    if (typeof dir !== 'string' || !dir.startsWith('/')) throw new ConfigError(`${p}.path`, 'must be an absolute directory path');
    return { type: 'file', path: dir };
  }
  if (type === 'kubernetes') return parseKubernetesStore(o, env);
  if (type !== 'etcd') throw new ConfigError(`${p}.type`, `${JSON.stringify(type)} is not a cluster store; use "file", "etcd" or "kubernetes"`);
  const endpoints = o['endpoints'];
  if (!Array.isArray(endpoints) || endpoints.length === 0) throw new ConfigError(`${p}.endpoints`, 'must be a non-empty list of URLs such as ["https://10.0.0.1:2379"]');
  endpoints.forEach((e, i) => {
    let url: URL | undefined;
    try {
      url = typeof e === 'string' ? new URL(e) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new ConfigError(`${p}.endpoints[${i}]`, `${JSON.stringify(e)} is not an http:// or https:// URL such as "https://10.0.0.1:2379"`);
  });
  const prefix = o['prefix'] ?? DEFAULT_ETCD_PREFIX;
  if (typeof prefix !== 'string' || !prefix.startsWith('/') || prefix.endsWith('/')) throw new ConfigError(`${p}.prefix`, `must start with "/" and not end with one, e.g. "${DEFAULT_ETCD_PREFIX}"`);
  const timeout = o['timeoutSeconds'];
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout >= MIN_ETCD_TIMEOUT_SECONDS) || timeout > 60)) throw new ConfigError(`${p}.timeoutSeconds`, `must be a number of seconds from ${MIN_ETCD_TIMEOUT_SECONDS} to 60`);
  const tls = parseTls(o['tls'], `${p}.tls`);
  return {
    type: 'etcd',
    endpoints: endpoints as string[],
    prefix,
    ...(tls ? { tls } : {}),
    ...(typeof timeout === 'number' ? { timeoutMs: timeout * 1000 } : {}),
  };
}

/** `{"type": "kubernetes", "kubeconfig": "/etc/cni/net.d/pod-ipam/kubeconfig", "timeoutSeconds": 5}`; no kubeconfig: in-cluster. */
function parseKubernetesStore(o: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>): ClusterStoreConfig {
  const p = 'ipam.clusterStore';
  const kubeconfig = o['kubeconfig'];
  if (kubeconfig !== undefined && (typeof kubeconfig !== 'string' || !kubeconfig.startsWith('/'))) throw new ConfigError(`${p}.kubeconfig`, 'must be an absolute path to a kubeconfig file (leave it out to use the in-cluster service account)');
  const timeout = o['timeoutSeconds'] ?? DEFAULT_KUBERNETES_TIMEOUT_SECONDS;
  if (typeof timeout !== 'number' || !(timeout >= MIN_ETCD_TIMEOUT_SECONDS) || timeout > 60) throw new ConfigError(`${p}.timeoutSeconds`, `must be a number of seconds from ${MIN_ETCD_TIMEOUT_SECONDS} to 60`);
  for (const key of ['endpoints', 'prefix', 'tls', 'path']) {
    if (o[key] !== undefined) throw new ConfigError(`${p}.${key}`, `is not used by the kubernetes store (it reaches the API server through kubeconfig, or in-cluster without one); remove it`);
  }
  return { type: 'kubernetes', ...(typeof kubeconfig === 'string' && { kubeconfig }), timeoutMs: timeout * 1000, env };
}

function parseTls(raw: unknown, p: string): { ca?: string; cert?: string; key?: string } | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(p, 'must be an object {"ca": file, "cert": file, "key": file}');
  const o = raw as Record<string, unknown>;
  const out: { ca?: string; cert?: string; key?: string } = {};
  for (const field of ['ca', 'cert', 'key'] as const) {
    const v = o[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !v.startsWith('/')) throw new ConfigError(`${p}.${field}`, 'must be an absolute file path');
    out[field] = v;
  }
  if ((out.cert === undefined) !== (out.key === undefined)) throw new ConfigError(`${p}.${out.cert === undefined ? 'cert' : 'key'}`, 'cert and key go together: set both or neither');
  return out;
}
