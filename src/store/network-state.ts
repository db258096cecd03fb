/**
 * The on-disk state of one network, read and changed under its lock.
 *
 *   <dataDir>/<network>/ips/<address>          who holds the address (the truth)
 *   <dataDir>/<network>/attachments/<cid>:<if> which addresses an attachment holds (an index)
 *   <dataDir>/<network>/cursor.json            last address handed out per range set
 *
 * Each ADD, DEL and CHECK touches a handful of files whatever the number of live
 * allocations (host-local reads every file of the network on each DEL and CHECK).
 *
 * Crash safety comes from the order of writes. ADD writes the attachment's index first,
 * then claims each address file (link(), which never replaces an existing file); DEL
 * removes the address files first, then the index. So a kill -9 at any point leaves at
 * worst an index naming an address it does not hold, which every reader verifies against
 * the address file; never an address file nobody can find (a leak) and never one address
 * in two files (a duplicate).
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
import { ensurePrivateDir, errno, readFileNoFollow, removeFile, syncDir, writeFileDurable } from './durable-file';

interface AttachmentRecord {
  containerId: string;
  ifname: string;
  ips: string[];
  since: string;
}

export class NetworkState implements AllocationView {
  readonly #ipsDir: string;
  readonly #attachmentsDir: string;
  readonly #cursor: Cursor;
  readonly #beforeWrite: () => void;

  /** @param beforeWrite called before every change; throws when the lock was lost. */
  constructor(stateDir: string, beforeWrite: () => void) {
    this.#ipsDir = path.join(stateDir, 'ips');
    this.#attachmentsDir = path.join(stateDir, 'attachments');
    this.#cursor = new Cursor(stateDir);
    this.#beforeWrite = beforeWrite;
    ensurePrivateDir(this.#ipsDir);
    ensurePrivateDir(this.#attachmentsDir);
  }

  ownerOf(ip: IP): Attachment | undefined {
    return this.#readReservation(formatIP(ip))?.owner;
  }

  lastReserved(index: number, set: RangeSet): IP | undefined {
    return this.#cursor.lastReserved(index, set);
  }

  /**
   * The addresses `attachment` holds, as recorded in its index and confirmed by the
   * address files. `stale` lists indexed addresses it does not hold (a crash mid-ADD or
   * mid-DEL, or the address released by GC or an operator).
   */
  held(attachment: Attachment): { ips: IP[]; stale: IP[]; indexed: boolean } {
    const record = this.#readAttachment(attachment);
    if (!record) return { ips: [], stale: [], indexed: false };
    const ips: IP[] = [];
    const stale: IP[] = [];
    for (const text of record.ips) {
      const ip = parseIP(text);
      if (!ip) throw new CorruptStateError(`attachment record ${this.#attachmentFile(attachment)} holds ${JSON.stringify(text)}, not an address`, 'inspect or remove the file; pod-ipam will not guess');
      const owner = this.ownerOf(ip);
      (owner && sameAttachment(owner, attachment) ? ips : stale).push(ip);
    }
    return { ips, stale, indexed: true };
  }

  /**
   * Durably reserves `ips` for `attachment` (index first, then the address files).
   * Addresses it already holds are kept. On failure, what this call wrote is undone.
   * @throws StoreWriteError, TryAgainError (lock lost), AddressTakenError-like CorruptStateError if a file appeared under us
   */
  reserve(attachment: Attachment, ips: readonly IP[], cursorSets: readonly CursorUpdate[]): void {
    this.#beforeWrite();
    const since = new Date().toISOString();
    const record: AttachmentRecord = { containerId: attachment.containerId, ifname: attachment.ifname, ips: ips.map(formatIP), since };
    const indexFile = this.#attachmentFile(attachment);
    const previousIndex = readFileNoFollow(indexFile);
    writeFileDurable(indexFile, JSON.stringify(record));
    const claimed: string[] = [];
    try {
      for (const text of record.ips) {
        const owner = this.#readReservation(text)?.owner;
        if (owner && sameAttachment(owner, attachment)) continue;
        this.#beforeWrite();
        const content = JSON.stringify({ containerId: attachment.containerId, ifname: attachment.ifname, since });
        if (!writeFileDurable(path.join(this.#ipsDir, text), content, { exclusive: true, syncDir: false })) {
          throw new CorruptStateError(`address ${text} was reserved by another process while this one held the lock`, 'the lock was taken over; retry the call');
        }
        claimed.push(text);
      }
      syncDir(this.#ipsDir);
      this.#cursor.write(cursorSets);
    } catch (e) {
      // Undo everything this call wrote (a full disk can fail any of the writes), so a
      // failed ADD leaves the state exactly as it found it. Best effort: the original
      // error is the one to report, and readers ignore an index the address files deny.
      try {
        for (const text of claimed) removeFile(path.join(this.#ipsDir, text));
        if (previousIndex === undefined) removeFile(indexFile);
        else writeFileDurable(indexFile, previousIndex);
      } catch {
        // reported below: the write that failed first
      }
      throw e;
    }
  }

  /** Releases every address `attachment` holds and its index. Returns what was released. */
  release(attachment: Attachment): IP[] {
    const { ips, indexed } = this.held(attachment);
    if (!indexed) return [];
    this.#beforeWrite();
    for (const ip of ips) removeFile(path.join(this.#ipsDir, formatIP(ip)));
    if (ips.length > 0) syncDir(this.#ipsDir);
    removeFile(this.#attachmentFile(attachment));
    syncDir(this.#attachmentsDir);
    return ips;
  }

  /** Releases one address whoever holds it (operator and GC use). */
  releaseAddress(ip: IP): Reservation | undefined {
    const text = formatIP(ip);
    const reservation = this.#readReservation(text);
    if (!reservation) return undefined;
    this.#beforeWrite();
    removeFile(path.join(this.#ipsDir, text));
    syncDir(this.#ipsDir);
    // Drop the owner's index once it holds nothing any more.
    const { ips } = this.held(reservation.owner);
    if (ips.length === 0 && removeFile(this.#attachmentFile(reservation.owner))) syncDir(this.#attachmentsDir);
    return reservation;
  }

  /**
   * Every reservation of the network. Reads every address file: for GC, STATUS and operators only.
   * With `onCorrupt`, a corrupt address file is reported to it and skipped instead of thrown.
   */
  reservations(onCorrupt?: (error: CorruptStateError) => void): Reservation[] {
    return this.#listNames(this.#ipsDir).flatMap((name) => {
      try {
        const r = this.#readReservation(name);
        return r ? [r] : [];
      } catch (e) {
        // GC goes on past a corrupt file (and reports it); every other reader stops.
        if (!(onCorrupt && e instanceof CorruptStateError)) throw e;
        onCorrupt(e);
        return [];
      }
    });
  }

  /** Attachments that have an index entry (possibly holding nothing after a crash). */
  indexedAttachments(): Attachment[] {
    return this.#listNames(this.#attachmentsDir).flatMap((name) => {
      const record = this.#parseAttachment(path.join(this.#attachmentsDir, name));
      return record ? [{ containerId: record.containerId, ifname: record.ifname }] : [];
    });
  }

  /** Removes index entries that hold no address and temp files left by killed processes. */
  sweep(): void {
    this.#beforeWrite();
    for (const a of this.indexedAttachments()) {
      if (this.held(a).ips.length === 0) removeFile(this.#attachmentFile(a));
    }
    for (const dir of [this.#ipsDir, this.#attachmentsDir, path.dirname(this.#ipsDir)]) {
      for (const name of fs.readdirSync(dir)) if (name.startsWith('.tmp-')) removeFile(path.join(dir, name));
      syncDir(dir);
    }
  }

  #readReservation(text: string): Reservation | undefined {
    const file = path.join(this.#ipsDir, text);
    const content = readFileNoFollow(file);
    if (content === undefined) return undefined;
    const ip = parseIP(text);
    const parsed = parseJson(content, file) as Partial<AttachmentRecord> | undefined;
    if (!ip || !parsed || typeof parsed.containerId !== 'string' || typeof parsed.ifname !== 'string') {
      throw new CorruptStateError(`reservation file ${file} is corrupt`, 'inspect it; remove it only if no pod uses that address (pod-ipam will not guess)');
    }
    return { ip, owner: { containerId: parsed.containerId, ifname: parsed.ifname }, since: String(parsed.since ?? '') };
  }

  #readAttachment(attachment: Attachment): AttachmentRecord | undefined {
    const record = this.#parseAttachment(this.#attachmentFile(attachment));
    return record && sameAttachment(record, attachment) ? record : undefined;
  }

  #parseAttachment(file: string): AttachmentRecord | undefined {
    const content = readFileNoFollow(file);
    if (content === undefined) return undefined;
    const parsed = parseJson(content, file) as Partial<AttachmentRecord> | undefined;
    if (!parsed || typeof parsed.containerId !== 'string' || typeof parsed.ifname !== 'string' || !Array.isArray(parsed.ips)) {
      throw new CorruptStateError(`attachment record ${file} is corrupt`, 'inspect or remove it; the addresses themselves are recorded under ips/');
    }
    return parsed as AttachmentRecord;
  }

  #attachmentFile(a: Attachment): string {
    const name = `${a.containerId}:${a.ifname}`;
    // File names are limited to 255 bytes; container IDs are not limited by the spec.
    // node:crypto is loaded only for such names: it costs ~10 ms of start-up under Bun.
    const safe = Buffer.byteLength(name) <= 200 ? name : `sha256-${(require('node:crypto') as typeof import('node:crypto')).createHash('sha256').update(name).digest('hex')}`;
    return path.join(this.#attachmentsDir, safe);
  }

  #listNames(dir: string): string[] {
    try {
      return fs.readdirSync(dir).filter((n) => !n.startsWith('.tmp-'));
    } catch (e) {
      if (errno(e) === 'ENOENT') return [];
      throw e;
    }
  }
}

function parseJson(content: string, file: string): unknown {
  try {
    return JSON.parse(content);
  } catch {
    throw new CorruptStateError(`state file ${file} is not valid JSON`, 'inspect it; pod-ipam never resets state silently');
  }
}
