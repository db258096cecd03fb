/**
 * The node's pod CIDRs as last read from the API server, kept in the network's state
 * directory so that ADD, DEL and CHECK on a warm node make no API call. It is derived
 * data: an unreadable cache is dropped (with a warning) and read again from the server,
 * unlike reservations, which are never reset silently.
 */
import * as path from 'node:path';
import { readFileNoFollow, writeFileDurable } from '../../store/durable-file';

export interface RetiredCidr {
  readonly cidr: string;
  /** ms since the epoch when the Node was first seen without it. */
  readonly since: number;
}

export interface PodCidrCache {
  readonly node: string;
  readonly podCIDRs: readonly string[];
  /** ms since the epoch of the last successful read from the API server. */
  readonly fetchedAt: number;
  /** CIDRs the Node used to have: live reservations in them are kept, none are added. */
  readonly retired: readonly RetiredCidr[];
}

export const CACHE_FILE = 'kubernetes-node.json';

/** @returns the cache, or undefined when absent or unreadable (then `warn` says why). */
export function readCache(stateDir: string, warn: (m: string) => void): PodCidrCache | undefined {
  const file = path.join(stateDir, CACHE_FILE);
  let text: string | undefined;
  try {
    text = readFileNoFollow(file);
  } catch (e) {
    warn(`ignoring the podCIDR cache: ${(e as Error).message}`);
    return undefined;
  }
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<PodCidrCache> & { version?: unknown };
    const ok =
      v.version === 1 && typeof v.node === 'string' && typeof v.fetchedAt === 'number' &&
      Array.isArray(v.podCIDRs) && v.podCIDRs.every((c) => typeof c === 'string') &&
      Array.isArray(v.retired) && v.retired.every((r) => typeof r?.cidr === 'string' && typeof r.since === 'number');
    if (ok) return { node: v.node!, podCIDRs: v.podCIDRs!, fetchedAt: v.fetchedAt!, retired: v.retired! };
  } catch {
    // fall through: same treatment as a wrong shape
  }
  warn(`ignoring the unreadable podCIDR cache ${file}; it will be read again from the API server`);
  return undefined;
}

/** @throws StoreWriteError when the state directory is not writable. */
export function writeCache(stateDir: string, cache: PodCidrCache): void {
  writeFileDurable(path.join(stateDir, CACHE_FILE), `${JSON.stringify({ version: 1, ...cache }, null, 2)}\n`);
}
