/**
 * One network as the operator commands see it: its ranges (as recorded by the last ADD)
 * with use and capacity, its reservations, and warnings. Read under the network's lock,
 * so a view is never torn by a concurrent ADD or DEL.
 */
import type { Reservation } from '../../core/attachment';
import { cidrLast, cidrContains, compareIP, formatCidr, formatIP } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import type { PodIdentity } from '../../core/pod';
import { rangeCapacity, rangeContains } from '../../core/range';
import type { Range } from '../../core/range';
import { readNetworkRecord } from '../../store/network-record';
import { withNetworkState } from '../../store/network-store';
import { existingNetworkDir } from '../commands/common';
import { percent } from '../format/table';
import { MODE_VIEWS } from './mode-views';

/** Use at or above this share of a range set is "nearly exhausted". */
export const NEARLY_EXHAUSTED = 0.9;

export interface RangeView {
  /** Index of the range set (one address per set per attachment). */
  readonly set: number;
  readonly cidr: string;
  readonly rangeStart: string;
  readonly rangeEnd: string;
  readonly gateway: string;
  readonly label: string | null;
  readonly used: number;
  readonly free: bigint;
  /** Addresses that can be handed out: the range minus gateway and excluded addresses. */
  readonly total: bigint;
}

export interface ReservationView {
  readonly address: string;
  readonly containerId: string;
  readonly ifname: string;
  readonly since: string;
  /** The pod the runtime named in CNI_ARGS when the address was reserved; null when it named none (podman, hand-made calls, reservations made before pod-ipam recorded it). */
  readonly pod: PodIdentity | null;
  /** The range's CIDR, or null when outside every current range. */
  readonly range: string | null;
}

export interface NetworkView {
  readonly name: string;
  /** null when no ADD recorded the network's ranges yet. */
  readonly mode: string | null;
  readonly ranges: readonly RangeView[];
  readonly reservations: readonly ReservationView[];
  readonly details: Record<string, unknown>;
  readonly warnings: readonly string[];
}

export async function inspectNetwork(dataDir: string, name: string): Promise<NetworkView> {
  existingNetworkDir(dataDir, name);
  return withNetworkState({ dataDir, network: name }, (state, stateDir) => {
    const reservations = state.reservations().sort((a, b) => compareIP(a.ip, b.ip));
    const record = readNetworkRecord(stateDir);
    const warnings: string[] = [];
    const modeView = record ? (Object.hasOwn(MODE_VIEWS, record.mode) ? MODE_VIEWS[record.mode] : undefined)?.(stateDir, reservations) : undefined;
    const ranges = (record?.rangeSets ?? []).flatMap((set, index) => set.map((range) => rangeView(index, range, reservations, record!.exclude, modeView?.rangeLabels.get(formatCidr(range.subnet)))));
    if (!record) warnings.push('ranges unknown: they are recorded at the next ADD on this network');
    warnings.push(...(modeView?.warnings ?? []), ...capacityWarnings(ranges));
    const views = reservations.map((r) => reservationView(r, record?.rangeSets.flat() ?? []));
    const outside = views.filter((v) => v.range === null);
    if (record && outside.length > 0) {
      warnings.push(`${outside.length} reservation(s) outside the current ranges (the network's CIDRs changed under live reservations): ${outside.slice(0, 5).map((v) => v.address).join(', ')}${outside.length > 5 ? ', ...' : ''}`);
    }
    return { name, mode: record?.mode ?? null, ranges, reservations: views, details: modeView?.details ?? {}, warnings };
  });
}

function rangeView(set: number, range: Range, reservations: readonly Reservation[], exclude: readonly Cidr[], label: string | undefined): RangeView {
  const family = range.subnet.family;
  const used = reservations.filter((r) => rangeContains(range, r.ip)).length;
  const total = rangeCapacity(range) - excludedIn(range, exclude);
  const free = total - BigInt(used);
  return {
    set,
    cidr: formatCidr(range.subnet),
    rangeStart: formatIP({ family, value: range.start }),
    rangeEnd: formatIP({ family, value: range.end }),
    gateway: formatIP(range.gateway),
    label: label ?? null,
    used,
    free: free < 0n ? 0n : free,
    total,
  };
}

/** Excluded addresses of the range that rangeCapacity still counts (overlapping excludes merged). */
function excludedIn(range: Range, exclude: readonly Cidr[]): bigint {
  const spans = exclude
    .filter((c) => c.family === range.subnet.family)
    .map((c) => [c.network > range.start ? c.network : range.start, cidrLast(c) < range.end ? cidrLast(c) : range.end] as const)
    .filter(([lo, hi]) => lo <= hi)
    .sort((a, b) => (a[0] < b[0] ? -1 : 1));
  let count = 0n;
  let reach = range.start - 1n;
  for (const [lo, hi] of spans) {
    const from = lo > reach ? lo : reach + 1n;
    if (hi >= from) count += hi - from + 1n;
    if (hi > reach) reach = hi;
  }
  // The gateway is already left out by rangeCapacity.
  const gatewayExcluded = rangeContains(range, range.gateway) && exclude.some((c) => cidrContains(c, range.gateway));
  return gatewayExcluded ? count - 1n : count;
}

function capacityWarnings(ranges: readonly RangeView[]): string[] {
  const sets = new Map<number, RangeView[]>();
  for (const r of ranges) sets.set(r.set, [...(sets.get(r.set) ?? []), r]);
  return [...sets].flatMap(([index, views]) => {
    const total = views.reduce((s, v) => s + v.total, 0n);
    const used = views.reduce((s, v) => s + BigInt(v.used), 0n);
    const cidrs = views.map((v) => v.cidr).join(', ');
    if (used >= total) return [`range set ${index} (${cidrs}) is exhausted: ${used} of ${total} addresses in use; the next ADD fails unless the mode can grow it`];
    if (Number((used * 1000n) / (total === 0n ? 1n : total)) >= NEARLY_EXHAUSTED * 1000) return [`range set ${index} (${cidrs}) is nearly exhausted: ${percent(used, total)} in use (${total - used} free)`];
    return [];
  });
}

function reservationView(r: Reservation, ranges: readonly Range[]): ReservationView {
  const range = ranges.find((x) => rangeContains(x, r.ip));
  return { address: formatIP(r.ip), containerId: r.owner.containerId, ifname: r.owner.ifname, since: r.since, pod: r.pod ?? null, range: range ? formatCidr(range.subnet) : null };
}
