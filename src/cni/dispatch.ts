/**
 * Verb dispatch: env + stdin in, exit code + stdout out. Validation runs in the order
 * skel (the reference library) uses: environment (4), then input (6, 7), then version (1),
 * then the verb. Nothing here touches state before the input has been validated.
 * Every call but VERSION ends with one line in the audit log (src/cni/audit-call.ts),
 * written after the answer is decided and unable to change it.
 */
import { AuditCollector } from '../audit/fields';
import { auditCall } from './audit-call';
import type { CallFacts } from './audit-call';
import { parseCniEnv } from './env';
import { toCniError } from './error-codes';
import { parseIpamCommon } from './ipam-config';
import { parseNetConf } from './netconf';
import { isSupportedVersion, LATEST_VERSION, requireVersion, SUPPORTED_VERSIONS } from './versions';
import type { Verb } from './versions';
import type { CniRequest, Logger } from './request';
import { add } from './verbs/add';
import { check } from './verbs/check';
import { del } from './verbs/del';
import { gc } from './verbs/gc';
import { status } from './verbs/status';

export interface CniOutcome {
  readonly exitCode: number;
  /** Exactly one JSON document, or empty (DEL, CHECK, GC, STATUS on success). */
  readonly stdout: string;
}

const VERBS: Record<Exclude<Verb, 'VERSION'>, (req: CniRequest) => Promise<Record<string, unknown> | undefined>> = { ADD: add, DEL: del, CHECK: check, GC: gc, STATUS: status };

export async function dispatch(processEnv: Readonly<Record<string, string | undefined>>, stdin: string, logger: Logger): Promise<CniOutcome> {
  const facts: CallFacts = { processEnv, stdin, startedMs: performance.now(), notes: new AuditCollector() };
  const outcome = await answer(facts, logger);
  auditCall(facts, logger);
  return outcome;
}

async function answer(facts: CallFacts, logger: Logger): Promise<CniOutcome> {
  const { processEnv, stdin } = facts;
  let version = LATEST_VERSION;
  try {
    const env = (facts.env = parseCniEnv(processEnv));
    if (env.command === 'VERSION') return ok(versionInfo(stdin));
    const conf = (facts.conf = parseNetConf(stdin));
    if (isSupportedVersion(conf.cniVersion)) version = conf.cniVersion;
    requireVersion(env.command, conf.cniVersion);
    const common = (facts.common = parseIpamCommon(conf.ipam, undefined, conf.name));
    logger.debug(`${env.command} network=${conf.name} container=${env.containerId} ifname=${env.ifname}`);
    const result = (facts.result = await VERBS[env.command]({ env, conf, common, version, processEnv, logger, audit: facts.notes }));
    return ok(result);
  } catch (e) {
    logger.debug(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    facts.error = e;
    facts.cniError = toCniError(e, version);
    return { exitCode: 1, stdout: `${JSON.stringify(facts.cniError)}\n` };
  }
}

const ok = (result: Record<string, unknown> | undefined): CniOutcome => ({ exitCode: 0, stdout: result ? `${JSON.stringify(result)}\n` : '' });

/** VERSION answers in the input's version when it is one we speak; stdin may be anything. */
function versionInfo(stdin: string): Record<string, unknown> {
  let asked: unknown;
  try {
    asked = (JSON.parse(stdin) as { cniVersion?: unknown } | null)?.cniVersion;
  } catch {
    asked = undefined;
  }
  return { cniVersion: isSupportedVersion(asked) ? asked : LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
