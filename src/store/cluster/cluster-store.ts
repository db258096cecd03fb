/**
 * Where cluster-pool records which node owns which block. One block, one node,
 * cluster-wide: a `claim` succeeds only if no claimed block overlaps it, whatever the
 * mask sizes, and that holds for any interleaving of claims (etcd: one transaction
 * comparing every key that could overlap; file: an exclusive create per block, checked
 * against every other claim after it is made, see file-cluster-store.ts; Kubernetes API:
 * the same, with an exclusive create of one object per block, see
 * kubernetes-cluster-store.ts). Blocks are CIDR strings ("10.0.3.0/24"); nodes are
 * owner names ("<node>/<network>").
 *
 * Implementations are imported lazily by `openClusterStore`: a node that already holds its
 * blocks never loads them (the ADD/DEL hot path stays local).
 */

export interface BlockOwner {
  readonly block: string;
  readonly node: string;
}

export interface ClaimResult {
  /** The block's owner after the call, or the owner of a claimed block overlapping it ('' if unknown). */
  readonly owner: string;
  /** True when `node` owns the block now (newly claimed, or already its own). */
  readonly won: boolean;
}

export interface ClusterStore {
  /** For messages: "etcd https://10.0.0.1:2379 prefix /pod-ipam", "file /var/lib/...". */
  readonly description: string;
  /**
   * Claims `block` for `node` unless a claimed block (any node's, any mask) overlaps it.
   * Claiming a block the node already owns succeeds (a retry after an unknown outcome
   * is safe).
   * @throws TryAgainError when the store is unreachable or busy.
   */
  claim(block: string, node: string): Promise<ClaimResult>;
  /** The node owning `block`, undefined when free. */
  owner(block: string): Promise<string | undefined>;
  /** Every claimed block. Cost grows with claims, not with pool size. */
  list(): Promise<BlockOwner[]>;
  /** Frees `block` if `node` owns it; returns false (a no-op) otherwise. */
  release(block: string, node: string): Promise<boolean>;
  /**
   * Records that `node` is alive and talking to the store, valid for `ttlSeconds`.
   * `blocks release` refuses to free the blocks of a node whose heartbeat is valid.
   */
  heartbeat(node: string, ttlSeconds: number): Promise<void>;
  /** When `node` last sent a heartbeat that is still valid (ISO time), else undefined. */
  lastHeartbeat(node: string): Promise<string | undefined>;
  /** Releases connections; the store must not be used afterwards. */
  close(): Promise<void>;
}

export interface FileStoreConfig {
  readonly type: 'file';
  /** Directory holding the claims (one file per block), heartbeats and the lock. */
  readonly path: string;
}

export interface EtcdStoreConfig {
  readonly type: 'etcd';
  readonly endpoints: readonly string[];
  /** Key prefix without a trailing slash, e.g. "/pod-ipam". */
  readonly prefix: string;
  /** Files (paths); read when the store opens. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  readonly timeoutMs?: number;
}

export interface KubernetesStoreConfig {
  readonly type: 'kubernetes';
  /** Absolute kubeconfig path; absent means the in-cluster service account. */
  readonly kubeconfig?: string;
  readonly timeoutMs: number;
  /** The caller's environment: in-cluster settings and what an exec credential plugin inherits. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

export type ClusterStoreConfig = FileStoreConfig | EtcdStoreConfig | KubernetesStoreConfig;

/**
 * Opens the configured store, loading only its implementation.
 * @throws ConfigError (with `configPath`-rooted JSON paths) when TLS files cannot be read.
 */
export async function openClusterStore(config: ClusterStoreConfig, configPath = 'ipam.clusterStore'): Promise<ClusterStore> {
  if (config.type === 'file') {
    const { FileClusterStore } = await import('./file-cluster-store');
    return new FileClusterStore(config.path);
  }
  if (config.type === 'kubernetes') {
    const { openKubernetesClusterStore } = await import('./kubernetes-cluster-store');
    return openKubernetesClusterStore(config);
  }
  const { openEtcdClusterStore } = await import('./etcd-cluster-store');
  return openEtcdClusterStore(config, configPath);
}

/** A heartbeat record `{"at", "until"}` (both stores write it): `at` while `until` is ahead, else undefined. */
export function validHeartbeat(text: string | undefined, now = Date.now()): string | undefined {
  try {
    const { at, until } = JSON.parse(text ?? 'null') as { at: unknown; until: unknown };
    return typeof at === 'string' && typeof until === 'string' && now < Date.parse(until) ? at : undefined;
  } catch {
    return undefined;
  }
}
