/**
 * Opening a network's state and running work under its lock.
 *
 * What may be written after the lock is released (the rule every caller keeps): fsyncs,
 * and the index entry of the call's own attachment (final index after ADD, its removal
 * after DEL). Only calls for that attachment write its index, and a runtime never runs
 * two calls for one attachment at once; GC and operators only remove index entries,
 * which is idempotent, and readers verify every index against `ips/`. Everything that
 * decides who holds an address (claims, releases, the cursor) happens between
 * `lockNetwork` and `release()` in `underLock` below.
 */
import * as path from 'node:path';
import type { Reservation } from '../core/attachment';
import { lockNetwork } from './network-lock';
import { NetworkState } from './network-state';
import { ensureOwnedDir, ownedDirExists } from './owned-dir';

export interface NetworkStoreOptions {
  readonly dataDir: string;
  /** Validated network name: safe as a single path component. */
  readonly network: string;
  readonly lockTimeoutMs?: number;
}

export const networkDir = (dataDir: string, network: string): string => path.join(dataDir, network);

/**
 * The network's state, its directories created (0700) when missing.
 * @throws IoError (code 5) when a directory is not pod-ipam's own; StoreWriteError
 */
export function openNetwork(options: NetworkStoreOptions): NetworkState {
  ensureOwnedDir(options.dataDir);
  const state = new NetworkState(networkDir(options.dataDir, options.network));
  ensureOwnedDir(state.dir);
  ensureOwnedDir(state.ipsDir);
  ensureOwnedDir(state.attachmentsDir);
  return state;
}

/**
 * The network's state for reading, or undefined when it has none. Creates nothing, so it
 * works on a read-only file system.
 * @throws IoError (code 5) when a directory is not pod-ipam's own
 */
export function findNetwork(options: NetworkStoreOptions): NetworkState | undefined {
  const dir = networkDir(options.dataDir, options.network);
  return ownedDirExists(options.dataDir) && ownedDirExists(dir) ? new NetworkState(dir) : undefined;
}

/** How long a call waited for the network's lock and then held it, in ms. */
export interface LockTiming {
  readonly waitedMs: number;
  readonly heldMs: number;
}

/**
 * Runs `work` holding the network's lock and releases it whatever happens.
 * `timing`, when given, is told how long the lock was waited for and held, also when the
 * work throws (a call that failed after a long wait is the one an operator asks about).
 * @returns the work's value
 * @throws TryAgainError when the lock is not obtained within `lockTimeoutMs`
 */
export async function underLock<T>(state: NetworkState, options: NetworkStoreOptions, work: () => Promise<T> | T, timing?: (t: LockTiming) => void): Promise<T> {
  const lock = lockNetwork(state.dir, options.lockTimeoutMs);
  const granted = performance.now();
  try {
    return await work();
  } finally {
    lock.release();
    timing?.({ waitedMs: lock.waitedMs, heldMs: performance.now() - granted });
  }
}

/** Opens the network and runs `work` under its lock (operator commands, STATUS, GC). */
export async function withNetworkState<T>(options: NetworkStoreOptions, work: (state: NetworkState, stateDir: string) => Promise<T> | T): Promise<T> {
  const state = openNetwork(options);
  return underLock(state, options, () => work(state, state.dir));
}

/**
 * Operators' release: under the lock, releases what `select` picks from all reservations
 * (nothing with `dryRun`) and sweeps crash leftovers; durable when it returns.
 * @returns the picked reservations, those released (durable when it returns), how many there were in all, and what failed
 */
export async function releaseWhere(options: NetworkStoreOptions, select: (all: readonly Reservation[]) => Reservation[], dryRun: boolean): Promise<{ picked: Reservation[]; released: Reservation[]; total: number; failures: string[] }> {
  const state = openNetwork(options);
  const value = await underLock(state, options, () => {
    const all = state.reservations();
    const picked = select(all);
    if (dryRun) return { picked, released: [], total: all.length, failures: [] };
    const { released, failures } = state.releaseAll(picked, all);
    const gone = new Set(released);
    state.sweep(all.filter((r) => !gone.has(r)), () => false);
    return { picked, released, total: all.length, failures };
  });
  if (!dryRun && value.picked.length > 0) {
    state.syncAddresses();
    state.syncIndex();
  }
  return value;
}
