/**
 * The node's own record of the blocks it owns, `<stateDir>/cluster-pool.json`. Once a
 * block is here, ADD and DEL never contact the cluster store again: the hot path reads
 * one small local file. Written after the store records the claim, so a crash in between
 * leaves the store ahead of this file, and the next claim adopts the block back.
 */
import * as path from 'node:path';
import { CorruptStateError } from '../../core/errors';
import { formatCidr, parseCidr } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import { readFileNoFollow, writeFileDurable } from '../../store/durable-file';

export interface LocalBlocks {
  /** The node name the blocks were claimed under. */
  readonly node: string;
  readonly blocks: readonly Cidr[];
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
  if (o['version'] !== 1 || typeof o['node'] !== 'string' || !blocks || blocks.some((b) => !b || b.hostBitsSet)) {
    throw new CorruptStateError(`${file} is not a pod-ipam cluster-pool record (version 1, node, blocks); move it away and the next ADD adopts the node's blocks from the cluster store`);
  }
  return { node: o['node'], blocks: blocks.map((b) => b!.cidr) };
}

export function writeLocalBlocks(stateDir: string, local: LocalBlocks): void {
  const data = { version: 1, node: local.node, blocks: local.blocks.map(formatCidr) };
  writeFileDurable(localBlocksFile(stateDir), `${JSON.stringify(data, null, 1)}\n`);
}
