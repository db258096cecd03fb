/** One CNI call, parsed and validated, as every verb receives it. */
import type { AuditNotes } from '../audit/fields';
import type { CniEnv } from './env';
import type { IpamCommon } from './ipam-config';
import type { NetConf } from './netconf';
import type { ModeContext } from '../modes/mode';
import type { Attachment } from '../core/attachment';
import { networkDir } from '../store/network-store';
import type { NetworkStoreOptions } from '../store/network-store';

export interface Logger {
  debug(message: string): void;
  warn(message: string): void;
}

export interface CniRequest {
  readonly env: CniEnv;
  readonly conf: NetConf;
  readonly common: IpamCommon;
  /** The validated input cniVersion; results are written in it. */
  readonly version: string;
  readonly processEnv: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /**
   * What the verb reports for the call's audit line (README "Audit log"). Dispatch already
   * records time, verb, network, attachment, pod, the ADD result's addresses, the error and
   * the duration; the verb adds what only it knows, e.g.
   *   req.audit.note({ reserved: ['10.1.2.5'] })            newly reserved (ADD)
   *   req.audit.note({ released: ['10.1.2.3'] })           released (DEL, GC, ADD replacing)
   *   req.audit.note({ requested: ['10.1.2.9'] })          asked for (an annotation, say)
   *   req.audit.note({ refused: { address, reason } })     a requested address not given
   *   req.audit.note({ exhausted: { set: 1, ranges: ['fd00::/126'] } })
   *   req.audit.note({ lockWaitMs: 0.4, workMs: 2.1 })     the duration's split
   * Arrays accumulate; other fields keep the last value. It never throws and does no I/O.
   */
  readonly audit: AuditNotes;
}

export const attachmentOf = (req: CniRequest): Attachment => ({ containerId: req.env.containerId, ifname: req.env.ifname });

export const storeOptions = (req: CniRequest): NetworkStoreOptions => ({
  dataDir: req.common.dataDir,
  network: req.conf.name,
  lockTimeoutMs: req.common.lockTimeoutMs,
});

export const modeContext = (req: CniRequest): ModeContext => ({
  network: req.conf.name,
  stateDir: networkDir(req.common.dataDir, req.conf.name),
  dataDir: req.common.dataDir,
  env: req.processEnv,
  runtimeConfig: req.conf.runtimeConfig,
  cniArgs: req.env.args,
  log: (m) => req.logger.debug(m),
  warn: (m) => req.logger.warn(m),
});
