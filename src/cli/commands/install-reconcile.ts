/**
 * `install --watch --reconcile-every D`: the DaemonSet's container runs `pod-ipam
 * reconcile` for the networks of its template every D (the first time right after the
 * first install round), as whereabouts' reconciler and Calico's IPAM GC run beside their
 * plugins. It asks the API with the container's own service account (in-cluster), reads
 * the host's state under --host-root, and takes each network's lock like the plugin.
 * A failed run (API down: nothing released) is reported on stderr and tried again at
 * the next period; it never ends the installer.
 */
import * as path from 'node:path';
import { dataDirOf } from '../../cni/ipam-config';
import { DEFAULT_SERVICEACCOUNT_DIR, SERVICEACCOUNT_DIR_ENV } from '../../modes/kubernetes/connection';
import type { CliIO } from '../program';
import { CliError } from './common';
import { everyPeriod } from './every-period';
import type { InstallOptions } from './install';
import { readTemplate } from './install-render';
import { connectTo } from './reconcile';
import { DEFAULT_PAGE_SIZE, reconcile } from './reconcile-run';
import type { ReconcileTarget } from './reconcile-run';

/** Runs reconcile every `options.reconcileEvery` ms until `stop`. */
export function reconcileLoop(options: InstallOptions, io: CliIO, stop: AbortSignal): Promise<void> {
  const every = options.reconcileEvery!;
  const say = (m: string): void => io.stdout(`${new Date().toISOString()} ${m}\n`);
  return everyPeriod(every, stop, () => reconcileOnce(options, io, say), (e) => io.stderr(`pod-ipam install: reconcile: ${e.message} (next try in ${every / 1000} s)\n`));
}

async function reconcileOnce(options: InstallOptions, io: CliIO, say: (m: string) => void): Promise<void> {
  // The template is read each time: a changed ConfigMap may name another network or dataDir.
  const template = readTemplate(options.template!);
  const name = template.doc['name'];
  if (typeof name !== 'string') return; // validate refuses such a template before anything is installed
  const targets: ReconcileTarget[] = [...new Set(template.ipams.map(dataDirOf))].map((dataDir) => ({
    dataDir: path.join(options.hostRoot, dataDir),
    network: name,
  }));
  const saDir = options.serviceaccountDir ?? io.env[SERVICEACCOUNT_DIR_ENV] ?? DEFAULT_SERVICEACCOUNT_DIR;
  const env = { ...io.env, [SERVICEACCOUNT_DIR_ENV]: saDir };
  const nodeName = options.nodeName ?? io.env['NODE_NAME'];
  if (!nodeName) throw new CliError('reconcile needs the node name: set NODE_NAME (downward API fieldRef spec.nodeName) or --node-name');
  const timeoutMs = 10_000;
  const report = await reconcile({
    targets,
    nodeName,
    graceMs: options.reconcileGrace,
    dryRun: false,
    pageSize: DEFAULT_PAGE_SIZE,
    timeoutMs,
    connect: () => connectTo(undefined, env, timeoutMs),
  });
  for (const n of report.networks) {
    if (n.released.length > 0) say(`reconcile: released ${n.released.length} address(es) of pods gone from node ${report.node} in network ${n.network}: ${n.released.map((r) => `${r.pod?.namespace ?? '?'}/${r.pod?.name ?? '?'} (uid ${r.pod?.uid})`).join(', ')}`);
    for (const f of n.failures) io.stderr(`pod-ipam install: reconcile: network ${n.network}: ${f}\n`);
  }
}
