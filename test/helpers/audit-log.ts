/**
 * The audit log lives under the data directory by default (<dataDir>/pod-ipam.log, its
 * rotated copies, lock and skip note), but it is a record of calls, not state: a refused
 * call is logged on purpose. Tests that prove "an error changes no state" leave it out.
 */
import * as path from 'node:path';

export const isAuditLogFile = (file: string): boolean => /^pod-ipam\.log(\..+)?$/.test(path.basename(file));
