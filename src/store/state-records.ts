/**
 * The two kinds of file in a network's state, both JSON objects naming an attachment:
 *
 * - `ips/<address>`: the reservation, the truth. It is a hard link to the *intent* an
 *   ADD wrote before taking the lock (so claiming an address is one link() under the
 *   lock), hence it may carry `claiming: true`, which readers of reservations ignore.
 * - `attachments/<containerId>:<ifname>`: the index, a hint that lets DEL and CHECK read
 *   a handful of files. Either final (`ips` lists the addresses) or an intent
 *   (`claiming: true`: the attachment may hold addresses not listed, find them in `ips/`).
 */
import type { PodIdentity } from '../core/pod';

export interface AttachmentRecord {
  readonly containerId: string;
  readonly ifname: string;
  /** ISO 8601 time of the ADD that wrote it. */
  readonly since: string;
  readonly pod?: PodIdentity;
  /** Final index only: the addresses held. */
  readonly ips?: readonly string[];
  /** Intent (and reservations linked to it): addresses may be held that no index lists. */
  readonly claiming?: true;
}

export const serializeRecord = (record: AttachmentRecord): string => JSON.stringify(record);

/** The record in `content`, or undefined when it is not one (corrupt, torn, empty). */
export function parseRecord(content: string): AttachmentRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const r = parsed as Record<string, unknown>;
  if (typeof r.containerId !== 'string' || typeof r.ifname !== 'string') return undefined;
  if (r.ips !== undefined && !(Array.isArray(r.ips) && r.ips.every((ip) => typeof ip === 'string'))) return undefined;
  return {
    containerId: r.containerId,
    ifname: r.ifname,
    since: typeof r.since === 'string' ? r.since : '',
    ...(isPod(r.pod) ? { pod: r.pod } : {}),
    ...(Array.isArray(r.ips) ? { ips: r.ips as string[] } : {}),
    ...(r.claiming === true ? { claiming: true as const } : {}),
  };
}

function isPod(value: unknown): value is PodIdentity {
  if (typeof value !== 'object' || value === null) return false;
  return Object.values(value).every((v) => typeof v === 'string');
}
