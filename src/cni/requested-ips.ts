/**
 * Static addresses a runtime asks for, in CONVENTIONS' order of precedence:
 * runtimeConfig.ips (capability "ips"), then args.cni.ips, then CNI_ARGS IP=
 * (comma-separated for dual-stack). The first source present wins.
 */
import { ConfigError, EnvError } from '../core/errors';
import { parseIPWithOptionalPrefix } from '../core/ip';
import type { IP } from '../core/ip';
import { isObject } from './json-fields';
import type { NetConf } from './netconf';

/** @throws ConfigError (runtimeConfig/args) or EnvError (CNI_ARGS) for an address that does not parse. */
export function requestedIPs(conf: NetConf, cniArgs: ReadonlyMap<string, string>): IP[] {
  if (conf.runtimeConfig.ips !== undefined) return parseList(conf.runtimeConfig.ips, 'runtimeConfig.ips');
  const cni = isObject(conf.args.cni) ? conf.args.cni : undefined;
  if (cni?.ips !== undefined) return parseList(cni.ips, 'args.cni.ips');
  const fromEnv = cniArgs.get('IP');
  if (fromEnv === undefined || fromEnv === '') return [];
  return fromEnv.split(',').map((text) => {
    const ip = parseIPWithOptionalPrefix(text.trim());
    if (!ip) throw new EnvError(['CNI_ARGS'], `CNI_ARGS IP=${fromEnv}: ${JSON.stringify(text)} is not an IP address`);
    return ip;
  });
}

function parseList(value: unknown, path: string): IP[] {
  if (!Array.isArray(value)) throw new ConfigError(path, 'must be a list of addresses');
  return value.map((text, i) => {
    const ip = typeof text === 'string' ? parseIPWithOptionalPrefix(text) : undefined;
    if (!ip) throw new ConfigError(`${path}[${i}]`, `${JSON.stringify(text)} is not an IP address`);
    return ip;
  });
}
