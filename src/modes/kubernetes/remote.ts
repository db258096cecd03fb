/**
 * Everything that talks to the API server, behind one lazily imported module: the warm
 * path (a usable podCIDR cache) never loads node:https, TLS or the kubeconfig reader.
 */
import { inClusterConnection } from './connection';
import type { Connection } from './connection';
import type { KubernetesConfig } from './config';
import { kubeconfigConnection } from './kubeconfig-connection';

export { fetchNodePodCidrs } from './node-cidrs';
export { fetchPodAddresses } from './pod-annotation';
export type { Connection } from './connection';

export interface ConnectContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The network's state directory: an expiring exec credential is kept there between calls. */
  readonly stateDir: string;
  readonly warn: (message: string) => void;
}

/**
 * @throws ConfigError when the kubeconfig or in-cluster files are missing or malformed;
 *   TryAgainError when an exec credential plugin fails.
 */
export function connect(config: KubernetesConfig, ctx: ConnectContext): Connection {
  if (config.kubeconfig === undefined) return inClusterConnection(ctx.env);
  return kubeconfigConnection(config.kubeconfig, { env: ctx.env, timeoutMs: config.timeoutMs, cacheDir: ctx.stateDir, warn: ctx.warn });
}
