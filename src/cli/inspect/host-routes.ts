/**
 * This host's routes from the kernel's routing tables (/proc/net/route, /proc/net/ipv6_route),
 * for `plan` to find pools that would collide with networks the host already reaches.
 * POD_IPAM_PROC_NET points at another directory holding the same two files (tests).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Cidr } from '../../core/ip';

export interface HostRoute {
  readonly cidr: Cidr;
  readonly device: string;
}

export function readHostRoutes(env: Readonly<Record<string, string | undefined>>): HostRoute[] {
  const dir = env.POD_IPAM_PROC_NET || '/proc/net';
  return [...parseIPv4(read(path.join(dir, 'route'))), ...parseIPv6(read(path.join(dir, 'ipv6_route')))];
}

const read = (file: string): string => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return ''; // no IPv6, or not Linux: no routes of that family to collide with
  }
};

/** Iface Destination Gateway Flags RefCnt Use Metric Mask ...; addresses are little-endian hex. */
export function parseIPv4(text: string): HostRoute[] {
  return text.split('\n').slice(1).flatMap((line) => {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) return [];
    const dest = leHex(f[1]!);
    const mask = leHex(f[7]!);
    if (dest === undefined || mask === undefined) return [];
    const prefix = mask.toString(2).replace(/0+$/, '').length;
    return [{ cidr: { family: 4, network: dest, prefix: mask === 0n ? 0 : prefix }, device: f[0]! }];
  });
}

/** dest(32 hex) dest_prefix(2 hex) src src_prefix next_hop metric refcnt use flags device */
export function parseIPv6(text: string): HostRoute[] {
  return text.split('\n').flatMap((line) => {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-f]{32}$/i.test(f[0]!)) return [];
    return [{ cidr: { family: 6, network: BigInt(`0x${f[0]}`), prefix: parseInt(f[1]!, 16) }, device: f[9]! }];
  });
}

function leHex(h: string): bigint | undefined {
  if (!/^[0-9a-fA-F]{8}$/.test(h)) return undefined;
  const bytes = h.match(/../g)!.reverse().join('');
  return BigInt(`0x${bytes}`);
}
