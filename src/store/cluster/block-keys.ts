/**
 * etcd keys for blocks, laid out so that every block that could overlap a given one is
 * either one of a handful of exact keys or inside one contiguous key range: a block is
 * `<prefix>/blocks<family>/<its network bits, as "0"/"1", prefix-length long>`. Two CIDRs
 * overlap exactly when one's bit string is a prefix of the other's, so for block K:
 * - the blocks containing K (its ancestors) are the keys of K's bit string cut shorter,
 *   one per shorter prefix length (at most 31 for IPv4, 127 for IPv6);
 * - K itself and the blocks inside it (its descendants) are exactly the keys starting
 *   with K's key, one contiguous range [K, prefixEnd(K)).
 * A claim compares all of them in one transaction (etcd-cluster-store.ts), whatever the
 * mask sizes of the nodes and networks sharing the store.
 */
import { familyBits, formatCidr, parseCidr } from '../../core/ip';
import type { Cidr, Family } from '../../core/ip';

export const familyBase = (prefix: string, family: Family): string => `${prefix}/blocks${family}/`;

/** "10.0.0.0/8" -> "00001010". */
export function blockBits(cidr: Cidr): string {
  const width = familyBits(cidr.family);
  return cidr.prefix === 0 ? '' : (cidr.network >> BigInt(width - cidr.prefix)).toString(2).padStart(cidr.prefix, '0');
}

export function blockKey(prefix: string, cidr: Cidr): string {
  return `${familyBase(prefix, cidr.family)}${blockBits(cidr)}`;
}

/** The keys of every block strictly containing `cidr` (prefix lengths 1 .. prefix-1). */
export function ancestorKeys(prefix: string, cidr: Cidr): string[] {
  const bits = blockBits(cidr);
  const base = familyBase(prefix, cidr.family);
  return Array.from({ length: Math.max(0, bits.length - 1) }, (_, i) => `${base}${bits.slice(0, i + 1)}`);
}

/** The block a key names, or undefined for a key that is not a block key of this prefix. */
export function blockOfKey(prefix: string, key: string): string | undefined {
  for (const family of [4, 6] as const) {
    const base = familyBase(prefix, family);
    if (!key.startsWith(base)) continue;
    const bits = key.slice(base.length);
    const width = familyBits(family);
    if (bits.length === 0 || bits.length > width || !/^[01]+$/.test(bits)) return undefined;
    return formatCidr({ family, network: BigInt(`0b${bits}`) << BigInt(width - bits.length), prefix: bits.length });
  }
  return undefined;
}

/** Parses a block string as the store interface passes it; undefined when not a clean CIDR. */
export function parseBlock(block: string): Cidr | undefined {
  const parsed = parseCidr(block);
  return parsed && !parsed.hostBitsSet ? parsed.cidr : undefined;
}
