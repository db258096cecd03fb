/**
 * The audit line of one CNI call, built from what dispatch saw (environment, config,
 * result or error, duration) plus the verb's notes, and handed to the writer. Never throws:
 * a call's answer does not depend on its log line.
 */
import { appendAuditLine } from '../audit/writer';
import type { AuditCollector, AuditFields } from '../audit/fields';
import { shouldLog } from '../audit/config';
import { AddressNotAllowedError, AddressTakenError, RangeExhaustedError } from '../core/errors';
import { formatIP } from '../core/ip';
import { podIdentity } from '../core/pod';
import type { CniEnv } from './env';
import type { CniError } from './error-codes';
import type { IpamCommon } from './ipam-config';
import { DEFAULT_DATA_DIR } from './ipam-config';
import { bestEffortLogConfig } from './log-config';
import type { NetConf } from './netconf';
import type { Logger } from './request';
import { requestedIPs } from './requested-ips';

/** What dispatch learned about the call, filled in as far as it got. */
export interface CallFacts {
  readonly processEnv: Readonly<Record<string, string | undefined>>;
  readonly stdin: string;
  readonly startedMs: number;
  readonly notes: AuditCollector;
  env?: CniEnv;
  conf?: NetConf;
  common?: IpamCommon;
  result?: Record<string, unknown> | undefined;
  error?: unknown;
  cniError?: CniError;
}

/** Milliseconds as the audit line writes them: to a hundredth. */
export const roundMs = (ms: number): number => Math.round(ms * 100) / 100;

/** Raw values (from a call refused before they were validated) are cut to this length. */
const RAW_CHARS = 128;

export function auditCall(facts: CallFacts, logger: Logger, nowMs: number = performance.now(), now: Date = new Date()): void {
  try {
    const verb = facts.env?.command ?? raw(facts.processEnv.CNI_COMMAND) ?? '';
    if (verb === 'VERSION') return; // no config, no state: nothing to tell
    const config = facts.common?.log ?? bestEffortLogConfig(facts.stdin, DEFAULT_DATA_DIR);
    if (!config?.file || !shouldLog(config.level, verb, facts.cniError !== undefined)) return;
    const outcome = appendAuditLine(config, lineOf(facts, verb, nowMs, now));
    if (!outcome.written) logger.debug(`audit log ${config.file} not written: ${outcome.error}`);
  } catch (e) {
    logger.debug(`audit log: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function lineOf(facts: CallFacts, verb: string, nowMs: number, now: Date): AuditFields {
  const { env, conf, common, cniError, error } = facts;
  const network = conf?.name ?? rawName(facts.stdin);
  const containerId = env ? env.containerId : raw(facts.processEnv.CNI_CONTAINERID);
  const ifname = env ? env.ifname : raw(facts.processEnv.CNI_IFNAME);
  const pod = env ? podIdentity(env.args) : undefined;
  const requested = verb === 'ADD' && env && conf ? tryRequested(conf, env) : [];
  const addresses = resultAddresses(facts.result);
  const refused = error instanceof AddressTakenError || error instanceof AddressNotAllowedError ? { address: requested.find((a) => error.message.includes(a)) ?? requested.join(','), reason: error.message } : undefined;
  return {
    time: now.toISOString(),
    level: cniError ? 'error' : 'info',
    verb,
    ...(network ? { network } : {}),
    ...(common ? { mode: common.mode } : {}),
    ...(containerId ? { containerId } : {}),
    ...(ifname ? { ifname } : {}),
    ...(pod ? { pod } : {}),
    ...(addresses.length > 0 ? { addresses } : {}),
    ...(requested.length > 0 ? { requested } : {}),
    ...(refused ? { refused } : {}),
    ...(error instanceof RangeExhaustedError ? { exhausted: { set: error.setIndex } } : {}),
    ...facts.notes.notes,
    ...(cniError ? { error: { code: cniError.code, msg: cniError.msg } } : {}),
    durationMs: roundMs(nowMs - facts.startedMs),
    pid: process.pid,
  };
}

const raw = (value: string | undefined): string | undefined => (value ? value.slice(0, RAW_CHARS) : undefined);

function rawName(stdin: string): string | undefined {
  try {
    const name = (JSON.parse(stdin) as { name?: unknown } | null)?.name;
    return typeof name === 'string' ? raw(name) : undefined;
  } catch {
    return undefined;
  }
}

function tryRequested(conf: NetConf, env: CniEnv): string[] {
  try {
    return requestedIPs(conf, env.args).map(formatIP);
  } catch {
    return [];
  }
}

function resultAddresses(result: Record<string, unknown> | undefined): string[] {
  const ips = result?.ips;
  if (!Array.isArray(ips)) return [];
  return ips.flatMap((ip: unknown) => (typeof (ip as { address?: unknown } | null)?.address === 'string' ? [(ip as { address: string }).address] : []));
}
