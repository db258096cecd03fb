/**
 * `pod-ipam install`: what the DaemonSet's container runs on every node, as Calico's and
 * Cilium's installers do. It installs the executable into the host's CNI bin directory,
 * writes what the plugin needs to reach its cluster store (kubeconfig and token, or etcd
 * client certificates), and renders the conflist template for this node into the host's
 * CNI config directory, all atomically. With --watch it then keeps those files as they
 * should be: kubelet rotates the pod's token, and a removed conflist comes back. With
 * --watch it also keeps the node's heartbeat fresh in each cluster-pool network's store
 * (install-heartbeat.ts), and with --reconcile-every reconciles (install-reconcile.ts).
 *
 * The host's / is seen at --host-root (the container mounts it at /host); every other
 * directory option is a host path, and host paths are what the written files name.
 */
import * as path from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { CliIO, CommandRegistrar } from '../program';
import { planRound } from './install-round';
import { reconcileLoop } from './install-reconcile';
import { DEFAULT_HEARTBEAT_EVERY_MS, heartbeatLoop } from './install-heartbeat';
import { HEARTBEAT_TTL_SECONDS } from '../../modes/cluster-pool/config';
import { parseDurationMs } from './common';
import { everyPeriod } from './every-period';
import { DEFAULT_GRACE_MS } from './reconcile-run';

export interface InstallOptions {
  readonly template?: string;
  readonly hostRoot: string;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  readonly confName?: string;
  readonly nodeName?: string;
  readonly binary?: string | false;
  readonly kubeconfigDir: string;
  readonly serviceaccountDir?: string;
  readonly apiServer?: string;
  readonly etcdSecretDir?: string;
  readonly etcdCertDir: string;
  readonly watch?: boolean;
  readonly intervalSeconds: number;
  /** Milliseconds between reconcile runs (--watch only); undefined: never. */
  readonly reconcileEvery?: number;
  readonly reconcileGrace: number;
  /** Milliseconds between heartbeat refreshes (--watch and --template, cluster-pool only); undefined: the default. */
  readonly heartbeatEvery?: number;
}

const absolute = (v: string): string => {
  if (!v.startsWith('/')) throw new InvalidArgumentError('must be an absolute path');
  return path.normalize(v);
};

export const registerInstall: CommandRegistrar = (program: Command, io: CliIO) => {
  program
    .command('install')
    .description("install pod-ipam on this node (the DaemonSet's container): the executable, the plugin's credentials and the rendered conflist, atomically")
    .addOption(new Option('--template <file>', 'conflist template (the ConfigMap); without it only the executable is installed').argParser(absolute))
    .addOption(new Option('--host-root <dir>', "where this process sees the host's /").default('/').argParser(absolute))
    .addOption(new Option('--cni-bin-dir <dir>', 'host CNI bin directory').default('/opt/cni/bin').argParser(absolute))
    .addOption(new Option('--cni-conf-dir <dir>', 'host CNI config directory').default('/etc/cni/net.d').argParser(absolute))
    .addOption(new Option('--conf-name <name>', 'file name in --cni-conf-dir (default: the template\'s)').argParser(confName))
    .addOption(new Option('--node-name <name>', 'this node (default: env NODE_NAME, from the downward API spec.nodeName)'))
    .addOption(new Option('--binary <file>', 'the executable to install (default: this one)').argParser(absolute))
    .addOption(new Option('--no-binary', 'do not install the executable'))
    .addOption(new Option('--kubeconfig-dir <dir>', "kubernetes mode and the kubernetes cluster store: host directory for the plugin's kubeconfig, CA and token").default('/etc/cni/net.d/pod-ipam').argParser(absolute))
    .addOption(new Option('--serviceaccount-dir <dir>', "kubernetes mode and the kubernetes cluster store: the pod's service account token and CA").argParser(absolute))
    .addOption(new Option('--api-server <url>', 'kubernetes mode and the kubernetes cluster store: API server URL for the plugin (default: https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT)').argParser(httpsUrl))
    .addOption(new Option('--etcd-secret-dir <dir>', 'cluster-pool with etcd: the mounted Secret holding ca.crt, tls.crt, tls.key').argParser(absolute))
    .addOption(new Option('--etcd-cert-dir <dir>', 'cluster-pool with etcd: host directory the certificates are copied to (0600)').default('/etc/pod-ipam/etcd').argParser(absolute))
    .addOption(new Option('--watch', 'keep running: refresh the token, restore removed or changed files'))
    .addOption(new Option('--interval-seconds <n>', 'how often --watch checks').default(10).argParser(positiveSeconds))
    .addOption(new Option('--reconcile-every <duration>', "with --watch: run `pod-ipam reconcile` for the template's networks this often (10m, 1h), with this pod's service account").argParser(parseDurationMs))
    .addOption(new Option('--reconcile-grace <duration>', 'reconcile keeps reservations younger than this').default(DEFAULT_GRACE_MS, '5m').argParser(parseDurationMs))
    .addOption(new Option('--heartbeat-every <duration>', `with --watch and --template, for the template's cluster-pool networks: refresh this node's heartbeat in their cluster store this often, so that \`blocks release\` elsewhere sees the node alive between ADDs (below its lifetime, ${HEARTBEAT_TTL_SECONDS / 60}m; default ${DEFAULT_HEARTBEAT_EVERY_MS / 1000}s)`).argParser(parseDurationMs))
    .action(async (options: InstallOptions, cmd: Command) => {
      if (options.reconcileEvery !== undefined && !(options.watch && options.template)) cmd.error('error: --reconcile-every needs --watch and --template', { exitCode: 2 });
      if (options.reconcileEvery !== undefined && options.reconcileEvery < 1000) cmd.error('error: --reconcile-every must be at least 1s', { exitCode: 2 });
      if (options.heartbeatEvery !== undefined && !(options.watch && options.template)) cmd.error('error: --heartbeat-every needs --watch and --template', { exitCode: 2 });
      if (options.heartbeatEvery !== undefined && options.heartbeatEvery < 1000) cmd.error('error: --heartbeat-every must be at least 1s', { exitCode: 2 });
      if (options.heartbeatEvery !== undefined && options.heartbeatEvery >= HEARTBEAT_TTL_SECONDS * 1000) cmd.error(`error: --heartbeat-every must be below the heartbeat's lifetime of ${HEARTBEAT_TTL_SECONDS / 60}m, or it lapses between refreshes`, { exitCode: 2 });
      const round = planRound(options, io);
      if (!options.watch) return round(true);
      // Listen before the first round: a SIGTERM at any moment ends the installer cleanly.
      // `on`, not `once`, until the end: the file cluster store loads proper-lockfile, whose
      // signal-exit re-sends a signal to the process when no other listener is left.
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        await round(true);
        const reconciling = options.reconcileEvery !== undefined ? reconcileLoop(options, io, stop.signal) : Promise.resolve();
        const heartbeats = options.template ? heartbeatLoop(options, io, stop.signal) : Promise.resolve();
        await Promise.all([watch(() => round(false), options.intervalSeconds, stop.signal, io), reconciling, heartbeats]);
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
    });
};

/** Runs `round` every `seconds` until `stop` (SIGTERM or SIGINT); a failed round is reported and retried. */
function watch(round: () => Promise<void>, seconds: number, stop: AbortSignal, io: CliIO): Promise<void> {
  return everyPeriod(seconds * 1000, stop, round, (e) => io.stderr(`pod-ipam install: ${e.message} (retrying in ${seconds} s)\n`), { firstAfterPeriod: true });
}

function confName(v: string): string {
  // Runtimes read only these extensions, in name order: a typo here would install a file no runtime reads.
  if (v.includes('/') || !/^[^.].*\.(conflist|conf|json)$/.test(v)) throw new InvalidArgumentError('must be a file name ending in .conflist, .conf or .json');
  return v;
}

function positiveSeconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 86400) throw new InvalidArgumentError('must be a number of seconds greater than 0');
  return n;
}

function httpsUrl(v: string): string {
  if (!/^https:\/\/[^/]+$/.test(v.replace(/\/+$/, ''))) throw new InvalidArgumentError('must be https://HOST[:PORT]');
  return v.replace(/\/+$/, '');
}
