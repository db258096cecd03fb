/**
 * Everything that talks to the API server, behind one lazily imported module: the warm
 * path (a usable podCIDR cache) never loads node:https, TLS or the kubeconfig reader.
 */
import { inClusterConnection, kubeconfigConnection } from './connection';
import type { Connection } from './connection';
import type { KubernetesConfig } from './config';

export { fetchNodePodCidrs } from './node-cidrs';
export { fetchPodAddresses } from './pod-annotation';
export type { Connection } from './connection';

/** @throws ConfigError when the kubeconfig or in-cluster files are missing or malformed. */
export function connect(config: KubernetesConfig, env: Readonly<Record<string, string | undefined>>): Connection {
  return config.kubeconfig !== undefined ? kubeconfigConnection(config.kubeconfig) : inClusterConnection(env);
}
