/** One CNI call, parsed and validated, as every verb receives it. */
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
