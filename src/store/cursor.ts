/**
 * `<stateDir>/cursor.json`: the last address handed out from each range set, where
 * round-robin continues. A hint, not state: an unreadable cursor reads as empty and
 * losing it changes no reservation, it only moves round-robin back.
 */
import * as path from 'node:path';
import { formatIP, parseIP } from '../core/ip';
import type { IP } from '../core/ip';
import { describeRange } from '../core/range';
import type { RangeSet } from '../core/range-set';
import { readFileNoFollow, writeFileDurable } from './durable-file';

export interface CursorUpdate {
  readonly index: number;
  readonly set: RangeSet;
  readonly ip: IP;
}

/** The cursor is tagged with its range set, so a changed range set starts afresh. */
const fingerprint = (index: number, set: RangeSet): string => `${index}:${set.map(describeRange).join(',')}`;

export class Cursor {
  readonly #file: string;
  #entries: Record<string, string> | undefined;

  constructor(stateDir: string) {
    this.#file = path.join(stateDir, 'cursor.json');
  }

  lastReserved(index: number, set: RangeSet): IP | undefined {
    const last = this.#read()[fingerprint(index, set)];
    return last === undefined ? undefined : parseIP(last);
  }

  write(updates: readonly CursorUpdate[]): void {
    if (updates.length === 0) return;
    const entries = { ...this.#read() };
    for (const { index, set, ip } of updates) entries[fingerprint(index, set)] = formatIP(ip);
    this.#entries = entries;
    // No fsync at all: after a power loss an old, empty or missing cursor only moves
    // round-robin back; the rename still never leaves a torn file after kill -9. One
    // fsync fewer per ADD (BENCHMARKS.md); reservations keep every fsync.
    writeFileDurable(this.#file, JSON.stringify(entries), { syncDir: false, syncFile: false });
  }

  #read(): Record<string, string> {
    if (!this.#entries) {
      let parsed: unknown;
      try {
        const content = readFileNoFollow(this.#file);
        parsed = content === undefined ? {} : JSON.parse(content);
      } catch {
        parsed = {}; // a hint only: see above
      }
      this.#entries = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, string>) : {};
    }
    return this.#entries;
  }
}
