/**
 * The work of `pod-ipam reconcile` (also run by `install --reconcile-every`): release the
 * reservations of pods the API server no longer has on this node.
 *
 * Order matters, so that an ADD in flight is never touched: the node's pods are listed
 * first, and only then, under each network's lock, are reservations chosen, and only
 * those made before the list began, minus the grace period. A pod is in the API before
 * its sandbox exists and its ADD runs, so a reservation made before the list started
 * belongs to a pod the list includes, unless that pod is gone; one made after is never
 * considered. The grace period (default 5 minutes) is a margin on top, not the guard.
 *
 * A reservation is released only when it names a pod UID (CNI_ARGS K8S_POD_UID) that is
 * not among the node's pods: a pod recreated under the same name has a new UID, so the
 * old pod's addresses go. Reservations without a UID (podman, hand-made calls, runtimes
 * that pass no pod) are never released here. If the list cannot be read completely,
 * nothing is released (exit code 3).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Reservation } from '../../core/attachment';
import { PodIpamError } from '../../core/errors';
import type { Connection } from '../../modes/kubernetes/connection';
import { networkDir, releaseWhere } from '../../store/network-store';
import { auditOperatorRelease } from '../operator-audit';
import { CliError } from './common';

/** Exit code when the node's pods could not be read from the API: nothing was released. */
export const EXIT_API = 3;

export const DEFAULT_GRACE_MS = 5 * 60_000;
export const DEFAULT_PAGE_SIZE = 500;

export interface ReconcileTarget {
  readonly dataDir: string;
  readonly network: string;
}

export interface ReconcilePlan {
  readonly targets: readonly ReconcileTarget[];
  readonly nodeName: string;
  readonly graceMs: number;
  readonly dryRun: boolean;
  readonly pageSize: number;
  readonly timeoutMs: number;
  /** Builds the connection (kubeconfig, in-cluster); its failures count as "the API could not be asked". */
  readonly connect: () => Promise<Connection> | Connection;
}

export interface NetworkOutcome {
  readonly network: string;
  readonly dataDir: string;
  readonly released: readonly Reservation[];
  /** Kept because their pod is on the node, because they are younger than the cutoff, or because they name no pod UID. */
  readonly kept: { readonly live: number; readonly young: number; readonly withoutPod: number };
  readonly failures: readonly string[];
}

export interface ReconcileReport {
  readonly node: string;
  readonly server: string;
  readonly pods: number;
  readonly pages: number;
  /** Reservations made before this time (list start minus grace) could be released. */
  readonly cutoff: string;
  readonly networks: readonly NetworkOutcome[];
}

/**
 * @throws CliError with exit code EXIT_API when the node or its pods cannot be read
 *   (nothing is released then); errors of the state store as they come
 */
export async function reconcile(plan: ReconcilePlan): Promise<ReconcileReport> {
  const listStarted = Date.now();
  const { conn, uids, pages } = await readNodePods(plan);
  const cutoff = listStarted - plan.graceMs;
  const networks: NetworkOutcome[] = [];
  for (const target of plan.targets) {
    // A network no ADD has run on yet has nothing to reconcile (and gets no directories made for it).
    if (!fs.existsSync(path.join(networkDir(target.dataDir, target.network), 'ips'))) continue;
    const kept = { live: 0, young: 0, withoutPod: 0 };
    let outcome: Awaited<ReturnType<typeof releaseWhere>>;
    try {
      outcome = await releaseWhere({ dataDir: target.dataDir, network: target.network }, (all) => all.filter((r) => isGone(r, uids, cutoff, kept)), plan.dryRun);
    } catch (e) {
      // One network that cannot be reconciled now (its lock busy past the timeout, a
      // corrupt file) must not keep the others from it, nor hide what they released.
      if (!(e instanceof PodIpamError)) throw e;
      networks.push({ network: target.network, dataDir: target.dataDir, released: [], kept, failures: [`not reconciled: ${e.message}`] });
      continue;
    }
    const { picked, released, failures } = outcome;
    auditOperatorRelease(target.dataDir, target.network, 'reconcile', released);
    networks.push({ network: target.network, dataDir: target.dataDir, released: picked, kept, failures });
  }
  return { node: plan.nodeName, server: conn.server, pods: uids.size, pages, cutoff: new Date(cutoff).toISOString(), networks };
}

/** Whether `r` belongs to a pod gone from the API and was made before `cutoff`; counts in `kept` why not. */
function isGone(r: Reservation, uids: ReadonlySet<string>, cutoff: number, kept: { live: number; young: number; withoutPod: number }): boolean {
  const uid = r.pod?.uid;
  if (!uid) return (kept.withoutPod++, false);
  if (uids.has(uid)) return (kept.live++, false);
  // An unreadable time counts as young: never release what cannot be dated.
  const since = Date.parse(r.since);
  if (!(since < cutoff)) return (kept.young++, false);
  return true;
}

async function readNodePods(plan: ReconcilePlan): Promise<{ conn: Connection; uids: ReadonlySet<string>; pages: number }> {
  try {
    // Loaded here, not at the top: the HTTPS client is needed only once the API is asked.
    const { assertNodeExists, listNodePods } = await import('../../modes/kubernetes/node-pods');
    const conn = await plan.connect();
    await assertNodeExists(conn, plan.nodeName, plan.timeoutMs);
    const { uids, pages } = await listNodePods(conn, plan.nodeName, { timeoutMs: plan.timeoutMs, pageSize: plan.pageSize });
    return { conn, uids, pages };
  } catch (e) {
    if (!(e instanceof PodIpamError)) throw e;
    throw new CliError(`cannot read the pods of node ${plan.nodeName} from the API: nothing released: ${e.message}`, e.details, EXIT_API);
  }
}
