/** One round of `pod-ipam install`: read and check every input, then write what changed. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_SERVICEACCOUNT_DIR } from '../../modes/kubernetes/connection';
import type { CliIO } from '../program';
import { CliError } from './common';
import type { InstallOptions } from './install';
import { installBinary, runningExecutable } from './install-binary';
import { etcdFiles, kubeFiles } from './install-credentials';
import type { OnHost } from './install-credentials';
import { commitTemp, syncFiles } from './install-files';
import type { DesiredFile } from './install-files';
import { modeOf, needsKubeconfig, readTemplate, renderConflist, stageConflist, usesEtcd } from './install-render';

/** One pass: everything read and checked first, then written; nothing is written when any input is bad. */
export function planRound(options: InstallOptions, io: CliIO): (first: boolean) => Promise<void> {
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
      if (template.ipams.some(needsKubeconfig)) {
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
      const target = conflistInContainer(options);
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

/** The conflist the round writes (--template given), as this process sees it: under --host-root. */
export function conflistInContainer(options: InstallOptions): string {
  return path.join(options.hostRoot, options.cniConfDir, options.confName ?? path.basename(options.template!));
}

const hostView = (p: string, root: string): string => (root === '/' ? p : `/${path.relative(root, p)}`);
