/**
 * Where a node's ranges come from. The CNI layer parses the common ipam keys, then asks
 * the mode for the range sets to allocate from. A mode runs while the network's lock is
 * held, so it may read and write its own files under `ctx.stateDir` without racing
 * other pod-ipam processes of the same network.
 */
import type { ConfigIssues } from '../core/config-issues';
import type { RangeSet } from '../core/range-set';

export interface ModeContext {
  /** Network name from the CNI config (validated: safe as a file name). */
  readonly network: string;
  /** `<dataDir>/<network>`: the network's state directory, created 0700 and locked. */
  readonly stateDir: string;
  /** The plugin's data directory (`ipam.dataDir`). */
  readonly dataDir: string;
  /** Process environment (NODE_NAME, KUBERNETES_SERVICE_HOST, ...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The CNI config's `runtimeConfig` (capabilities such as `ipRanges`); {} when absent. */
  readonly runtimeConfig: Readonly<Record<string, unknown>>;
  /** `K=V` pairs from CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME, ...). */
  readonly cniArgs: ReadonlyMap<string, string>;
  /** Log to stderr (quiet unless POD_IPAM_LOG=debug). */
  readonly log: (message: string) => void;
  /** Always shown on stderr: a condition the operator must know about. */
  readonly warn: (message: string) => void;
  /**
   * Set by `pod-ipam validate` only: a factory may record every ConfigError here and go
   * on instead of throwing the first (node-local does). Factories that ignore it still
   * throw their first error, which validate records.
   */
  readonly issues?: ConfigIssues;
}

export interface IpamMode {
  /**
   * The range sets new addresses come from, one address per set per attachment.
   * May claim a block (cluster-pool) or read the Node object (kubernetes).
   * @throws ConfigError, TryAgainError (remote store down), RangeExhaustedError (pool exhausted)
   */
  rangeSets(): Promise<RangeSet[]>;
  /**
   * Called when range set `index` has no free address. Returns a grown set (e.g. with
   * another claimed block) or undefined when it cannot grow.
   */
  grow?(index: number, current: RangeSet): Promise<RangeSet | undefined>;
  /**
   * Addresses the mode wants requested (static) addresses for this ADD to be, e.g. a
   * Kubernetes pod annotation. Lower precedence than runtimeConfig.ips and args.
   */
  requestedAddresses?(): Promise<string[]>;
  /**
   * STATUS: the range sets an ADD would allocate from now, found without writing or claiming
   * anything (runtimes forward the kubelet's periodic runtime-status check to STATUS, so it
   * must change nothing). A set the mode would first have to claim (cluster-pool with no
   * block yet) is empty; `couldGrow` says whether it could be. The remote source is read
   * only when there is no usable cache (kubernetes: none for this node), and never written back.
   * Modes without it answer with rangeSets(), which must then be read-only (node-local).
   * @throws TryAgainError, NotAvailableError, ConfigError when an ADD could not be served
   */
  statusRangeSets?(): Promise<RangeSet[]>;
  /** STATUS: whether grow(index) could add addresses now, found without claiming anything. */
  couldGrow?(index: number): Promise<boolean>;
  /** Conditions the operator should see (e.g. pool config changed under live reservations). */
  warnings?(): string[];
}

/**
 * Builds a mode from the raw `ipam` object. Validates the mode's own keys.
 * @throws ConfigError with the JSON path (rooted at "ipam") of the bad field.
 */
export type ModeFactory = (ipam: Readonly<Record<string, unknown>>, ctx: ModeContext) => IpamMode;
