/**
 * The one adapter between address strings and integers. Everything else in pod-ipam
 * works on `IP` values (family + bigint), so IPv4 and IPv6 share one code path.
 *
 * Parsing and formatting are written out here rather than taken from a library: this
 * file runs on every CNI call, and a general address library cost a few MiB of memory
 * and milliseconds of start-up per call (see BENCHMARKS.md). The accepted forms and the
 * output format are those of the `ip-address` package that served here before (test/core/
 * ip.test.ts compares the two on random input), because formatted addresses are file
 * names in the state directory: dotted-quad IPv4 without leading zeros; IPv6 in lower
 * case, leading zeros dropped, the longest run of two or more zero groups (the first on a
 * tie) written as "::", an embedded IPv4 tail accepted on input but never written.
 */

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

const OCTET = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n);
}

function parseIPv6(text: string): bigint | undefined {
  let groups: number[] = [];
  let tail = text;
  // An embedded IPv4 address stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) >= 0) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
    if (text.endsWith(':')) return undefined;
  }
  const halves = tail.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const g = s.split(':');
    return g.every((x) => GROUP.test(x)) ? g.map((x) => parseInt(x, 16)) : undefined;
  };
  const head = toGroups(halves[0]!);
  if (!head) return undefined;
  if (halves.length === 2) {
    const rest = toGroups(halves[1]!);
    if (!rest || head.length + rest.length > 7) return undefined;
    groups = [...head, ...Array<number>(8 - head.length - rest.length).fill(0), ...rest];
  } else {
    if (head.length !== 8) return undefined;
    groups = head;
  }
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses a bare address ("10.1.2.3", "fd00::5"); undefined when it is not one. */
export function parseIP(text: string): IP | undefined {
  if (typeof text !== 'string' || text.includes('/') || text.includes('%') || text.trim() !== text) return undefined;
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  if (!text.includes(':')) return undefined;
  const v6 = parseIPv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
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
  const ip = parseIP(text.slice(0, slash));
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
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // The longest run of at least two zero groups becomes "::" (the first one on a tie).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j > i ? j : i + 1;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
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
