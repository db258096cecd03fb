/**
 * The embedded cluster store: claims live in `<dir>/blocks.json`, changed only under the
 * directory's lock (the same proper-lockfile helper the network store uses) and written
 * atomically and durably. It is exact for every process on one host, so it serves a
 * single-host cluster and the many simulated nodes of the tests; it knows nothing of
 * other hosts, which is what the etcd store is for.
 */
import * as path from 'node:path';
import { CorruptStateError } from '../../core/errors';
import { readFileNoFollow, writeFileDurable } from '../durable-file';
import { ensureOwnedDir as ensurePrivateDir } from '../owned-dir';
import { lockDir } from '../lock';
import type { BlockOwner, ClaimResult, ClusterStore } from './cluster-store';

interface BlocksFile {
  version: 1;
  /** block CIDR -> node name */
  blocks: Record<string, string>;
}

export class FileClusterStore implements ClusterStore {
  readonly description: string;
  readonly #dir: string;
  readonly #file: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.#file = path.join(dir, 'blocks.json');
    this.description = `file ${this.#file}`;
  }

  claim(block: string, node: string): Promise<ClaimResult> {
    return this.#locked(true, (data) => {
      const owner = data.blocks[block];
      if (owner !== undefined) return { result: { owner, won: owner === node }, changed: false };
      data.blocks[block] = node;
      return { result: { owner: node, won: true }, changed: true };
    });
  }

  async owner(block: string): Promise<string | undefined> {
    return this.#read().blocks[block];
  }

  async list(): Promise<BlockOwner[]> {
    return Object.entries(this.#read().blocks).map(([block, node]) => ({ block, node }));
  }

  release(block: string, node: string): Promise<boolean> {
    return this.#locked(false, (data) => {
      if (data.blocks[block] !== node) return { result: false, changed: false };
      delete data.blocks[block];
      return { result: true, changed: true };
    });
  }

  async close(): Promise<void> {}

  /** Reads need no lock: the file is only ever replaced whole by rename. */
  #read(): BlocksFile {
    const text = readFileNoFollow(this.#file);
    return text === undefined ? { version: 1, blocks: {} } : this.#parse(text);
  }

  async #locked<T>(create: boolean, change: (data: BlocksFile) => { result: T; changed: boolean }): Promise<T> {
    if (create) ensurePrivateDir(this.#dir);
    else if (readFileNoFollow(this.#file) === undefined) return change({ version: 1, blocks: {} }).result;
    const lock = await lockDir(this.#dir);
    try {
      const data = this.#read();
      const { result, changed } = change(data);
      if (changed) {
        lock.assertHeld();
        writeFileDurable(this.#file, `${JSON.stringify(data, null, 1)}\n`);
      }
      return result;
    } finally {
      await lock.release();
    }
  }

  #parse(text: string): BlocksFile {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new CorruptStateError(`${this.#file} is not valid JSON; restore it from a backup or rebuild it (pod-ipam never resets it silently)`, (e as Error).message);
    }
    const blocks = (data as { blocks?: unknown } | null)?.blocks;
    const ok = (data as { version?: unknown } | null)?.version === 1 && typeof blocks === 'object' && blocks !== null && !Array.isArray(blocks) && Object.values(blocks).every((v) => typeof v === 'string');
    if (!ok) throw new CorruptStateError(`${this.#file} is not a pod-ipam blocks file (version 1, "blocks": {cidr: node})`);
    return data as BlocksFile;
  }
}
