/**
 * Everything that talks to the API server, behind one lazily imported module: the warm
 * path (a usable podCIDR cache) never loads node:https, TLS or the kubeconfig reader,
 * and the in-cluster form never loads the kubeconfig reader and its YAML library.
 */
import { inClusterConnection } from './connection';
import type { Connection } from './connection';
import type { KubernetesConfig } from './config';

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
export async function connect(config: KubernetesConfig, ctx: ConnectContext): Promise<Connection> {
  if (config.kubeconfig === undefined) return inClusterConnection(ctx.env);
  // The YAML library comes with the kubeconfig reader: only a kubeconfig loads it.
  const { kubeconfigConnection } = await import('./kubeconfig-connection');
  return kubeconfigConnection(config.kubeconfig, { env: ctx.env, timeoutMs: config.timeoutMs, cacheDir: ctx.stateDir, warn: ctx.warn });
}
