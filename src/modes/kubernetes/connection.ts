/**
 * How to reach the API server: resolved from the in-cluster service account files or
 * from a kubeconfig, into one shape the HTTPS client uses. Only the cold path (no
 * usable podCIDR cache) gets here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../core/errors';
import { parseKubeconfigYaml } from './kubeconfig-yaml';
import type { YamlValue } from './kubeconfig-yaml';

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

/**
 * Settings of the kubeconfig's current context. Relative file paths are relative to the
 * kubeconfig's directory, as kubectl resolves them.
 * @throws ConfigError(ipam.kubeconfig) naming the missing or unsupported entry.
 */
export function kubeconfigConnection(file: string): Connection {
  const where = 'ipam.kubeconfig';
  const doc = parseKubeconfigYaml(readText(file, where, 'the kubeconfig'), `${where} (${file})`);
  const base = path.dirname(file);
  const bad = (msg: string): ConfigError => new ConfigError(where, `${file}: ${msg}`);
  if (!isObject(doc)) throw bad('is not a kubeconfig (expected a mapping with clusters, users, contexts)');

  const contextName = str(doc['current-context']);
  if (!contextName) throw bad('has no current-context');
  const context = named(doc, 'contexts', 'context', contextName, bad);
  const clusterName = str(context['cluster']);
  if (!clusterName) throw bad(`context "${contextName}" names no cluster`);
  const cluster = named(doc, 'clusters', 'cluster', clusterName, bad);
  const userName = str(context['user']);
  const user = userName ? named(doc, 'users', 'user', userName, bad) : {};

  const server = str(cluster['server']);
  if (!server || !/^https:\/\/[^/]+/.test(server)) throw bad(`cluster "${clusterName}" needs an https:// server (plain http is refused)`);
  if (cluster['insecure-skip-tls-verify'] === true) throw bad(`cluster "${clusterName}" sets insecure-skip-tls-verify; pod-ipam always verifies TLS, give it the CA instead`);
  for (const unsupported of ['exec', 'auth-provider', 'username', 'password']) {
    if (user[unsupported] !== undefined) throw bad(`user "${userName}" uses "${unsupported}", which pod-ipam does not support; use a token, tokenFile or client certificate`);
  }
  const source = `kubeconfig ${file}`;
  const ca = material(cluster, 'certificate-authority', base, bad, `cluster "${clusterName}"`);
  const given = (field: string): boolean => str(user[field]) !== undefined || str(user[`${field}-data`]) !== undefined;
  if (given('client-certificate') !== given('client-key')) throw bad(`user "${userName}" needs both client-certificate and client-key`);
  const cert = material(user, 'client-certificate', base, bad, `user "${userName}"`);
  const key = material(user, 'client-key', base, bad, `user "${userName}"`);
  const tokenFile = str(user['tokenFile']);
  const token = str(user['token']) ?? (tokenFile ? readText(path.resolve(base, tokenFile), where, `user "${userName}" tokenFile`).trim() : undefined);
  const servername = str(cluster['tls-server-name']);
  return {
    server: server.replace(/\/+$/, ''),
    source,
    ...(ca && { ca }),
    ...(cert && { cert }),
    ...(key && { key }),
    ...(token && { token }),
    ...(servername && { servername }),
  };
}

type Obj = { [key: string]: YamlValue };
const isObject = (v: YamlValue | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: YamlValue | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The entry `{name, <field>: {...}}` of list `list` whose name is `name`. */
function named(doc: Obj, list: string, field: string, name: string, bad: (m: string) => ConfigError): Obj {
  const entries = doc[list];
  if (entries !== undefined && entries !== null && !Array.isArray(entries)) throw bad(`"${list}" must be a list`);
  const entry = (entries ?? []).find((e) => isObject(e) && e['name'] === name);
  if (!entry || !isObject(entry)) throw bad(`no ${field} named "${name}" in "${list}"`);
  const body = entry[field];
  if (!isObject(body)) throw bad(`${field} "${name}" has no "${field}" mapping`);
  return body;
}

/** PEM material given as `<field>` (a file) or `<field>-data` (base64). */
function material(obj: Obj, field: string, base: string, bad: (m: string) => ConfigError, owner: string): Buffer | undefined {
  const data = str(obj[`${field}-data`]);
  if (data) {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(data)) throw bad(`${owner} ${field}-data is not base64`);
    const bytes = Buffer.from(data, 'base64');
    if (!bytes.toString('latin1').includes('-----BEGIN')) throw bad(`${owner} ${field}-data does not decode to PEM`);
    return bytes;
  }
  const file = str(obj[field]);
  return file ? readBytes(path.resolve(base, file), 'ipam.kubeconfig', `${owner} ${field}`) : undefined;
}

function readBytes(file: string, where: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(where, `cannot read ${what} ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

const readText = (file: string, where: string, what: string): string => readBytes(file, where, what).toString('utf8');
