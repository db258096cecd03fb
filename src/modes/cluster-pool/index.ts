/**
 * cluster-pool: the cluster has pool CIDRs per family; each node owns blocks of a fixed
 * mask carved from them, recorded in a cluster store (a directory, or etcd), and its pods
 * get addresses from its blocks exactly as in node-local mode (gateway = first usable).
 *
 * The store is contacted when the node needs a block (first ADD, growing a full node up
 * to maxBlocksPerNode) and to compare the node's blocks with the store (store-check.ts)
 * every storeCheckSeconds of ADDs or STATUS calls. Otherwise everything comes from
 * `<stateDir>/cluster-pool.json`, and the store module is not even imported; a check that
 * cannot reach the store only warns, so an etcd outage does not stop pods on nodes that
 * already own their blocks.
 */
import { ConfigError, NotAvailableError, PodIpamError, PoolExhaustedError } from '../../core/errors';
import { formatCidr } from '../../core/ip';
import type { Cidr, Family } from '../../core/ip';
import { canonicalizeRange } from '../../core/range';
import type { RangeSet } from '../../core/range-set';
import type { BlockOwner, ClusterStore } from '../../store/cluster/cluster-store';
import type { IpamMode, ModeContext, ModeFactory } from '../mode';
import { BlockGrid } from './block-grid';
import { HEARTBEAT_TTL_SECONDS, parseClusterPoolConfig } from './config';
import type { ClusterPoolConfig } from './config';
import { readLocalBlocks, writeLocalBlocks } from './local-blocks';
import type { LocalBlocks } from './local-blocks';
import { claimFreeBlock, hasFreeBlock, ownedBy, storeOwner } from './claim';
import { lostWarnings, mismatchWarnings } from './mismatch';
import { checkAgainstStore } from './store-check';

export const createClusterPoolMode: ModeFactory = (ipam, ctx) => {
  const dataDir = ctx.dataDir;
  if (typeof dataDir !== 'string' || !dataDir) throw new ConfigError('ipam.dataDir', 'must be an absolute path');
  return new ClusterPoolMode(parseClusterPoolConfig(ipam, ctx.env, dataDir), ctx);
};

class ClusterPoolMode implements IpamMode {
  readonly #config: ClusterPoolConfig;
  readonly #ctx: ModeContext;
  readonly #grids: BlockGrid[];
  readonly #owner: string;
  #local: LocalBlocks | undefined;
  #warnings: string[] | undefined;

  constructor(config: ClusterPoolConfig, ctx: ModeContext) {
    this.#config = config;
    this.#ctx = ctx;
    this.#grids = config.families.map((f) => new BlockGrid(f));
    this.#owner = storeOwner(config.nodeName, ctx.network);
  }

  /** One range set per configured family (IPv4 first), claiming a first block where none is served. */
  async rangeSets(): Promise<RangeSet[]> {
    const missing = () => this.#grids.filter((g) => !this.#load().blocks.some((b) => b.family === g.pools.family));
    if (missing().length > 0) {
      await this.#withStore(false, async (store, claims) => {
        for (const grid of missing()) await this.#claim(store, grid, claims);
      });
    } else if (this.#checkDue()) {
      await this.#withStore(true, async () => undefined);
      if (missing().length > 0) return this.rangeSets(); // a block was lost: claim another
    }
    return this.#grids.map((grid) => this.#rangeSet(grid.pools.family));
  }

  /** Claims one more block for a full family, up to maxBlocksPerNode. */
  async grow(index: number): Promise<RangeSet | undefined> {
    const grid = this.#grids[index];
    if (!grid) return undefined;
    const owned = () => this.#load().blocks.filter((b) => b.family === grid.pools.family).length;
    if (owned() >= this.#config.maxBlocksPerNode) return undefined;
    // The check inside may lose blocks: count again before claiming.
    let claimed = false;
    await this.#withStore(false, async (store, claims) => {
      if (owned() >= this.#config.maxBlocksPerNode) return;
      await this.#claim(store, grid, claims);
      claimed = true;
    });
    // Nothing new to allocate from: say so, or the caller would retry the same set forever.
    return claimed ? this.#rangeSet(grid.pools.family) : undefined;
  }

  /**
   * STATUS, read-only: the blocks this node serves (a family with none is an empty set,
   * for couldGrow to judge). No store check, no claim, no heartbeat: those happen on ADD.
   * Fails (code 50) while a block this node served belongs to another node.
   */
  async statusRangeSets(): Promise<RangeSet[]> {
    const lost = this.#load().lost ?? [];
    if (lost.length > 0) throw new NotAvailableError(lostWarnings(lost, this.#config.nodeName).join('; '));
    return this.#grids.map((grid) => this.#rangeSet(grid.pools.family));
  }

  /**
   * STATUS: whether a block could be claimed for family `index`: below maxBlocksPerNode and
   * the store lists a free one (read only).
   * @throws PoolExhaustedError when the store has no free block (STATUS says so, code 50)
   */
  async couldGrow(index: number): Promise<boolean> {
    const grid = this.#grids[index];
    if (!grid) return false;
    const local = this.#load();
    if (local.blocks.filter((b) => b.family === grid.pools.family).length >= this.#config.maxBlocksPerNode) return false;
    const { openClusterStore } = await import('../../store/cluster/cluster-store');
    const store = await openClusterStore(this.#config.store);
    try {
      const claims = await store.list();
      const known = [...local.blocks.map(formatCidr), ...(local.lost ?? []).map((l) => l.block)].map((block) => ({ block, node: this.#owner }));
      if (hasFreeBlock(grid, [...claims, ...known])) return true;
      throw new PoolExhaustedError(`cluster pool exhausted: every block of ${grid.describe()} is owned by a node`, 'free the blocks of removed nodes with "pod-ipam blocks release --node NAME", or add a pool to the list');
    } finally {
      await store.close();
    }
  }

  warnings(): string[] {
    const local = this.#load();
    this.#warnings ??= [...mismatchWarnings(local, this.#config), ...lostWarnings(local.lost ?? [], this.#config.nodeName)];
    return [...this.#warnings];
  }

  #load(): LocalBlocks {
    if (this.#local) return this.#local;
    this.#local = readLocalBlocks(this.#ctx.stateDir) ?? { node: this.#config.nodeName, blocks: [] };
    this.warnings().forEach((w) => this.#ctx.warn(w));
    return this.#local;
  }

  #save(local: LocalBlocks): void {
    this.#local = local;
    this.#warnings = undefined;
    writeLocalBlocks(this.#ctx.stateDir, local);
  }

  #checkDue(): boolean {
    const at = this.#load().checkedAt;
    const now = Date.now();
    // A check time in the future means the clock was stepped back: check now.
    return at === undefined || now - at >= this.#config.storeCheckMs || at > now;
  }

  #rangeSet(family: Family): RangeSet {
    return this.#load().blocks.filter((b) => b.family === family).map((b) => canonicalizeRange({ subnet: formatCidr(b) }, `cluster-pool block ${formatCidr(b)}`));
  }

  /**
   * Opens the store for this call only, compares the node's blocks with it, refreshes the
   * node's heartbeat, runs `work`, and records the outcome. With `tolerant`, a store
   * that cannot be used only warns (the node keeps serving what it has); the attempt is
   * still recorded, so an outage costs one timeout per storeCheckSeconds, not per ADD.
   */
  async #withStore(tolerant: boolean, work: (store: ClusterStore, claims: BlockOwner[]) => Promise<void>): Promise<void> {
    const now = new Date();
    let store: ClusterStore | undefined;
    try {
      const { openClusterStore } = await import('../../store/cluster/cluster-store');
      store = await openClusterStore(this.#config.store);
      const claims = await store.list();
      const local = this.#load();
      // Blocks are checked under the name they were claimed as (a renamed node keeps them).
      const checked = await checkAgainstStore(store, storeOwner(local.node, this.#ctx.network), local.blocks, claims, now);
      checked.reclaimed.forEach((b) => this.#ctx.warn(`cluster-pool: block ${formatCidr(b)} was missing from ${store!.description}; claimed it back for ${this.#owner}`));
      checked.lost.forEach((l) => this.#ctx.warn(`cluster-pool: ${store!.description} gives block ${l.block} to ${l.owner}, not ${this.#owner}: this node no longer hands out its addresses`));
      this.#local = { ...local, blocks: checked.keep, lost: [...(local.lost ?? []), ...checked.lost], checkedAt: now.getTime() };
      this.#warnings = undefined;
      await work(store, claims);
      // One durable write, after the store has every claim: a crash before it leaves the
      // store ahead of this node, and the next claim adopts what it lacks.
      this.#save(this.#local);
      await store.heartbeat(this.#owner, HEARTBEAT_TTL_SECONDS).catch((e: unknown) => this.#ctx.warn(`cluster-pool: could not refresh this node's heartbeat: ${(e as Error).message}`));
    } catch (e) {
      if (!tolerant || !(e instanceof PodIpamError)) throw e;
      this.#ctx.warn(`cluster-pool: could not compare this node's blocks with the cluster store (${e.message}); serving the blocks it has, next try in ${this.#config.storeCheckMs / 1000}s`);
      this.#save({ ...this.#load(), checkedAt: now.getTime() });
    } finally {
      await store?.close();
    }
  }

  /**
   * Adopts a block the store already records for this node (its local record was lost or
   * a crash came between the store write and ours), else claims a free one.
   */
  async #claim(store: ClusterStore, grid: BlockGrid, claims: readonly BlockOwner[]): Promise<void> {
    const local = this.#load();
    const known = new Set([...local.blocks.map(formatCidr), ...(local.lost ?? []).map((l) => l.block)]);
    let block: Cidr | undefined;
    for (const candidate of ownedBy(claims, this.#owner, grid).filter((b) => !known.has(formatCidr(b)))) {
      // Re-claiming checks it again: a claim left by a crash before its check is not adopted blindly.
      if ((await store.claim(formatCidr(candidate), this.#owner)).won) {
        block = candidate;
        break;
      }
    }
    const adopted = block !== undefined;
    block ??= await claimFreeBlock(store, grid, this.#owner, [...claims, ...[...known].map((b) => ({ block: b, node: this.#owner }))]);
    this.#ctx.log(`${adopted ? 'adopted' : 'claimed'} block ${formatCidr(block)} for ${this.#owner} from ${store.description}`);
    this.#local = { ...local, blocks: [...local.blocks, block] };
  }
}
