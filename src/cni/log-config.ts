/** The audit log keys of `ipam`: logFile, logLevel, logMaxBytes, logMaxFiles (README "Audit log"). */
import { AUDIT_LEVELS, DEFAULT_LOG_MAX_BYTES, DEFAULT_LOG_MAX_FILES, LOG_MAX_BYTES_RANGE, LOG_MAX_FILES_RANGE, defaultLogFile, isDefaultLogName } from '../audit/config';
import type { AuditLevel, AuditLogConfig } from '../audit/config';
import { attempt, report } from '../core/config-issues';
import type { ConfigIssues } from '../core/config-issues';
import { ConfigError } from '../core/errors';
import { isObject, optionalNumber, optionalString } from './json-fields';
import type { JsonObject } from './json-fields';

/**
 * @param dataDir the validated ipam.dataDir (the default log lives under it)
 * @param network the network's name, when known: its directory shares dataDir with the default log
 * @throws ConfigError (code 7) for a relative logFile, an unknown level, a size or count out of
 *   range, or a network named like the default log's files when logFile is not given
 */
export function parseLogConfig(ipam: JsonObject, dataDir: string, issues?: ConfigIssues, network?: string): AuditLogConfig {
  let file = attempt(issues, () => optionalString(ipam, 'logFile', 'ipam'), undefined);
  if (file === undefined && network !== undefined && isDefaultLogName(network)) {
    report(issues, new ConfigError('ipam.logFile', `the network's name ${JSON.stringify(network)} is the default audit log's file name in ${dataDir}: set ipam.logFile to another absolute path (or "" to turn the log off), or rename the network`));
  }
  if (file !== undefined && file !== '' && !file.startsWith('/')) {
    report(issues, new ConfigError('ipam.logFile', `must be an absolute path, or "" to turn the audit log off, not ${JSON.stringify(file)}`));
    file = undefined;
  }
  let level = attempt(issues, () => optionalString(ipam, 'logLevel', 'ipam'), undefined);
  if (level !== undefined && !AUDIT_LEVELS.includes(level as AuditLevel)) {
    report(issues, new ConfigError('ipam.logLevel', `must be one of ${AUDIT_LEVELS.join(', ')}, not ${JSON.stringify(level)}`));
    level = undefined;
  }
  const maxBytes = attempt(issues, () => integer(ipam, 'logMaxBytes', LOG_MAX_BYTES_RANGE), undefined);
  const maxFiles = attempt(issues, () => integer(ipam, 'logMaxFiles', LOG_MAX_FILES_RANGE), undefined);
  return {
    file: file === '' ? undefined : (file ?? defaultLogFile(dataDir)),
    level: (level as AuditLevel | undefined) ?? 'info',
    maxBytes: maxBytes ?? DEFAULT_LOG_MAX_BYTES,
    maxFiles: maxFiles ?? DEFAULT_LOG_MAX_FILES,
  };
}

function integer(ipam: JsonObject, key: string, [min, max]: readonly [number, number]): number | undefined {
  const v = optionalNumber(ipam, key, 'ipam', min, max);
  if (v !== undefined && !Number.isInteger(v)) throw new ConfigError(`ipam.${key}`, `must be a whole number from ${min} to ${max}, not ${v}`);
  return v;
}

/**
 * Where to log a call whose config was refused: a bad config is one of the first things an
 * operator looks for, so it is logged wherever the config's own keys point, each key that
 * is itself invalid replaced by its default. Undefined when there is no ipam object, or its
 * dataDir is unusable and no logFile is given, or the network is named like the default
 * log: then there is no telling where to write.
 */
export function bestEffortLogConfig(stdin: string, defaultDataDir: string): AuditLogConfig | undefined {
  let ipam: unknown;
  let name: unknown;
  try {
    ({ ipam, name } = (JSON.parse(stdin) as { ipam?: unknown; name?: unknown } | null) ?? {});
  } catch {
    return undefined;
  }
  if (!isObject(ipam)) return undefined;
  const rawDir = ipam.dataDir ?? defaultDataDir;
  const dataDir = typeof rawDir === 'string' && rawDir.startsWith('/') ? rawDir : undefined;
  const kept: Record<string, unknown> = {};
  for (const key of ['logFile', 'logLevel', 'logMaxBytes', 'logMaxFiles']) {
    try {
      parseLogConfig({ [key]: ipam[key] }, dataDir ?? '/');
      kept[key] = ipam[key];
    } catch {
      // an invalid key falls back to its default
    }
  }
  if (dataDir === undefined && typeof kept.logFile !== 'string') return undefined;
  // Not where the network's own directory belongs: that would make the refusal stick.
  if (typeof kept.logFile !== 'string' && typeof name === 'string' && isDefaultLogName(name)) return undefined;
  return parseLogConfig(kept, dataDir ?? '/');
}
