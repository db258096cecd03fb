/**
 * The embedded cluster store: a directory holding one claim file per block
 * (claim-files.ts), node heartbeats, and proper-lockfile's lease lock. Exact for every
 * process that sees the directory coherently (one host). It serves a single-host cluster
 * and the simulated nodes of the tests; across hosts use etcd.
 *
 * One block, one node, without trusting the lock: a claim creates its file exclusively,
 * then reads every claim and withdraws (fenced) if any other overlaps it. Of two
 * overlapping claims the later-created one always sees the earlier one (it reads after
 * its own create, which is after the other's), so they cannot both stay; at worst both
 * withdraw and try another block. The lock only keeps claimers from meeting that way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptStateError } from '../../core/errors';
import { cidrsOverlap } from '../../core/ip';
import { readFileNoFollow, writeFileDurable } from '../durable-file';
import { ensureOwnedDir as ensurePrivateDir } from '../owned-dir';
import { lockDir } from '../lock';
import { parseBlock } from './block-keys';
import { claimOwner, createClaim, readClaims, removeClaim } from './claim-files';
import { validHeartbeat } from './cluster-store';
import type { BlockOwner, ClaimResult, ClusterStore } from './cluster-store';

export class FileClusterStore implements ClusterStore {
  readonly description: string;
  readonly #dir: string;
  readonly #claims: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.#claims = path.join(dir, 'claims');
    this.description = `file ${dir}`;
  }

  async claim(block: string, node: string): Promise<ClaimResult> {
    const cidr = parseBlock(block);
    if (!cidr) throw new RangeError(`not a block: ${block}`);
    ensurePrivateDir(this.#claims);
    const lock = await lockDir(this.#dir);
    try {
      this.#migrate();
      lock.assertHeld();
      const created = createClaim(this.#claims, block, node);
      const owner = created ? node : claimOwner(this.#claims, block);
      if (owner !== node) return { owner: owner ?? '', won: false };
      const other = readClaims(this.#claims).find((c) => !(c.block === block && c.node === node) && overlaps(c.block, cidr));
      if (!other) return { owner: node, won: true };
      // Withdraw only a claim made just now: an older one of ours was checked when made.
      if (created) removeClaim(this.#claims, block, node);
      return { owner: other.node, won: false };
    } finally {
      await lock.release();
    }
  }

  async owner(block: string): Promise<string | undefined> {
    await this.#ready();
    return claimOwner(this.#claims, block);
  }

  async list(): Promise<BlockOwner[]> {
    await this.#ready();
    return readClaims(this.#claims);
  }

  async release(block: string, node: string): Promise<boolean> {
    await this.#ready();
    return removeClaim(this.#claims, block, node);
  }

  async heartbeat(node: string, ttlSeconds: number): Promise<void> {
    const dir = path.join(this.#dir, 'heartbeats');
    ensurePrivateDir(dir);
    const at = new Date();
    const until = new Date(at.getTime() + ttlSeconds * 1000);
    // Each node writes only its own file; a stale rewrite can only make it look older.
    writeFileDurable(path.join(dir, encodeURIComponent(node)), `${JSON.stringify({ at: at.toISOString(), until: until.toISOString() })}\n`, { syncFile: false });
  }

  async lastHeartbeat(node: string): Promise<string | undefined> {
    return validHeartbeat(readFileNoFollow(path.join(this.#dir, 'heartbeats', encodeURIComponent(node))));
  }

  async close(): Promise<void> {}

  /**
   * A store written by pod-ipam before one-file-per-block kept every claim in
   * blocks.json: turn each into its claim file (exclusive creates: a claim made since is
   * kept), then set the old file aside. Runs under the lock; repeating it is harmless.
   */
  #migrate(): void {
    const legacy = path.join(this.#dir, 'blocks.json');
    const text = readFileNoFollow(legacy);
    if (text === undefined) return;
    for (const [block, node] of Object.entries(parseLegacy(legacy, text))) createClaim(this.#claims, block, node);
    try {
      fs.renameSync(legacy, `${legacy}.migrated`);
    } catch {
      // Another (overlapping) holder moved it already.
    }
  }

  /** Converts an old-layout store first (under the lock), so every read sees every claim. */
  async #ready(): Promise<void> {
    if (readFileNoFollow(path.join(this.#dir, 'blocks.json')) === undefined) return;
    ensurePrivateDir(this.#claims);
    const lock = await lockDir(this.#dir);
    try {
      this.#migrate();
    } finally {
      await lock.release();
    }
  }
}

function parseLegacy(file: string, text: string): Record<string, string> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new CorruptStateError(`${file} is not valid JSON; restore it from a backup or rebuild it (pod-ipam never resets it silently)`, (e as Error).message);
  }
  const blocks = (data as { blocks?: unknown } | null)?.blocks;
  const ok = (data as { version?: unknown } | null)?.version === 1 && typeof blocks === 'object' && blocks !== null && !Array.isArray(blocks) && Object.entries(blocks).every(([b, v]) => typeof v === 'string' && parseBlock(b));
  if (!ok) throw new CorruptStateError(`${file} is not a pod-ipam blocks file (version 1, "blocks": {cidr: node})`);
  return blocks as Record<string, string>;
}

function overlaps(block: string, cidr: NonNullable<ReturnType<typeof parseBlock>>): boolean {
  const other = parseBlock(block);
  return !!other && cidrsOverlap(other, cidr);
}
