/**
 * A range: the addresses of one subnet that may be handed out, between rangeStart and
 * rangeEnd, minus the gateway. Parsed and validated once here ("canonicalized", as the
 * reference host-local plugin calls it); nothing downstream re-checks.
 */
import { ConfigError } from './errors';
import { cidrContains, cidrLast, formatCidr, formatIP, parseCidr, parseIP } from './ip';
import type { Cidr, IP } from './ip';

export interface Range {
  readonly subnet: Cidr;
  /** First and last address that may be handed out (inclusive). */
  readonly start: bigint;
  readonly end: bigint;
  /** Never handed out; returned as the gateway in results. */
  readonly gateway: IP;
}

/** The host-local shape of one range, as found in the config. */
export interface RawRange {
  subnet?: unknown;
  rangeStart?: unknown;
  rangeEnd?: unknown;
  gateway?: unknown;
}

/**
 * Validates a range and fills host-local's defaults: gateway = network + 1,
 * rangeStart = network + 1, rangeEnd = broadcast - 1 (IPv4) or the last address (IPv6).
 * @throws ConfigError naming `path` and the bad field.
 */
export function canonicalizeRange(raw: RawRange, path: string): Range {
  if (typeof raw.subnet !== 'string') throw new ConfigError(`${path}.subnet`, 'is required: a CIDR such as "10.1.2.0/24"');
  const parsed = parseCidr(raw.subnet);
  if (!parsed) throw new ConfigError(`${path}.subnet`, `${JSON.stringify(raw.subnet)} is not a CIDR such as "10.1.2.0/24" or "fd00::/64"`);
  const subnet = parsed.cidr;
  if (parsed.hostBitsSet) {
    throw new ConfigError(`${path}.subnet`, `${raw.subnet} has host bits set; did you mean ${formatCidr(subnet)}?`);
  }
  const maxPrefix = subnet.family === 4 ? 30 : 126;
  if (subnet.prefix > maxPrefix) {
    throw new ConfigError(`${path}.subnet`, `${raw.subnet} is too small to allocate from; use /${maxPrefix} or larger`);
  }
  const last = cidrLast(subnet);
  const lastUsable = subnet.family === 4 ? last - 1n : last;
  const firstUsable = subnet.network + 1n;

  const gateway = optionalAddressIn(raw.gateway, subnet, `${path}.gateway`) ?? { family: subnet.family, value: firstUsable };
  const start = optionalAddressIn(raw.rangeStart, subnet, `${path}.rangeStart`)?.value ?? firstUsable;
  const end = optionalAddressIn(raw.rangeEnd, subnet, `${path}.rangeEnd`)?.value ?? lastUsable;
  if (start < firstUsable || start > lastUsable) {
    throw new ConfigError(`${path}.rangeStart`, `${String(raw.rangeStart)} is the network or broadcast address of ${formatCidr(subnet)}`);
  }
  if (end < firstUsable || end > lastUsable) {
    throw new ConfigError(`${path}.rangeEnd`, `${String(raw.rangeEnd)} is the network or broadcast address of ${formatCidr(subnet)}`);
  }
  if (start > end) throw new ConfigError(`${path}.rangeStart`, `rangeStart ${String(raw.rangeStart)} is after rangeEnd ${String(raw.rangeEnd ?? formatIP({ family: subnet.family, value: end }))}`);
  const onlyGateway = start === end && start === gateway.value;
  if (onlyGateway) throw new ConfigError(path, 'the range holds only its gateway; widen rangeStart..rangeEnd');
  return { subnet, start, end, gateway };
}

function optionalAddressIn(value: unknown, subnet: Cidr, path: string): IP | undefined {
  if (value === undefined || value === '') return undefined;
  const ip = typeof value === 'string' ? parseIP(value) : undefined;
  if (!ip) throw new ConfigError(path, `${JSON.stringify(value)} is not an IP address`);
  if (!cidrContains(subnet, ip)) throw new ConfigError(path, `${value} is outside the subnet ${formatCidr(subnet)}`);
  return ip;
}

export const rangeContains = (range: Range, ip: IP): boolean =>
  ip.family === range.subnet.family && ip.value >= range.start && ip.value <= range.end;

/** Number of addresses the range could hand out (the gateway excluded when inside). */
export function rangeCapacity(range: Range): bigint {
  const size = range.end - range.start + 1n;
  return rangeContains(range, range.gateway) ? size - 1n : size;
}

export const rangesOverlap = (a: Range, b: Range): boolean =>
  a.subnet.family === b.subnet.family && a.start <= b.end && b.start <= a.end;

export const describeRange = (range: Range): string =>
  `${formatCidr(range.subnet)} (${formatIP({ family: range.subnet.family, value: range.start })}-${formatIP({ family: range.subnet.family, value: range.end })})`;
