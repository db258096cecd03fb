/**
 * What the plugin, a process the runtime starts on the host, needs to reach its cluster
 * store, copied out of the installer's pod: it cannot read the pod's own mounts.
 *
 * kubernetes mode: a kubeconfig naming the API server (KUBERNETES_SERVICE_HOST/PORT as
 * the pod sees them, or --api-server), the service account's CA, and a token file the
 * watching installer keeps equal to the pod's projected token, which kubelet rotates.
 * cluster-pool with etcd: the client certificate, key and CA from a mounted Secret.
 * Secrets are written 0600.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError } from './common';
import type { DesiredFile } from './install-files';

/** Maps a host path to where this process sees it (the host's / is mounted at --host-root). */
export type OnHost = (hostPath: string) => string;

export interface KubeFiles {
  readonly files: DesiredFile[];
  /** Host path of the kubeconfig, for the conflist. */
  readonly kubeconfig: string;
}

/**
 * The kubeconfig names its CA and token relative to itself (kubectl resolves them from the
 * kubeconfig's directory): the plugin reads it on the host, and the installer's heartbeat
 * keeper (install-heartbeat.ts) from the container, where the host's / is at --host-root.
 */
export function kubeFiles(dir: string, serviceAccountDir: string, apiServer: string | undefined, env: Readonly<Record<string, string | undefined>>, onHost: OnHost): KubeFiles {
  const server = apiServer ?? inClusterServer(env);
  const at = (name: string): string => path.join(dir, name);
  const kubeconfig = `# Written by pod-ipam install for the pod-ipam CNI plugin on this node; rewritten on
# every install, do not edit. The token file is kept fresh by the pod-ipam DaemonSet.
apiVersion: v1
kind: Config
clusters:
- name: cluster
  cluster:
    server: ${JSON.stringify(server)}
    certificate-authority: "ca.crt"
users:
- name: pod-ipam
  user:
    tokenFile: "token"
contexts:
- name: pod-ipam
  context:
    cluster: cluster
    user: pod-ipam
current-context: pod-ipam
`;
  return {
    kubeconfig: at('kubeconfig'),
    files: [
      { path: onHost(at('ca.crt')), content: readSecret(serviceAccountDir, 'ca.crt', 'the service account CA'), mode: 0o644 },
      { path: onHost(at('token')), content: readSecret(serviceAccountDir, 'token', 'the service account token'), mode: 0o600 },
      { path: onHost(at('kubeconfig')), content: Buffer.from(kubeconfig), mode: 0o600 },
    ],
  };
}

/** The etcd client files, as named in a kubernetes.io/tls Secret with a ca.crt. */
export const ETCD_SECRET_FILES = { ca: 'ca.crt', cert: 'tls.crt', key: 'tls.key' } as const;

export function etcdFiles(secretDir: string, dir: string, onHost: OnHost): { files: DesiredFile[]; tls: { ca: string; cert: string; key: string } } {
  const tls = { ca: path.join(dir, 'ca.crt'), cert: path.join(dir, 'client.crt'), key: path.join(dir, 'client.key') };
  const files = (Object.keys(ETCD_SECRET_FILES) as (keyof typeof ETCD_SECRET_FILES)[]).map((k) => ({
    path: onHost(tls[k]),
    content: readSecret(secretDir, ETCD_SECRET_FILES[k], `the etcd ${k === 'ca' ? 'CA' : k === 'cert' ? 'client certificate' : 'client key'}`),
    mode: 0o600,
  }));
  return { files, tls };
}

function inClusterServer(env: Readonly<Record<string, string | undefined>>): string {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port) throw new CliError('kubernetes mode and the kubernetes cluster store need the API server: KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set (not in a pod?); give --api-server https://HOST:PORT');
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function readSecret(dir: string, name: string, what: string): Buffer {
  const file = path.join(dir, name);
  try {
    const content = fs.readFileSync(file);
    if (content.length === 0) throw new Error('the file is empty');
    return content;
  } catch (e) {
    throw new CliError(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
