/** Where the audit log goes and how much of it is kept: the ipam keys logFile, logLevel, logMaxBytes, logMaxFiles. */
import * as path from 'node:path';

export type AuditLevel = 'debug' | 'info' | 'error';
export const AUDIT_LEVELS: readonly AuditLevel[] = ['debug', 'info', 'error'];

export interface AuditLogConfig {
  /** Absolute path of the log file; undefined when logging is off (`logFile: ""`). */
  readonly file: string | undefined;
  readonly level: AuditLevel;
  /** The current file is rotated before a line would take it past this size. */
  readonly maxBytes: number;
  /** Rotated files kept besides the current one (file.1 newest ... file.N oldest). */
  readonly maxFiles: number;
}

/** The default file, under the data directory beside the network directories. */
export const DEFAULT_LOG_NAME = 'pod-ipam.log';
export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_MAX_FILES = 1;
export const LOG_MAX_BYTES_RANGE = [1024, 1024 * 1024 * 1024] as const;
export const LOG_MAX_FILES_RANGE = [1, 20] as const;

export const defaultLogFile = (dataDir: string): string => path.join(dataDir, DEFAULT_LOG_NAME);

/** The default log's own names (the file, its rotated copies, its lock and skip note): a network directory of one of these names would take the log's place. */
export const isDefaultLogName = (name: string): boolean => name === DEFAULT_LOG_NAME || name.startsWith(`${DEFAULT_LOG_NAME}.`);

/** Is a call with this outcome written at this level? Successful STATUS calls, which runtimes repeat every few seconds, only at debug. */
export function shouldLog(level: AuditLevel, verb: string, failed: boolean): boolean {
  if (failed) return true;
  if (level === 'error') return false;
  return verb !== 'STATUS' || level === 'debug';
}
