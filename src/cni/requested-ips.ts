/**
 * Static addresses a runtime asks for. Every source is read and the lists are merged, the
 * way host-local (plugins/ipam/host-local/backend/allocator/config.go, LoadIPAMConfig)
 * merges them: `CNI_ARGS` `IP=` (comma-separated for dual-stack), then `args.cni.ips`,
 * then `runtimeConfig.ips` (capability "ips"). The same address from two sources is one
 * request; two different addresses for one range set are refused by the allocator
 * (code 102), where host-local fails with "failed to allocate all requested IPs".
 *
 * CONVENTIONS.md says `IP=` is ignored when `args.cni.ips` is present; host-local does not
 * ignore it, and a runtime that sends both the same address sees no difference, so we
 * follow host-local (README, "Compatibility with host-local").
 */
import { ConfigError, EnvError } from '../core/errors';
import { parseIPWithOptionalPrefix, sameIP } from '../core/ip';
import type { IP } from '../core/ip';
import { isObject } from './json-fields';
import type { NetConf } from './netconf';

/** @throws ConfigError (runtimeConfig/args) or EnvError (CNI_ARGS) for an address that does not parse. */
export function requestedIPs(conf: NetConf, cniArgs: ReadonlyMap<string, string>): IP[] {
  const cni = isObject(conf.args.cni) ? conf.args.cni : undefined;
  const all = [
    ...fromCniArgs(cniArgs.get('IP')),
    ...(cni?.ips === undefined ? [] : parseList(cni.ips, 'args.cni.ips')),
    ...(conf.runtimeConfig.ips === undefined ? [] : parseList(conf.runtimeConfig.ips, 'runtimeConfig.ips')),
  ];
  return all.filter((ip, i) => all.findIndex((other) => sameIP(other, ip)) === i);
}

function fromCniArgs(text: string | undefined): IP[] {
  if (text === undefined || text === '') return [];
  return text.split(',').map((item) => {
    const ip = parseIPWithOptionalPrefix(item.trim());
    if (!ip) throw new EnvError(['CNI_ARGS'], `CNI_ARGS IP=${text}: ${JSON.stringify(item)} is not an IP address`);
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
