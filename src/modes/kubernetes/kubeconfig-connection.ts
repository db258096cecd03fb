/**
 * The connection of a kubeconfig's current context: server, CA, and a token, client
 * certificate or exec credential plugin, resolved as client-go resolves them.
 */
import * as path from 'node:path';
import { ConfigError } from '../../core/errors';
import { readBytes, readText } from './connection';
import type { Connection } from './connection';
import { credentialCache } from './exec-credential-cache';
import { parseExecConfig, runExecPlugin } from './exec-credential';
import type { ExecConfig, ExecCredential } from './exec-credential';
import { parseKubeconfigText } from './kubeconfig-parse';
import type { KubeValue } from './kubeconfig-parse';

export interface KubeconfigOptions {
  /** The environment an exec credential plugin inherits (the plugin's own, in a CNI call). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Limit for one exec credential plugin run. */
  readonly timeoutMs?: number;
  /** Where an expiring exec credential is kept between processes (the network's state directory). */
  readonly cacheDir?: string;
  readonly warn?: (message: string) => void;
  /** Injected clock, for tests of the credential's expiry. */
  readonly now?: () => number;
}

/**
 * Settings of the kubeconfig's current context. Relative file paths are relative to the
 * kubeconfig's directory, as kubectl resolves them.
 * @throws ConfigError(ipam.kubeconfig) naming the missing or unsupported entry;
 *   TryAgainError when an exec credential plugin fails or is too slow.
 */
export function kubeconfigConnection(file: string, options: KubeconfigOptions): Connection {
  const where = 'ipam.kubeconfig';
  const doc = parseKubeconfigText(readText(file, where, 'the kubeconfig'), `${where} (${file})`);
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
  if (isTrue(cluster['insecure-skip-tls-verify'])) throw bad(`cluster "${clusterName}" sets insecure-skip-tls-verify; pod-ipam always verifies TLS, give it the CA instead`);
  for (const unsupported of ['auth-provider', 'username', 'password']) {
    if (user[unsupported] !== undefined && user[unsupported] !== null) throw bad(`user "${userName}" uses "${unsupported}", which pod-ipam does not support; use a token, tokenFile, client certificate or exec plugin`);
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
  const conn: Connection = {
    server: server.replace(/\/+$/, ''),
    source,
    ...(ca && { ca }),
    ...(cert && { cert }),
    ...(key && { key }),
    ...(token && { token }),
    ...(servername && { servername }),
  };
  if (user['exec'] === undefined || user['exec'] === null) return conn;
  // client-go: a token or certificate written in the kubeconfig wins over the plugin's.
  if (token || cert) return conn;
  const exec = parseExecConfig(user['exec'], base, bad, `user "${userName}"`);
  return execConnection(conn, exec, clusterInfo(cluster, conn), options, where);
}

/** spec.cluster of KUBERNETES_EXEC_INFO (provideClusterInfo), with the cluster's exec extension as config. */
function clusterInfo(cluster: Obj, conn: Connection): Record<string, unknown> {
  const ext = Array.isArray(cluster['extensions']) ? cluster['extensions'].find((e) => isObject(e) && e['name'] === 'client.authentication.k8s.io/exec') : undefined;
  return {
    server: conn.server,
    ...(conn.servername && { 'tls-server-name': conn.servername }),
    ...(conn.ca && { 'certificate-authority-data': conn.ca.toString('base64') }),
    ...(str(cluster['proxy-url']) && { 'proxy-url': cluster['proxy-url'] }),
    ...(isObject(ext) && ext['extension'] !== undefined && { config: ext['extension'] }),
  };
}

/** The connection with the exec plugin's credential, cached until it expires; renew() after a 401. */
function execConnection(base: Connection, exec: ExecConfig, cluster: Record<string, unknown>, options: KubeconfigOptions, where: string): Connection {
  const warn = options.warn ?? (() => undefined);
  const now = options.now ?? Date.now;
  const cache = credentialCache(options.cacheDir, warn);
  const identity = JSON.stringify({ server: base.server, exec });
  const run = (): ExecCredential => {
    const credential = runExecPlugin(exec, cluster, options.env, options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS, where);
    cache.put(identity, credential);
    return credential;
  };
  const withCredential = (c: ExecCredential): Connection => ({
    ...base,
    source: `${base.source} (exec plugin ${exec.command})`,
    ...(c.token && { token: c.token }),
    ...(c.cert && { cert: Buffer.from(c.cert), key: Buffer.from(c.key ?? '') }),
    // After a 401: a credential another process renewed meanwhile, else the plugin again.
    renew: () => {
      const cached = cache.get(identity, now());
      return withCredential(cached && (cached.token !== c.token || cached.cert !== c.cert) ? cached : run());
    },
  });
  return withCredential(cache.get(identity, now()) ?? run());
}

const DEFAULT_EXEC_TIMEOUT_MS = 10_000;
const isTrue = (v: KubeValue | undefined): boolean => v === true || v === 'true';

type Obj = { [key: string]: KubeValue };
const isObject = (v: KubeValue | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: KubeValue | undefined): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

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

