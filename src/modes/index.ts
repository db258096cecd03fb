/**
 * The mode registry. node-local is loaded eagerly (it is tiny and on the hot path); the
 * other modes are imported only when a config names them, so their clients (etcd,
 * Kubernetes API) cost nothing to a node that does not use them.
 */
import { ConfigError } from '../core/errors';
import type { ModeFactory } from './mode';
import { createNodeLocalMode } from './node-local';

const MODES: Record<string, () => Promise<ModeFactory>> = {
  'node-local': async () => createNodeLocalMode,
  kubernetes: async () => (await import('./kubernetes')).createKubernetesMode,
  'cluster-pool': async () => (await import('./cluster-pool')).createClusterPoolMode,
};

export const modeNames = (): string[] => Object.keys(MODES);

/** @throws ConfigError (ipam.mode) for an unknown mode. */
export async function loadMode(name: string): Promise<ModeFactory> {
  // Own keys only: "__proto__", "toString" or "constructor" must be an unknown mode, not Object.prototype's.
  const load = Object.hasOwn(MODES, name) ? MODES[name] : undefined;
  if (!load) throw new ConfigError('ipam.mode', `unknown mode ${JSON.stringify(name)}; use one of ${modeNames().join(', ')}`);
  return load();
}
