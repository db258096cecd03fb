/**
 * `<stateDir>/ranges.json`: the ranges the network allocated from at its last ADD, with
 * the mode and excluded addresses, so that the operator commands (status, metrics) can
 * show capacity without the network's config file. Derived data, like the cursor: ADD
 * writes it under the network lock, and only when it changed (one small read per ADD
 * otherwise); losing or failing to write it changes no reservation.
 */
import * as path from 'node:path';
import { formatCidr, formatIP, parseCidr } from '../core/ip';
import type { Cidr } from '../core/ip';
import { canonicalizeRange } from '../core/range';
import type { RangeSet } from '../core/range-set';
import { readFileNoFollow, writeFileDurable } from './durable-file';

export const RANGES_FILE = 'ranges.json';

export interface NetworkRecord {
  readonly mode: string;
  readonly rangeSets: RangeSet[];
  readonly exclude: Cidr[];
}

function serialize(mode: string, sets: readonly RangeSet[], exclude: readonly Cidr[]): string {
  const rangeSets = sets.map((set) =>
    set.map((r) => ({
      subnet: formatCidr(r.subnet),
      rangeStart: formatIP({ family: r.subnet.family, value: r.start }),
      rangeEnd: formatIP({ family: r.subnet.family, value: r.end }),
      gateway: formatIP(r.gateway),
    })),
  );
  return `${JSON.stringify({ version: 1, mode, rangeSets, exclude: exclude.map(formatCidr) })}\n`;
}

/**
 * Records the network's ranges when they differ from the recorded ones. Never throws:
 * `onError` hears why a write failed.
 */
export function recordNetwork(stateDir: string, mode: string, sets: readonly RangeSet[], exclude: readonly Cidr[], onError: (message: string) => void): void {
  const file = path.join(stateDir, RANGES_FILE);
  try {
    const content = serialize(mode, sets, exclude);
    if (readFileNoFollow(file) === content) return;
    writeFileDurable(file, content, { syncDir: false });
  } catch (e) {
    onError(`cannot record the network's ranges in ${file} (only "pod-ipam status" uses it): ${(e as Error).message}`);
  }
}

/** The recorded ranges; undefined when none were recorded or the file is unreadable. */
export function readNetworkRecord(stateDir: string): NetworkRecord | undefined {
  try {
    const text = readFileNoFollow(path.join(stateDir, RANGES_FILE));
    if (text === undefined) return undefined;
    const data = JSON.parse(text) as { version?: unknown; mode?: unknown; rangeSets?: unknown; exclude?: unknown };
    if (data.version !== 1 || typeof data.mode !== 'string' || !Array.isArray(data.rangeSets)) return undefined;
    const rangeSets = (data.rangeSets as unknown[][]).map((set, i) => set.map((r, j) => canonicalizeRange(r as Record<string, unknown>, `${RANGES_FILE} [${i}][${j}]`)));
    const exclude = (Array.isArray(data.exclude) ? data.exclude : []).flatMap((c) => {
      const parsed = typeof c === 'string' ? parseCidr(c) : undefined;
      return parsed ? [parsed.cidr] : [];
    });
    return { mode: data.mode, rangeSets, exclude };
  } catch {
    return undefined;
  }
}
