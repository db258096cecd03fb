/**
 * One audit record as one line of JSON. Lines are kept small (long messages cut, long
 * address lists cut with a count of what was left out) so that a GC releasing thousands
 * of addresses cannot write a line that dwarfs logMaxBytes.
 */
import type { AuditFields } from './fields';

export const MAX_MESSAGE_CHARS = 1000;
export const MAX_LIST_ENTRIES = 100;

const LIST_KEYS = ['addresses', 'reserved', 'released', 'requested'] as const;

/** The record as written: `fields` in a fixed key order, lists capped, plus `omitted` counts. */
export function formatLine(fields: AuditFields): string {
  const omitted: Record<string, number> = {};
  const record: Record<string, unknown> = { ...fields };
  for (const key of LIST_KEYS) {
    const list = fields[key];
    if (list && list.length > MAX_LIST_ENTRIES) {
      record[key] = list.slice(0, MAX_LIST_ENTRIES);
      omitted[key] = list.length - MAX_LIST_ENTRIES;
    }
  }
  if (fields.error && fields.error.msg.length > MAX_MESSAGE_CHARS) record.error = { ...fields.error, msg: `${fields.error.msg.slice(0, MAX_MESSAGE_CHARS)}...` };
  if (fields.refused && fields.refused.reason.length > MAX_MESSAGE_CHARS) record.refused = { ...fields.refused, reason: `${fields.refused.reason.slice(0, MAX_MESSAGE_CHARS)}...` };
  if (Object.keys(omitted).length > 0) record.omitted = omitted;
  // JSON.stringify escapes every newline inside strings, so the only "\n" is the line's end.
  return `${JSON.stringify(record)}\n`;
}

/** Parses one line back; undefined for anything that is not one of our records (a torn or foreign line). */
export function parseLine(line: string): AuditFields | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const r = value as Record<string, unknown>;
    return typeof r.time === 'string' && typeof r.verb === 'string' ? (value as AuditFields) : undefined;
  } catch {
    return undefined;
  }
}
