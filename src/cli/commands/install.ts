/**
 * `pod-ipam install`: what the DaemonSet's container runs on every node, as Calico's and
 * Cilium's installers do. It installs the executable into the host's CNI bin directory,
 * writes what the plugin needs to reach its cluster store (kubeconfig and token, or etcd
 * client certificates), and renders the conflist template for this node into the host's
 * CNI config directory, all atomically. With --watch it then keeps those files as they
 * should be: kubelet rotates the pod's token, and a removed conflist comes back.
 *
 * The host's / is seen at --host-root (the container mounts it at /host); every other
 * directory option is a host path, and host paths are what the written files name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { DEFAULT_SERVICEACCOUNT_DIR } from '../../modes/kubernetes/connection';
import type { CliIO, CommandRegistrar } from '../program';
import { CliError } from './common';
import { installBinary, runningExecutable } from './install-binary';
import { etcdFiles, kubeFiles } from './install-credentials';
import type { OnHost } from './install-credentials';
import { commitTemp, syncFiles } from './install-files';
import type { DesiredFile } from './install-files';
import { modeOf, readTemplate, renderConflist, stageConflist, usesEtcd } from './install-render';

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
    .addOption(new Option('--kubeconfig-dir <dir>', "kubernetes mode: host directory for the plugin's kubeconfig, CA and token").default('/etc/cni/net.d/pod-ipam').argParser(absolute))
    .addOption(new Option('--serviceaccount-dir <dir>', "kubernetes mode: the pod's service account token and CA").argParser(absolute))
    .addOption(new Option('--api-server <url>', 'kubernetes mode: API server URL for the plugin (default: https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT)').argParser(httpsUrl))
    .addOption(new Option('--etcd-secret-dir <dir>', 'cluster-pool with etcd: the mounted Secret holding ca.crt, tls.crt, tls.key').argParser(absolute))
    .addOption(new Option('--etcd-cert-dir <dir>', 'cluster-pool with etcd: host directory the certificates are copied to (0600)').default('/etc/pod-ipam/etcd').argParser(absolute))
    .addOption(new Option('--watch', 'keep running: refresh the token, restore removed or changed files'))
    .addOption(new Option('--interval-seconds <n>', 'how often --watch checks').default(10).argParser(positiveSeconds))
    .action(async (options: InstallOptions) => {
      const round = planRound(options, io);
      await round(true);
      if (options.watch) await watch(() => round(false), options.intervalSeconds, io);
    });
};

/** One pass: everything read and checked first, then written; nothing is written when any input is bad. */
function planRound(options: InstallOptions, io: CliIO): (first: boolean) => Promise<void> {
  const onHost: OnHost = (p) => path.join(options.hostRoot, p);
  const say = (m: string): void => io.stdout(`${new Date().toISOString()} ${m}\n`);
  return async (first) => {
    const files: DesiredFile[] = [];
    let staged: { tmp: string; target: string } | undefined;
    if (options.template) {
      const template = readTemplate(options.template);
      const nodeName = options.nodeName ?? io.env['NODE_NAME'];
      const needsNode = template.ipams.some((i) => modeOf(i) !== 'node-local');
      if (needsNode && !nodeName) throw new CliError('this template needs the node name: set NODE_NAME (downward API fieldRef spec.nodeName) or --node-name');
      let kubeconfig: string | undefined;
      if (template.ipams.some((i) => modeOf(i) === 'kubernetes')) {
        const saDir = options.serviceaccountDir ?? io.env['POD_IPAM_SERVICEACCOUNT_DIR'] ?? DEFAULT_SERVICEACCOUNT_DIR;
        const kube = kubeFiles(options.kubeconfigDir, saDir, options.apiServer, io.env, onHost);
        files.push(...kube.files);
        kubeconfig = kube.kubeconfig;
      }
      let etcdTls: { ca: string; cert: string; key: string } | undefined;
      if (options.etcdSecretDir && template.ipams.some(usesEtcd)) {
        const etcd = etcdFiles(options.etcdSecretDir, options.etcdCertDir, onHost);
        files.push(...etcd.files);
        etcdTls = etcd.tls;
      }
      const text = renderConflist(template, { ...(nodeName && { nodeName }), ...(kubeconfig && { kubeconfig }), ...(etcdTls && { etcdTls }) });
      const target = onHost(path.join(options.cniConfDir, options.confName ?? path.basename(options.template)));
      const tmp = await stageConflist(target, text, io.env);
      if (tmp) staged = { tmp, target };
    }
    try {
      if (first && options.binary !== false) {
        const version = installBinary(options.binary ?? runningExecutable(), onHost(options.cniBinDir), io.env);
        say(`installed ${path.join(options.cniBinDir, 'pod-ipam')} (${version})`);
      }
      for (const written of syncFiles(files)) say(`wrote ${hostView(written, options.hostRoot)}`);
    } catch (e) {
      if (staged) fs.rmSync(staged.tmp, { force: true });
      throw e;
    }
    if (staged) {
      commitTemp(staged.tmp, staged.target);
      say(`wrote ${hostView(staged.target, options.hostRoot)}`);
    }
  };
}

/** Runs `round` every `seconds` until SIGTERM or SIGINT; a failed round is reported and retried. */
async function watch(round: () => Promise<void>, seconds: number, io: CliIO): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    while (!stop.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        stop.signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
      if (stop.signal.aborted) break;
      try {
        await round();
      } catch (e) {
        io.stderr(`pod-ipam install: ${(e as Error).message} (retrying in ${seconds} s)\n`);
      }
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

const hostView = (p: string, root: string): string => (root === '/' ? p : `/${path.relative(root, p)}`);

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
