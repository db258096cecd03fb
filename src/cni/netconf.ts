/** The network configuration on stdin: decoded once, its envelope checked here. */
import { report } from '../core/config-issues';
import type { ConfigIssues } from '../core/config-issues';
import { ConfigError, DecodeError } from '../core/errors';
import { isObject, optionalObject } from './json-fields';
import type { JsonObject } from './json-fields';

export interface NetConf {
  /** Unvalidated: each verb checks it against its own minimum. */
  readonly cniVersion: unknown;
  /** The network name, safe as a single path component. */
  readonly name: string;
  readonly ipam: JsonObject;
  readonly runtimeConfig: JsonObject;
  /** The top-level `args` object (`args.cni.ips` lives here). */
  readonly args: JsonObject;
  readonly prevResult: unknown;
  readonly raw: JsonObject;
}

/** The spec's network name rule; it also keeps the name from escaping the data directory. */
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The spec's rule, plus a length limit: the name is a directory name under dataDir. */
export const isNetworkName = (name: string): boolean => NETWORK_NAME.test(name) && name.length <= 200;

/** @throws DecodeError (CNI 6) for undecodable input. */
export function decodeJsonObject(text: string, what: string): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DecodeError(`${what} is not valid JSON`, (e as Error).message);
  }
  if (!isObject(parsed)) throw new DecodeError(`${what} must be a JSON object`);
  return parsed;
}

/**
 * @param issues collect a bad name instead of throwing (pod-ipam validate); a missing
 * ipam object always throws, as nothing else can be checked without it.
 * @throws DecodeError (CNI 6) for undecodable input, ConfigError (CNI 7) for a bad envelope.
 */
export function parseNetConf(text: string, issues?: ConfigIssues): NetConf {
  if (text.trim() === '') throw new DecodeError('no network configuration on stdin', 'the runtime must pass the network config as JSON on stdin');
  return netConfOf(decodeJsonObject(text, 'the network configuration on stdin'), issues);
}

/**
 * The envelope of an already decoded config (pod-ipam validate passes what it read, so a
 * deeply nested document is never serialized again: that would overflow the stack where
 * the plugin's own JSON.parse did not).
 */
export function netConfOf(raw: JsonObject, issues?: ConfigIssues): NetConf {
  const name = raw.name;
  if (typeof name !== 'string' || name === '') {
    report(issues, new ConfigError('name', 'the network name is required'));
  } else if (!isNetworkName(name)) {
    report(issues, new ConfigError('name', `${JSON.stringify(name)} is not a valid network name: letters, digits, "_", "." and "-", starting with a letter or digit`));
  }
  const ipam = optionalObject(raw, 'ipam', '');
  if (!ipam) throw new ConfigError('ipam', 'the ipam object is required');
  return {
    cniVersion: raw.cniVersion,
    name: typeof name === 'string' ? name : '',
    ipam,
    runtimeConfig: optionalObject(raw, 'runtimeConfig', '') ?? {},
    args: optionalObject(raw, 'args', '') ?? {},
    prevResult: raw.prevResult,
    raw,
  };
}
