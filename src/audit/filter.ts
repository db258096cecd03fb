/** The filters of `pod-ipam log`: each option narrows the records; all given must match. */
import type { AuditFields } from './fields';

export interface LogFilter {
  /** `namespace/name`, or `name` in any namespace. */
  readonly pod?: string;
  /** A container ID or a prefix of one (crictl prints 13 characters). */
  readonly container?: string;
  /** An address, compared after `canonical` (so `fd00::0:5` finds `fd00::5`), prefix length ignored. */
  readonly address?: string;
  readonly network?: string;
  readonly verb?: string;
  /** Records at or after this instant. */
  readonly since?: Date;
  readonly errors?: boolean;
}

/** `canonical` writes an address the way the plugin does; unparsable text is compared as given. */
export function matcher(filter: LogFilter, canonical: (address: string) => string): (r: AuditFields) => boolean {
  const address = filter.address === undefined ? undefined : canonical(stripPrefix(filter.address));
  const sinceIso = filter.since?.toISOString();
  const [podNs, podName] = filter.pod === undefined ? [] : filter.pod.includes('/') ? filter.pod.split('/', 2) : [undefined, filter.pod];
  return (r) => {
    if (filter.errors && !r.error) return false;
    if (filter.network !== undefined && r.network !== filter.network) return false;
    if (filter.verb !== undefined && r.verb !== filter.verb.toUpperCase()) return false;
    if (filter.container !== undefined && !(r.containerId ?? '').startsWith(filter.container)) return false;
    if (podName !== undefined && (r.pod?.name !== podName || (podNs !== undefined && (r.pod?.namespace ?? '') !== podNs))) return false;
    if (sinceIso !== undefined && r.time < sinceIso) return false;
    if (address !== undefined && !addressesOf(r).some((a) => canonical(stripPrefix(a)) === address)) return false;
    return true;
  };
}

/** Every address a record mentions. */
export function addressesOf(r: AuditFields): string[] {
  return [...(r.addresses ?? []), ...(r.reserved ?? []), ...(r.released ?? []), ...(r.requested ?? []), ...(r.refused ? r.refused.address.split(',') : [])];
}

const stripPrefix = (a: string): string => a.trim().replace(/\/\d+$/, '');

/**
 * `--since`: a duration back from `now` (`90s`, `15m`, `2h`, `7d`) or a time
 * (`2026-12-02T03:00:00Z`, `2026-12-02`). Undefined when it is neither.
 */
export function parseSince(text: string, now: Date): Date | undefined {
  const d = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(text.trim());
  if (d) return new Date(now.getTime() - Number(d[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[d[2] as 's' | 'm' | 'h' | 'd']);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const t = new Date(text);
  return Number.isNaN(t.getTime()) ? undefined : t;
}
