/** Opens a network's state directory and runs work on it under the network's lock. */
import * as path from 'node:path';
import { ensurePrivateDir } from './durable-file';
import { lockDir } from './lock';
import { NetworkState } from './network-state';

export interface NetworkStoreOptions {
  readonly dataDir: string;
  /** Validated network name: safe as a single path component. */
  readonly network: string;
  readonly lockTimeoutMs?: number;
}

export const networkDir = (dataDir: string, network: string): string => path.join(dataDir, network);

/**
 * Runs `work` with the network's state under its lock; the lock is released afterwards
 * whatever happens.
 * @throws TryAgainError when the lock is not obtained in time
 */
export async function withNetworkState<T>(options: NetworkStoreOptions, work: (state: NetworkState, stateDir: string) => Promise<T> | T): Promise<T> {
  const dir = networkDir(options.dataDir, options.network);
  ensurePrivateDir(options.dataDir);
  ensurePrivateDir(dir);
  const lock = await lockDir(dir, options.lockTimeoutMs);
  try {
    const state = new NetworkState(dir, () => lock.assertHeld());
    return await work(state, dir);
  } finally {
    await lock.release();
  }
}
