/**
 * cluster-pool: the cluster has pool CIDRs per family; each node owns blocks of a fixed
 * mask carved from them, recorded in a cluster store (a locked file, or etcd), and its pods
 * get addresses from its blocks exactly as in node-local mode (gateway = first usable).
 *
 * The store is contacted only when the node needs a block it does not have yet (first
 * ADD, or growing a full node up to maxBlocksPerNode); otherwise everything comes from
 * `<stateDir>/cluster-pool.json`, so an etcd outage does not stop pods on nodes that
 * already own their blocks. The store module itself is imported only then.
 */
import { ConfigError } from '../../core/errors';
import { formatCidr } from '../../core/ip';
import type { Cidr, Family } from '../../core/ip';
import { canonicalizeRange } from '../../core/range';
import type { RangeSet } from '../../core/range-set';
import type { ClusterStore } from '../../store/cluster/cluster-store';
import type { IpamMode, ModeContext, ModeFactory } from '../mode';
import { BlockGrid } from './block-grid';
import { parseClusterPoolConfig } from './config';
import type { ClusterPoolConfig } from './config';
import { readLocalBlocks, writeLocalBlocks } from './local-blocks';
import { claimFreeBlock, ownedBy, storeOwner } from './claim';
import { mismatchWarnings } from './mismatch';

export const createClusterPoolMode: ModeFactory = (ipam, ctx) => {
  const dataDir = ctx.dataDir;
  if (typeof dataDir !== 'string' || !dataDir) throw new ConfigError('ipam.dataDir', 'must be an absolute path');
  return new ClusterPoolMode(parseClusterPoolConfig(ipam, ctx.env, dataDir), ctx);
};

class ClusterPoolMode implements IpamMode {
  readonly #config: ClusterPoolConfig;
  readonly #ctx: ModeContext;
  readonly #grids: BlockGrid[];
  #blocks: Cidr[] | undefined;
  #warnings: string[] = [];

  constructor(config: ClusterPoolConfig, ctx: ModeContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.#grids = config.families.map((f) => new BlockGrid(f));
  }

  /** One range set per configured family (IPv4 first), claiming a first block where none is owned. */
  async rangeSets(): Promise<RangeSet[]> {
    const blocks = this.#load();
    for (const grid of this.#grids) {
      if (!blocks.some((b) => b.family === grid.pools.family)) await this.#claim(grid);
    }
    return this.#grids.map((grid) => this.#rangeSet(grid.pools.family));
  }

  /** Claims one more block for a full family, up to maxBlocksPerNode. */
  async grow(index: number): Promise<RangeSet | undefined> {
    const grid = this.#grids[index];
    if (!grid) return undefined;
    const owned = this.#load().filter((b) => b.family === grid.pools.family).length;
    if (owned >= this.#config.maxBlocksPerNode) return undefined;
    await this.#claim(grid);
    return this.#rangeSet(grid.pools.family);
  }

  warnings(): string[] {
    this.#load();
    return [...this.#warnings];
  }

  #load(): Cidr[] {
    if (this.#blocks) return this.#blocks;
    const local = readLocalBlocks(this.#ctx.stateDir);
    this.#blocks = [...(local?.blocks ?? [])];
    if (local) {
      this.#warnings = mismatchWarnings(local, this.#config);
      this.#warnings.forEach((w) => this.#ctx.warn(w));
    }
    return this.#blocks;
  }

  #rangeSet(family: Family): RangeSet {
    return this.#blocks!.filter((b) => b.family === family).map((b) => canonicalizeRange({ subnet: formatCidr(b) }, `cluster-pool block ${formatCidr(b)}`));
  }

  /**
   * Adopts a block the store already records for this node (its local record was lost or
   * a crash came between the store write and ours), else claims a free one. The store
   * is opened for this call only and closed again, so no connection outlives it.
   */
  async #claim(grid: BlockGrid): Promise<void> {
    const node = this.#config.nodeName;
    const owner = storeOwner(node, this.#ctx.network);
    const blocks = this.#load();
    const { openClusterStore } = await import('../../store/cluster/cluster-store');
    const store: ClusterStore = await openClusterStore(this.#config.store);
    try {
      const claims = await store.list();
      const known = new Set(blocks.map(formatCidr));
      const adopt = ownedBy(claims, owner, grid).filter((b) => !known.has(formatCidr(b)));
      const block = adopt[0] ?? (await claimFreeBlock(store, grid, owner, claims));
      this.#ctx.log(`${adopt[0] ? 'adopted' : 'claimed'} block ${formatCidr(block)} for ${owner} from ${store.description}`);
      blocks.push(block);
      writeLocalBlocks(this.#ctx.stateDir, { node, blocks });
    } finally {
      await store.close();
    }
  }
}
