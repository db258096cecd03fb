/**
 * The node's own record of its blocks, `<stateDir>/cluster-pool.json`. Between store
 * checks, ADD reads only this file: the hot path stays local. Written after the store
 * records a claim, so a crash in between leaves the store ahead of this file, and the
 * next claim adopts the block back.
 *
 * Besides the blocks it serves, it remembers when the store was last checked (so checks
 * come every storeCheckSeconds, not on every ADD) and the blocks the store turned out to
 * give to another node ("lost"): those are no longer served, and STATUS fails naming
 * them until the operator has moved their pods and runs `pod-ipam blocks forget`.
 */
import * as path from 'node:path';
import { CorruptStateError } from '../../core/errors';
import { formatCidr, parseCidr } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import { readFileNoFollow, writeFileDurable } from '../../store/durable-file';

export interface LostBlock {
  readonly block: string;
  /** Who the store says owns it (or an overlapping block) now. */
  readonly owner: string;
  /** When this node noticed (ISO time). */
  readonly since: string;
}

export interface LocalBlocks {
  /** The node name the blocks were claimed under. */
  readonly node: string;
  /** The blocks this node serves. */
  readonly blocks: readonly Cidr[];
  readonly lost?: readonly LostBlock[];
  /** When the node last compared its blocks with the store (ms since the epoch); absent: never. */
  readonly checkedAt?: number;
}

export const localBlocksFile = (stateDir: string): string => path.join(stateDir, 'cluster-pool.json');

/** @throws CorruptStateError when the file exists but is not a blocks record. */
export function readLocalBlocks(stateDir: string): LocalBlocks | undefined {
  const file = localBlocksFile(stateDir);
  const text = readFileNoFollow(file);
  if (text === undefined) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new CorruptStateError(`${file} is not valid JSON; the node's blocks are still recorded in the cluster store: move the file away and the next ADD adopts them again`, (e as Error).message);
  }
  const o = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  const blocks = Array.isArray(o['blocks']) ? o['blocks'].map((b) => (typeof b === 'string' ? parseCidr(b) : undefined)) : undefined;
  const lost = o['lost'] === undefined ? [] : Array.isArray(o['lost']) && o['lost'].every(isLost) ? (o['lost'] as LostBlock[]) : undefined;
  const checkedAt = o['checkedAt'] === undefined ? undefined : typeof o['checkedAt'] === 'string' ? Date.parse(o['checkedAt']) : Number.NaN;
  if (o['version'] !== 1 || typeof o['node'] !== 'string' || !blocks || blocks.some((b) => !b || b.hostBitsSet) || !lost || Number.isNaN(checkedAt)) {
    throw new CorruptStateError(`${file} is not a pod-ipam cluster-pool record (version 1, node, blocks); move it away and the next ADD adopts the node's blocks from the cluster store`);
  }
  return { node: o['node'], blocks: blocks.map((b) => b!.cidr), lost, ...(checkedAt !== undefined ? { checkedAt } : {}) };
}

export function writeLocalBlocks(stateDir: string, local: LocalBlocks): void {
  const data = {
    version: 1,
    node: local.node,
    blocks: local.blocks.map(formatCidr),
    ...(local.lost?.length ? { lost: local.lost } : {}),
    ...(local.checkedAt !== undefined ? { checkedAt: new Date(local.checkedAt).toISOString() } : {}),
  };
  writeFileDurable(localBlocksFile(stateDir), `${JSON.stringify(data, null, 1)}\n`);
}

function isLost(v: unknown): v is LostBlock {
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  return typeof o['block'] === 'string' && typeof o['owner'] === 'string' && typeof o['since'] === 'string';
}
