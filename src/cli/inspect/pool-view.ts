/**
 * The cluster pool as `blocks` and `metrics` see it: the pools and mask of the network's
 * cluster-pool config, every claimed block with its node (from the configured cluster
 * store), and the use of the blocks this host serves (from its network state, read under
 * the network's lock). Other nodes' use is not known here: only their ownership.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseIpamCommon } from '../../cni/ipam-config';
import type { JsonObject } from '../../cni/json-fields';
import { cidrContains, parseCidr, formatCidr } from '../../core/ip';
import { canonicalizeRange, rangeCapacity } from '../../core/range';
import { BlockGrid } from '../../modes/cluster-pool/block-grid';
import { parseClusterPoolConfig } from '../../modes/cluster-pool/config';
import { localBlocksFile } from '../../modes/cluster-pool/local-blocks';
import { openClusterStore } from '../../store/cluster/cluster-store';
import { networkDir, withNetworkState } from '../../store/network-store';
import { CliError } from '../commands/common';
import { readConfigFile } from './config-file';

export interface BlockView {
  readonly block: string;
  readonly node: string;
  /** Index in its family's grid (config order), or null when outside the pools / mask. */
  readonly index: bigint | null;
  /** Addresses in use, when this host serves the block; else null. */
  readonly used: number | null;
  readonly capacity: bigint;
}

export interface PoolView {
  readonly network: string;
  readonly store: string;
  /** Blocks this host stopped serving because the store gives them to another node. */
  readonly lost: readonly { readonly block: string; readonly owner: string; readonly since: string }[];
  readonly grids: readonly BlockGrid[];
  readonly blocks: readonly BlockView[];
}

export async function loadPoolView(configFile: string, env: Readonly<Record<string, string | undefined>>, dataDirOverride?: string): Promise<PoolView> {
  const entry = readConfigFile(configFile).entries.find((e) => (e.conf.ipam as JsonObject | undefined)?.mode === 'cluster-pool');
  if (!entry) throw new CliError(`${configFile} has no pod-ipam plugin with ipam.mode "cluster-pool"`);
  const ipam = entry.conf.ipam as JsonObject;
  const network = String(entry.conf.name);
  const common = parseIpamCommon(ipam);
  const dataDir = dataDirOverride ?? common.dataDir;
  const config = parseClusterPoolConfig(ipam, env, common.dataDir);
  const grids = config.families.map((f) => new BlockGrid(f));
  const store = await openClusterStore(config.store);
  let claims;
  try {
    claims = await store.list();
  } finally {
    await store.close();
  }
  const { use, lost } = await localUse(dataDir, network);
  const blocks = claims.flatMap((c): BlockView[] => {
    const cidr = parseCidr(c.block)?.cidr;
    if (!cidr) return [];
    const grid = grids.find((g) => g.pools.family === cidr.family);
    const counted = use.get(formatCidr(cidr));
    return [{ block: formatCidr(cidr), node: c.node, index: grid?.indexOf(cidr) ?? null, used: counted ?? null, capacity: rangeCapacity(canonicalizeRange({ subnet: formatCidr(cidr) }, 'block')) }];
  });
  blocks.sort((a, b) => (a.index ?? -1n) < (b.index ?? -1n) ? -1 : (a.index ?? -1n) > (b.index ?? -1n) ? 1 : a.block.localeCompare(b.block));
  return { network, store: store.description, lost, grids, blocks };
}

/** Reservations per block this host serves, counted under the network's lock. */
async function localUse(dataDir: string, network: string): Promise<{ use: Map<string, number>; lost: PoolView['lost'] }> {
  const stateDir = networkDir(dataDir, network);
  const use = new Map<string, number>();
  if (!fs.existsSync(localBlocksFile(stateDir))) return { use, lost: [] };
  const { readLocalBlocks } = await import('../../modes/cluster-pool/local-blocks');
  if (!fs.existsSync(path.join(stateDir, 'ips'))) return { use, lost: readLocalBlocks(stateDir)?.lost ?? [] };
  let lost: PoolView['lost'] = [];
  await withNetworkState({ dataDir, network }, (state) => {
    const local = readLocalBlocks(stateDir);
    const reservations = state.reservations();
    for (const b of local?.blocks ?? []) use.set(formatCidr(b), reservations.filter((r) => cidrContains(b, r.ip)).length);
    lost = local?.lost ?? [];
  });
  return { use, lost };
}
