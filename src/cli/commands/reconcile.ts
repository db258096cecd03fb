/**
 * `pod-ipam reconcile`: release addresses leaked by pods that are gone from the API server
 * (force-deleted pods whose DEL never came, on runtimes that never send CNI GC, such as
 * containerd 1.6), as whereabouts' reconciler and Calico's IPAM garbage collection do for
 * their stores. What is released and why is in reconcile-run.ts; this file resolves the
 * networks, the node and the API connection from the options, and prints the outcome.
 *
 * Exit codes: 0 done (also when nothing was leaked), 1 a release failed or the state is
 * unusable, 2 bad arguments, 3 the node's pods could not be read from the API (nothing
 * was released).
 */
import * as os from 'node:os';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { dataDirOf } from '../../cni/ipam-config';
import { NODE_NAME } from '../../modes/kubernetes/config';
import { isObject } from '../../cni/json-fields';
import { isNetworkName } from '../../cni/netconf';
import { compareIP, formatIP } from '../../core/ip';
import type { Connection } from '../../modes/kubernetes/connection';
import { renderTable, toJson } from '../format/table';
import { podColumn } from '../format/pod';
import { readConfigFile } from '../inspect/config-file';
import type { CliIO, CommandRegistrar } from '../program';
import { CliError, existingNetworkDir, listNetworks, parseDurationMs, parseNetworkName, withCommon } from './common';
import type { DataDirOptions, JsonOptions } from './common';
import { DEFAULT_GRACE_MS, DEFAULT_PAGE_SIZE, reconcile } from './reconcile-run';
import type { ReconcileReport, ReconcileTarget } from './reconcile-run';

interface ReconcileOptions extends DataDirOptions, JsonOptions {
  readonly config?: string;
  readonly network?: string;
  readonly kubeconfig?: string;
  readonly nodeName?: string;
  readonly grace: number;
  readonly pageSize: number;
  readonly apiTimeoutSeconds: number;
  readonly dryRun?: boolean;
}

export const registerReconcile: CommandRegistrar = (program: Command, io: CliIO) => {
  const cmd = withCommon(
    program
      .command('reconcile')
      .description("release addresses of pods that no longer exist on this node in the Kubernetes API (leaks of force-deleted pods); exit 3: the API could not be read, nothing released")
      .addOption(new Option('-c, --config <file>', 'a network config (.conflist): its networks, dataDir and, in kubernetes mode, its kubeconfig and nodeName'))
      .addOption(new Option('--network <name>', 'only this network (default: every network with state, or every pod-ipam network of --config)').argParser(parseNetworkName))
      .addOption(new Option('--kubeconfig <file>', 'kubeconfig to reach the API server (default: the config\'s, else in-cluster)').argParser(absolute))
      .addOption(new Option('--node-name <name>', 'this node as the API knows it (default: the config\'s nodeName, env NODE_NAME, the host name)').argParser(nodeName))
      .addOption(new Option('--grace <duration>', 'keep reservations younger than this (90s, 5m, 1h; a number is seconds)').default(DEFAULT_GRACE_MS, '5m').argParser(parseDurationMs))
      .addOption(new Option('--page-size <n>', 'pods per list request (limit/continue)').default(DEFAULT_PAGE_SIZE).argParser(positiveInt))
      .addOption(new Option('--api-timeout-seconds <n>', 'limit for one API request').default(10).argParser(positiveNumber))
      .option('--dry-run', 'show what would be released; change nothing'),
  );
  cmd.action(async (options: ReconcileOptions) => {
    const fromConfig = options.config ? configSettings(options.config, cmd.getOptionValueSource('dataDir') === 'cli' ? options.dataDir : undefined) : undefined;
    const targets = pickTargets(options, fromConfig?.targets);
    const kubeconfig = options.kubeconfig ?? fromConfig?.kubeconfig;
    if (kubeconfig === undefined && !(io.env['KUBERNETES_SERVICE_HOST'] && io.env['KUBERNETES_SERVICE_PORT'])) {
      cmd.error('error: reconcile reads the node\'s pods from the API server: give --kubeconfig FILE or --config of a kubernetes-mode network, or run it in a pod (in-cluster)', { exitCode: 2 });
    }
    const node = options.nodeName ?? fromConfig?.nodeName ?? (io.env['NODE_NAME'] || os.hostname().toLowerCase());
    const timeoutMs = options.apiTimeoutSeconds * 1000;
    const report = await reconcile({
      targets,
      nodeName: node,
      graceMs: options.grace,
      dryRun: options.dryRun === true,
      pageSize: options.pageSize,
      timeoutMs,
      connect: () => connectTo(kubeconfig, io.env, timeoutMs),
    });
    printReport(io, report, { dryRun: options.dryRun === true, json: options.json === true, graceMs: options.grace });
    const failures = report.networks.flatMap((n) => n.failures.map((f) => `${n.network}: ${f}`));
    if (failures.length > 0) throw new CliError(`${failures.length} failure(s): ${failures.slice(0, 5).join('; ')}`);
  });
};

/** The API connection: a kubeconfig (with its YAML reader, loaded only here) or in-cluster. */
export async function connectTo(kubeconfig: string | undefined, env: Readonly<Record<string, string | undefined>>, timeoutMs: number): Promise<Connection> {
  if (kubeconfig === undefined) return (await import('../../modes/kubernetes/connection')).inClusterConnection(env);
  const { kubeconfigConnection } = await import('../../modes/kubernetes/kubeconfig-connection');
  return kubeconfigConnection(kubeconfig, { env, timeoutMs });
}

function pickTargets(options: ReconcileOptions, fromConfig: readonly ReconcileTarget[] | undefined): ReconcileTarget[] {
  if (fromConfig) {
    const picked = fromConfig.filter((t) => options.network === undefined || t.network === options.network);
    if (picked.length === 0) throw new CliError(`${options.config} has no pod-ipam network${options.network ? ` named ${JSON.stringify(options.network)}` : ''}`);
    return picked;
  }
  if (options.network) {
    existingNetworkDir(options.dataDir, options.network);
    return [{ dataDir: options.dataDir, network: options.network }];
  }
  const names = listNetworks(options.dataDir);
  if (names.length === 0) throw new CliError(`no network has state under ${options.dataDir}`, "check --data-dir (the plugin's ipam.dataDir)");
  return names.map((network) => ({ dataDir: options.dataDir, network }));
}

/** Networks (name, dataDir), kubeconfig and nodeName of the pod-ipam entries of a config file. */
function configSettings(file: string, dataDirOverride: string | undefined): { targets: ReconcileTarget[]; kubeconfig?: string; nodeName?: string } {
  const targets: ReconcileTarget[] = [];
  let kubeconfig: string | undefined;
  let node: string | undefined;
  for (const { conf } of readConfigFile(file).entries) {
    const ipam = isObject(conf.ipam) ? conf.ipam : {};
    if (typeof conf.name !== 'string') throw new CliError(`${file}: a pod-ipam network without a "name"`);
    const dataDir = dataDirOverride ?? dataDirOf(ipam);
    if (!isNetworkName(conf.name)) throw new CliError(`${file}: ${JSON.stringify(conf.name)} is not a network name`);
    targets.push({ dataDir, network: conf.name });
    if (ipam.mode === 'kubernetes' && typeof ipam.kubeconfig === 'string') kubeconfig ??= ipam.kubeconfig;
    if (typeof ipam.nodeName === 'string') node ??= ipam.nodeName;
  }
  return { targets, ...(kubeconfig !== undefined && { kubeconfig }), ...(node !== undefined && { nodeName: node }) };
}

export function printReport(io: CliIO, report: ReconcileReport, options: { dryRun: boolean; json: boolean; graceMs: number }): void {
  const rows = (n: ReconcileReport['networks'][number]) =>
    [...n.released].sort((a, b) => compareIP(a.ip, b.ip)).map((r) => ({ address: formatIP(r.ip), pod: r.pod ?? null, containerId: r.owner.containerId, ifname: r.owner.ifname, since: r.since }));
  if (options.json) {
    io.stdout(toJson({
      node: report.node,
      server: report.server,
      dryRun: options.dryRun,
      pods: report.pods,
      pages: report.pages,
      graceSeconds: options.graceMs / 1000,
      cutoff: report.cutoff,
      networks: report.networks.map((n) => ({ network: n.network, dataDir: n.dataDir, released: rows(n), kept: n.kept, failures: n.failures })),
    }));
    return;
  }
  let out = `node ${report.node}: ${report.pods} pod(s) in the API (${report.pages} request(s) to ${report.server}); reservations made before ${report.cutoff} may be released\n`;
  for (const n of report.networks) {
    const r = rows(n);
    out += `${options.dryRun ? 'would release' : 'released'} ${r.length} address(es) in network ${n.network}; kept ${n.kept.live} of pods on the node, ${n.kept.young} too young, ${n.kept.withoutPod} without a pod UID${options.dryRun ? ' (dry run: nothing changed)' : ''}\n`;
    if (r.length > 0) out += renderTable(['ADDRESS', 'POD', 'UID', 'CONTAINER', 'IFNAME', 'SINCE'], r.map((x) => [x.address, podColumn(x.pod), x.pod?.uid ?? '-', x.containerId, x.ifname, x.since]));
  }
  if (report.networks.length === 0) out += 'no network has state yet: nothing to reconcile\n';
  io.stdout(out);
}

function absolute(v: string): string {
  if (!v.startsWith('/')) throw new InvalidArgumentError('must be an absolute path');
  return v;
}

function nodeName(v: string): string {
  if (!NODE_NAME.test(v)) throw new InvalidArgumentError('not a Kubernetes node name');
  return v;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('must be a whole number from 1 to 100000');
  return n;
}

function positiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('must be a number of seconds greater than 0');
  return n;
}
