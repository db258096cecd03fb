/** The ipam keys every mode shares: mode, dataDir, routes, DNS, exclude, lock timeout. */
import { ConfigError } from '../core/errors';
import { formatCidr, formatIP, parseCidr, parseIP } from '../core/ip';
import type { Cidr } from '../core/ip';
import { DEFAULT_LOCK_TIMEOUT_MS } from '../store/lock';
import { isObject, optionalArray, optionalNumber, optionalString } from './json-fields';
import type { JsonObject } from './json-fields';

export const DEFAULT_DATA_DIR = '/var/lib/cni/pod-ipam';

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
}

/** @throws ConfigError with the JSON path of the bad field. */
export function parseIpamCommon(ipam: JsonObject): IpamCommon {
  const type = optionalString(ipam, 'type', 'ipam');
  if (!type) throw new ConfigError('ipam.type', 'is required ("pod-ipam")');
  const dataDir = optionalString(ipam, 'dataDir', 'ipam') ?? DEFAULT_DATA_DIR;
  if (!dataDir.startsWith('/')) throw new ConfigError('ipam.dataDir', `must be an absolute path, not ${JSON.stringify(dataDir)}`);
  const lockTimeoutSeconds = optionalNumber(ipam, 'lockTimeoutSeconds', 'ipam', 0.1, 300);
  return {
    type,
    mode: optionalString(ipam, 'mode', 'ipam') ?? 'node-local',
    dataDir,
    routes: (optionalArray(ipam, 'routes', 'ipam') ?? []).map((r, i) => parseRoute(r, `ipam.routes[${i}]`)),
    resolvConf: optionalString(ipam, 'resolvConf', 'ipam'),
    exclude: (optionalArray(ipam, 'exclude', 'ipam') ?? []).map((e, i) => parseExclude(e, `ipam.exclude[${i}]`)),
    lockTimeoutMs: lockTimeoutSeconds === undefined ? DEFAULT_LOCK_TIMEOUT_MS : lockTimeoutSeconds * 1000,
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
