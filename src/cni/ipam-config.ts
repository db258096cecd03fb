/** The ipam keys every mode shares: mode, dataDir, routes, DNS, exclude, lock timeout, audit log. */
import { attempt, report } from '../core/config-issues';
import type { ConfigIssues } from '../core/config-issues';
import { ConfigError } from '../core/errors';
import { formatCidr, formatIP, parseCidr, parseIP } from '../core/ip';
import type { Cidr } from '../core/ip';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../store/network-lock';
import type { AuditLogConfig } from '../audit/config';
import { dataDirProblem } from './data-dir';
import { isObject, optionalArray, optionalNumber, optionalString } from './json-fields';
import type { JsonObject } from './json-fields';
import { parseLogConfig } from './log-config';

export const DEFAULT_DATA_DIR = '/var/lib/cni/pod-ipam';

/** `ipam.dataDir` as an operator command reads a config the plugin accepted: the value given, else the default. */
export const dataDirOf = (ipam: Readonly<Record<string, unknown>>): string => (typeof ipam['dataDir'] === 'string' ? ipam['dataDir'] : DEFAULT_DATA_DIR);

export interface Route {
  readonly dst: string;
  readonly gw?: string;
  /** CNI 1.1.0 route attributes, passed through. */
  readonly extra: Readonly<Record<string, number | string>>;
}

export interface IpamCommon {
  readonly type: string;
  readonly mode: string;
  readonly dataDir: string;
  readonly routes: readonly Route[];
  readonly resolvConf: string | undefined;
  readonly exclude: readonly Cidr[];
  readonly lockTimeoutMs: number;
  /** The audit log (logFile, logLevel, logMaxBytes, logMaxFiles). */
  readonly log: AuditLogConfig;
}

/**
 * @param issues collect every problem (pod-ipam validate) instead of throwing the first.
 * @param network the network's name (the default audit log must not share it).
 * @throws ConfigError with the JSON path of the bad field.
 */
export function parseIpamCommon(ipam: JsonObject, issues?: ConfigIssues, network?: string): IpamCommon {
  const type = attempt(issues, () => optionalString(ipam, 'type', 'ipam'), undefined);
  if (!type) report(issues, new ConfigError('ipam.type', 'is required ("pod-ipam")'));
  let dataDir = attempt(issues, () => optionalString(ipam, 'dataDir', 'ipam'), undefined) ?? DEFAULT_DATA_DIR;
  const dataDirIssue = dataDir.startsWith('/') ? dataDirProblem(dataDir) : `must be an absolute path, not ${JSON.stringify(dataDir)}`;
  if (dataDirIssue) {
    report(issues, new ConfigError('ipam.dataDir', dataDirIssue));
    dataDir = DEFAULT_DATA_DIR;
  }
  const lockTimeoutSeconds = attempt(issues, () => optionalNumber(ipam, 'lockTimeoutSeconds', 'ipam', 0.1, 300), undefined);
  const list = <T>(key: string, parse: (raw: unknown, path: string) => T): T[] =>
    (attempt(issues, () => optionalArray(ipam, key, 'ipam'), undefined) ?? []).flatMap((r, i) => attempt(issues, () => [parse(r, `ipam.${key}[${i}]`)], []));
  return {
    type: type ?? '',
    mode: attempt(issues, () => optionalString(ipam, 'mode', 'ipam'), undefined) ?? 'node-local',
    dataDir,
    routes: list('routes', parseRoute),
    resolvConf: attempt(issues, () => optionalString(ipam, 'resolvConf', 'ipam'), undefined),
    exclude: list('exclude', parseExclude),
    lockTimeoutMs: lockTimeoutSeconds === undefined ? DEFAULT_LOCK_TIMEOUT_MS : lockTimeoutSeconds * 1000,
    log: parseLogConfig(ipam, dataDir, issues, network),
  };
}

const ROUTE_NUMBERS = ['mtu', 'advmss', 'priority', 'table', 'scope'] as const;

function parseRoute(raw: unknown, path: string): Route {
  if (!isObject(raw)) throw new ConfigError(path, 'a route must be an object with "dst"');
  const dst = parseCidr(String(raw.dst ?? ''));
  if (typeof raw.dst !== 'string' || !dst) throw new ConfigError(`${path}.dst`, `${JSON.stringify(raw.dst)} is not a CIDR such as "0.0.0.0/0"`);
  const gwText = optionalString(raw, 'gw', path);
  const gw = gwText === undefined ? undefined : parseIP(gwText);
  if (gwText !== undefined && !gw) throw new ConfigError(`${path}.gw`, `${JSON.stringify(gwText)} is not an IP address`);
  if (gw && gw.family !== dst.cidr.family) throw new ConfigError(`${path}.gw`, `${gwText} is not of the same family as dst ${raw.dst}`);
  const extra: Record<string, number> = {};
  for (const key of ROUTE_NUMBERS) {
    const v = optionalNumber(raw, key, path, 0, 2 ** 32 - 1);
    if (v !== undefined) extra[key] = v;
  }
  return { dst: formatCidr(dst.cidr), ...(gw ? { gw: formatIP(gw) } : {}), extra };
}

function parseExclude(raw: unknown, path: string): Cidr {
  if (typeof raw === 'string') {
    const cidr = parseCidr(raw);
    if (cidr) return cidr.cidr;
    const ip = parseIP(raw);
    if (ip) return { family: ip.family, network: ip.value, prefix: ip.family === 4 ? 32 : 128 };
  }
  throw new ConfigError(path, `${JSON.stringify(raw)} is not an address or CIDR`);
}
