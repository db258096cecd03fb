/**
 * The one adapter between address strings and integers. Everything else in pod-ipam
 * works on `IP` values (family + bigint), so IPv4 and IPv6 share one code path.
 * This is the only file that imports `ip-address`.
 */
import { Address4, Address6 } from 'ip-address';

export type Family = 4 | 6;

export interface IP {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: Family;
  /** The network address (host bits cleared). */
  readonly network: bigint;
  readonly prefix: number;
}

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128);

/** ::ffff:0:0/96, the IPv4-mapped IPv6 addresses. */
const V4_MAPPED = 0xffffn << 32n;
const isV4Mapped = (value: bigint): boolean => value >> 32n === 0xffffn;

/**
 * Parses a bare address ("10.1.2.3", "fd00::5"); undefined when it is not one. An
 * IPv4-mapped address (`::ffff:10.1.2.3`) is the IPv4 address it maps, everywhere an
 * address is read (requested addresses, exclude, gateways, range bounds), as host-local's
 * canonicalizeIP makes it: otherwise `exclude: ["::ffff:10.1.2.5"]` would not exclude
 * 10.1.2.5, and a request for it would miss the IPv4 range.
 */
export function parseIP(text: string): IP | undefined {
  if (typeof text !== 'string' || text.includes('/') || text.includes('%') || text.trim() !== text) return undefined;
  if (Address4.isValid(text)) return { family: 4, value: new Address4(text).bigInt() };
  if (text.includes(':') && Address6.isValid(text)) {
    const value = new Address6(text).bigInt();
    return isV4Mapped(value) ? { family: 4, value: value - V4_MAPPED } : { family: 6, value };
  }
  return undefined;
}

export interface ParsedCidr {
  readonly ip: IP;
  readonly cidr: Cidr;
  /** True when the address part has bits set beyond the prefix ("10.1.2.3/24"). */
  readonly hostBitsSet: boolean;
}

/** Parses "addr/prefix"; undefined when it is not a CIDR. */
export function parseCidr(text: string): ParsedCidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const address = text.slice(0, slash);
  // A CIDR written IPv4-mapped ("::ffff:10.1.2.0/120") has no single meaning (its prefix
  // counts IPv6 bits); host-local refuses it too ("IPNet IP and Mask version mismatch").
  if (address.includes(':') && Address6.isValid(address) && isV4Mapped(new Address6(address).bigInt())) return undefined;
  const ip = parseIP(address);
  const prefixText = text.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > familyBits(ip.family)) return undefined;
  const network = ip.value & prefixMask(ip.family, prefix);
  return { ip, cidr: { family: ip.family, network, prefix }, hostBitsSet: network !== ip.value };
}

/** Parses an address with or without a prefix ("10.1.2.3" or "10.1.2.3/24"). */
export function parseIPWithOptionalPrefix(text: string): IP | undefined {
  if (typeof text !== 'string') return undefined;
  return text.includes('/') ? parseCidr(text)?.ip : parseIP(text);
}

export function formatIP(ip: IP): string {
  return ip.family === 4 ? Address4.fromBigInt(ip.value).correctForm() : Address6.fromBigInt(ip.value).correctForm();
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIP({ family: cidr.family, value: cidr.network })}/${cidr.prefix}`;
}

function prefixMask(family: Family, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  const all = (1n << bits) - 1n;
  return all ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** Number of addresses in the CIDR. */
export const cidrSize = (cidr: Cidr): bigint => 1n << BigInt(familyBits(cidr.family) - cidr.prefix);

/** Last address of the CIDR (the IPv4 broadcast address). */
export const cidrLast = (cidr: Cidr): bigint => cidr.network + cidrSize(cidr) - 1n;

export const cidrContains = (cidr: Cidr, ip: IP): boolean =>
  ip.family === cidr.family && ip.value >= cidr.network && ip.value <= cidrLast(cidr);

export const cidrsOverlap = (a: Cidr, b: Cidr): boolean =>
  a.family === b.family && a.network <= cidrLast(b) && b.network <= cidrLast(a);

export const sameIP = (a: IP, b: IP): boolean => a.family === b.family && a.value === b.value;

/** Orders addresses IPv4 first, then by value (for listings an operator reads). */
export const compareIP = (a: IP, b: IP): number => a.family - b.family || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
