/**
 * Operator commands that release addresses (`release`, `gc`, `reconcile`) say so in the
 * audit log, one line per released reservation, so that `pod-ipam log --pod` or
 * `--address` tells an address's whole story and not only the plugin's part of it: a pod
 * whose address an operator or the reconciler freed shows that line, not a silence.
 *
 * The lines go to the default log under the data directory, and only when that file
 * exists (the plugin made it there): the commands are not given the network's config, so
 * a network with its own `logFile`, or with the log turned off, gets none (README).
 * Appending never fails the command (src/audit/writer.ts).
 */
import * as fs from 'node:fs';
import { DEFAULT_LOG_MAX_BYTES, DEFAULT_LOG_MAX_FILES, defaultLogFile } from '../audit/config';
import { appendAuditLine } from '../audit/writer';
import { formatIP } from '../core/ip';
import type { Reservation } from '../core/attachment';

/** The audit line's `verb` for each command (upper case, like the CNI verbs; `CLI-GC` is not the runtime's GC). */
export const OPERATOR_VERBS = { release: 'RELEASE', gc: 'CLI-GC', reconcile: 'RECONCILE' } as const;

export function auditOperatorRelease(dataDir: string, network: string, command: keyof typeof OPERATOR_VERBS, released: readonly Reservation[]): void {
  const file = defaultLogFile(dataDir);
  if (released.length === 0 || !fs.existsSync(file)) return;
  const config = { file, level: 'info' as const, maxBytes: DEFAULT_LOG_MAX_BYTES, maxFiles: DEFAULT_LOG_MAX_FILES };
  for (const r of released) {
    appendAuditLine(config, {
      time: new Date().toISOString(),
      level: 'info',
      verb: OPERATOR_VERBS[command],
      network,
      containerId: r.owner.containerId,
      ifname: r.owner.ifname,
      ...(r.pod ? { pod: r.pod } : {}),
      released: [formatIP(r.ip)],
      pid: process.pid,
    });
  }
}
