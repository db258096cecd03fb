/**
 * How to reach the API server, in one shape the HTTPS client uses: from the in-cluster
 * service account files here, from a kubeconfig in kubeconfig-connection.ts. Only the
 * cold path (no usable podCIDR cache) gets here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../core/errors';

export interface Connection {
  /** "https://host:port" with no trailing slash. */
  readonly server: string;
  /** PEM CA bundle; undefined means the system trust store (still verified). */
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly token?: string;
  /** Overrides the name checked against the server certificate (kubeconfig tls-server-name). */
  readonly servername?: string;
  /** Where the settings came from, for error messages ("kubeconfig /etc/...", "in-cluster service account"). */
  readonly source: string;
  /** Exec credentials only: the connection with a fresh credential, for one retry after a 401. */
  readonly renew?: () => Connection;
}

export const DEFAULT_SERVICEACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/**
 * For tests only: where the in-cluster token and CA are read from. A runtime never sets
 * it; it exists because the real directory is not writable outside a pod.
 */
export const SERVICEACCOUNT_DIR_ENV = 'POD_IPAM_SERVICEACCOUNT_DIR';

/**
 * In-cluster settings, as client-go's rest.InClusterConfig builds them.
 * @throws ConfigError when the token or CA file cannot be read.
 */
export function inClusterConnection(env: Readonly<Record<string, string | undefined>>): Connection {
  const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '';
  if (!host || !port) {
    throw new ConfigError('ipam.kubeconfig', 'is required when KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (pod-ipam is not running in a pod)');
  }
  const dir = env[SERVICEACCOUNT_DIR_ENV] || DEFAULT_SERVICEACCOUNT_DIR;
  const source = `in-cluster service account (${dir})`;
  // The token is re-read on every cold call: projected tokens are rotated by the kubelet.
  const token = readText(path.join(dir, 'token'), 'ipam', `the in-cluster service account token`).trim();
  const ca = readBytes(path.join(dir, 'ca.crt'), 'ipam', 'the in-cluster CA');
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, ca, token, source };
}

export function readBytes(file: string, where: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(where, `cannot read ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

export const readText = (file: string, where: string, what: string): string => readBytes(file, where, what).toString('utf8');
