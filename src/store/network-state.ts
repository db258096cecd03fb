/**
 * The on-disk state of one network:
 *
 *   <dataDir>/<network>/ips/<address>          who holds the address (the truth)
 *   <dataDir>/<network>/attachments/<cid>:<if> which addresses an attachment holds (an index)
 *   <dataDir>/<network>/cursor.json            last address handed out per range set
 *   <dataDir>/<network>/lock                   the network's flock(2) lock
 *
 * Reads need no lock: every change is one atomic rename, link or unlink, so a reader sees
 * a file whole or not at all. Writes that decide who holds an address happen under the
 * lock (network-store.ts says which writes may follow it). Each ADD, DEL and CHECK reads a
 * handful of files whatever the number of live allocations; only an index left as an
 * intent by a crash (or torn by a power loss) makes its reader scan `ips/`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptStateError } from '../core/errors';
import { formatIP, parseIP } from '../core/ip';
import type { IP } from '../core/ip';
import { sameAttachment } from '../core/attachment';
import type { Attachment, Reservation } from '../core/attachment';
import type { AllocationView } from '../core/allocator';
import type { RangeSet } from '../core/range-set';
import { Cursor } from './cursor';
import type { CursorUpdate } from './cursor';
import { errno, isTempOfDeadProcess, readFileNoFollow, removeFile, syncDir, writeError } from './durable-file';
import { parseRecord } from './state-records';
import type { AttachmentRecord } from './state-records';

export interface HeldAddresses {
  /** Addresses the attachment holds (confirmed by the address files). */
  readonly ips: IP[];
  /** Addresses its index names that it does not hold (a crash, or GC or an operator released them). */
  readonly stale: IP[];
  /** Whether it has an index entry at all. */
  readonly indexed: boolean;
}

/** An index entry: its record, or 'unreadable' when the file exists but does not parse. */
export type IndexEntry = AttachmentRecord | 'unreadable' | undefined;

export class NetworkState implements AllocationView {
  readonly dir: string;
  readonly ipsDir: string;
  readonly attachmentsDir: string;
  readonly #cursor: Cursor;

  constructor(dir: string) {
    this.dir = dir;
    this.ipsDir = path.join(dir, 'ips');
    this.attachmentsDir = path.join(dir, 'attachments');
    this.#cursor = new Cursor(dir);
  }

  ownerOf(ip: IP): Attachment | undefined {
    return this.#readReservation(formatIP(ip))?.owner;
  }

  lastReserved(index: number, set: RangeSet): IP | undefined {
    return this.#cursor.lastReserved(index, set);
  }

  /** The index file of `a`. Names are limited to 255 bytes; container IDs are not. */
  indexFile(a: Attachment): string {
    const name = `${a.containerId}:${a.ifname}`;
    // node:crypto is loaded only for such names: it costs ~10 ms of start-up under Bun.
    const safe = Buffer.byteLength(name) <= 200 ? name : `sha256-${(require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(name).digest('hex')}`;
    return path.join(this.attachmentsDir, safe);
  }

  readIndex(a: Attachment): IndexEntry {
    const content = readFileNoFollow(this.indexFile(a));
    if (content === undefined) return undefined;
    const record = parseRecord(content);
    if (!record) return 'unreadable';
    return sameAttachment(record, a) ? record : undefined;
  }

  /** What `a` holds. An intent or unreadable index is resolved against `ips/` (a scan). */
  held(a: Attachment, index: IndexEntry = this.readIndex(a)): HeldAddresses {
    if (index === undefined) return { ips: [], stale: [], indexed: false };
    if (index === 'unreadable' || index.claiming || !index.ips) {
      // A corrupt file elsewhere cannot be known to be this attachment's: skip it here.
      const ips = this.reservations(() => undefined).filter((r) => sameAttachment(r.owner, a)).map((r) => r.ip);
      return { ips, stale: [], indexed: true };
    }
    const ips: IP[] = [];
    const stale: IP[] = [];
    for (const text of index.ips) {
      const ip = parseIP(text);
      const owner = ip && this.ownerOf(ip);
      if (ip) (owner && sameAttachment(owner, a) ? ips : stale).push(ip);
    }
    return { ips, stale, indexed: true };
  }

  /**
   * Every reservation of the network: reads every address file (GC, STATUS, operators, and
   * the rare index scan). With `onCorrupt`, a corrupt file is reported to it and skipped.
   */
  reservations(onCorrupt?: (error: CorruptStateError) => void): Reservation[] {
    return listNames(this.ipsDir).flatMap((name) => {
      try {
        const r = this.#readReservation(name);
        return r ? [r] : [];
      } catch (e) {
        if (!(onCorrupt && e instanceof CorruptStateError)) throw e;
        onCorrupt(e);
        return [];
      }
    });
  }

  /** Attachments with an index entry (possibly an intent holding nothing after a crash). */
  indexedAttachments(): { attachment: Attachment; intent: boolean }[] {
    return listNames(this.attachmentsDir).flatMap((name) => {
      const record = parseRecord(readFileNoFollow(path.join(this.attachmentsDir, name)) ?? '');
      return record ? [{ attachment: { containerId: record.containerId, ifname: record.ifname }, intent: record.claiming === true }] : [];
    });
  }

  // ---- Changes: the caller holds the network's lock. ----

  /**
   * Claims `ip` by hard-linking the attachment's intent file as `ips/<ip>`: link() never
   * replaces an existing file, so a claim cannot overwrite another holder's.
   * @returns false when the address file exists already
   * @throws StoreWriteError, or ENOENT (as a raw error) when the intent file is gone
   */
  claim(ip: IP, intentFile: string): boolean {
    try {
      fs.linkSync(intentFile, path.join(this.ipsDir, formatIP(ip)));
      return true;
    } catch (e) {
      if (errno(e) === 'EEXIST') return false;
      if (errno(e) === 'ENOENT') throw e;
      throw writeError(`cannot reserve ${formatIP(ip)} in ${this.ipsDir}`, e);
    }
  }

  /** Removes an address file; false when there was none. Durable after `syncAddresses()`. */
  unlinkAddress(ip: IP): boolean {
    return removeFile(path.join(this.ipsDir, formatIP(ip)));
  }

  /** Moves round-robin on. A hint: a failure to write it is not the call's failure. */
  moveCursor(updates: readonly CursorUpdate[], onError: (message: string) => void): void {
    try {
      this.#cursor.write(updates);
    } catch (e) {
      onError(`cannot move the round-robin cursor: ${(e as Error).message}`);
    }
  }

  /**
   * Releases `toRelease` (GC, operators): unlinks their address files, then drops the index
   * of every owner left holding nothing in `all` (the reservations read under this lock).
   * Keeps going past failures and returns them. Durable after `syncAddresses()`.
   */
  releaseAll(toRelease: readonly Reservation[], all: readonly Reservation[]): { released: Reservation[]; failures: string[] } {
    const released: Reservation[] = [];
    const failures: string[] = [];
    for (const r of toRelease) {
      try {
        this.unlinkAddress(r.ip);
        released.push(r);
      } catch (e) {
        failures.push(`${formatIP(r.ip)}: ${(e as Error).message}`);
      }
    }
    const gone = new Set(released.map((r) => formatIP(r.ip)));
    const stillHolding = new Set(all.filter((r) => !gone.has(formatIP(r.ip))).map((r) => ownerKey(r.owner)));
    for (const r of released) {
      if (stillHolding.has(ownerKey(r.owner))) continue;
      stillHolding.add(ownerKey(r.owner)); // once per owner
      try {
        removeFile(this.indexFile(r.owner));
      } catch (e) {
        failures.push(`index of ${r.owner.containerId}/${r.owner.ifname}: ${(e as Error).message}`);
      }
    }
    return { released, failures };
  }

  /**
   * Removes what crashes leave behind: index entries holding nothing in `all` (except the
   * intents of attachments `keepIntent` accepts: an ADD of theirs may be in flight), and
   * temp files of processes that no longer exist.
   */
  sweep(all: readonly Reservation[], keepIntent: (a: Attachment) => boolean): void {
    const holding = new Set(all.map((r) => ownerKey(r.owner)));
    for (const { attachment, intent } of this.indexedAttachments()) {
      if (!holding.has(ownerKey(attachment)) && !(intent && keepIntent(attachment))) removeFile(this.indexFile(attachment));
    }
    for (const dir of [this.ipsDir, this.attachmentsDir, this.dir]) {
      for (const name of fs.readdirSync(dir)) if (isTempOfDeadProcess(name)) removeFile(path.join(dir, name));
    }
  }

  // ---- Durability: safe with or without the lock. ----

  /** Makes every claim and release in `ips/` survive a power loss. */
  syncAddresses(): void {
    syncDir(this.ipsDir);
  }

  /** Makes index changes survive a power loss (they are hints: only operators' bulk changes bother). */
  syncIndex(): void {
    syncDir(this.attachmentsDir);
  }

  #readReservation(text: string): Reservation | undefined {
    const file = path.join(this.ipsDir, text);
    const content = readFileNoFollow(file);
    if (content === undefined) return undefined;
    const ip = parseIP(text);
    const record = parseRecord(content);
    if (!ip || !record) throw new CorruptStateError(`reservation file ${file} is corrupt`, 'inspect it; remove it only if no pod uses that address (pod-ipam will not guess)');
    return { ip, owner: { containerId: record.containerId, ifname: record.ifname }, since: record.since, ...(record.pod ? { pod: record.pod } : {}) };
  }
}

const ownerKey = (a: Attachment): string => `${a.containerId}\u0000${a.ifname}`;

function listNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => !n.startsWith('.tmp-'));
  } catch (e) {
    if (errno(e) === 'ENOENT') return [];
    throw e;
  }
}
