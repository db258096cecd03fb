/**
 * Where cluster-pool records which node owns which block. One block, one node,
 * cluster-wide: `claim` is atomic in every implementation (a locked file on one host, a
 * create-if-absent transaction in etcd), so two nodes racing for a block cannot both win.
 * Blocks are CIDR strings ("10.0.3.0/24"); nodes are node names. A Kubernetes-API store
 * could be added behind the same interface.
 *
 * Implementations are imported lazily by `openClusterStore`: a node that already holds its
 * blocks never loads them (the ADD/DEL hot path stays local).
 */

export interface BlockOwner {
  readonly block: string;
  readonly node: string;
}

export interface ClaimResult {
  /** The block's owner after the call. */
  readonly owner: string;
  /** True when `node` owns the block now (newly claimed, or already its own). */
  readonly won: boolean;
}

export interface ClusterStore {
  /** For messages: "etcd https://10.0.0.1:2379 prefix /pod-ipam", "file /var/lib/...". */
  readonly description: string;
  /**
   * Claims `block` for `node` unless another node owns it. Claiming a block the node
   * already owns succeeds (so a retry after an unknown outcome is safe).
   * @throws TryAgainError when the store is unreachable or busy.
   */
  claim(block: string, node: string): Promise<ClaimResult>;
  /** The node owning `block`, undefined when free. */
  owner(block: string): Promise<string | undefined>;
  /** Every claimed block. Cost grows with claims, not with pool size. */
  list(): Promise<BlockOwner[]>;
  /** Frees `block` if `node` owns it; returns false (a no-op) otherwise. */
  release(block: string, node: string): Promise<boolean>;
  /** Releases connections; the store must not be used afterwards. */
  close(): Promise<void>;
}

export interface FileStoreConfig {
  readonly type: 'file';
  /** Directory holding blocks.json and its lock. */
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

export type ClusterStoreConfig = FileStoreConfig | EtcdStoreConfig;

/**
 * Opens the configured store, loading only its implementation.
 * @throws ConfigError (with `configPath`-rooted JSON paths) when TLS files cannot be read.
 */
export async function openClusterStore(config: ClusterStoreConfig, configPath = 'ipam.clusterStore'): Promise<ClusterStore> {
  if (config.type === 'file') {
    const { FileClusterStore } = await import('./file-cluster-store');
    return new FileClusterStore(config.path);
  }
  const { openEtcdClusterStore } = await import('./etcd-cluster-store');
  return openEtcdClusterStore(config, configPath);
}
