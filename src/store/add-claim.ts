/**
 * The store's side of one ADD, split so that the network's lock is held only for what must
 * be exclusive (choosing an address and claiming it):
 *
 * 1. `prepare` (before the lock): when the attachment has no index yet (every first ADD),
 *    write its *intent* durably: the index entry saying "this attachment may hold
 *    addresses; look in ips/". Written and fsynced while others hold the lock.
 * 2. `take` (under the lock): claim each new address with one link() of the intent file
 *    as `ips/<address>` (never replaces a file), after unlinking what it no longer gets.
 * 3. `finish` (after the lock, before the result is printed): replace the intent with the
 *    final index listing the addresses (a hint: not fsynced; readers fall back to a scan
 *    of ips/ when it is missing, torn or still an intent), then fsync ips/ once. Concurrent
 *    callers' fsyncs share journal commits instead of queueing behind the lock.
 *
 * Crash safety: the intent exists (durably) before any claim, and a claim's file is the
 * intent's inode, so a kill -9 or a power loss at any point leaves either no claim, or a
 * claim that DEL, CHECK and a retried ADD find through the intent. Never a leak, never
 * one address in two files. (A power loss between `take` and the fsync in `finish` can
 * lose the claim itself; the runtime got no result then, and a retried ADD starts over.)
 */
import { TryAgainError } from '../core/errors';
import { formatIP } from '../core/ip';
import type { IP } from '../core/ip';
import type { Attachment } from '../core/attachment';
import type { PodIdentity } from '../core/pod';
import { errno, removeFile, writeFileDurable } from './durable-file';
import type { HeldAddresses, IndexEntry, NetworkState } from './network-state';
import { serializeRecord } from './state-records';
import type { AttachmentRecord } from './state-records';

export class AddClaim {
  readonly #state: NetworkState;
  readonly #attachment: Attachment;
  readonly #intent: AttachmentRecord;
  readonly #indexFile: string;
  /** The index as read before the lock; undefined means this call wrote the intent. */
  readonly #existing: IndexEntry;
  #changed = false;

  private constructor(state: NetworkState, attachment: Attachment, intent: AttachmentRecord, existing: IndexEntry) {
    this.#state = state;
    this.#attachment = attachment;
    this.#intent = intent;
    this.#indexFile = state.indexFile(attachment);
    this.#existing = existing;
  }

  /** Step 1, before the lock. @throws StoreWriteError */
  static prepare(state: NetworkState, attachment: Attachment, pod: PodIdentity | undefined): AddClaim {
    const intent: AttachmentRecord = { containerId: attachment.containerId, ifname: attachment.ifname, since: new Date().toISOString(), ...(pod ? { pod } : {}), claiming: true };
    const existing = state.readIndex(attachment);
    const claim = new AddClaim(state, attachment, intent, existing);
    if (existing === undefined) claim.#writeIntent();
    return claim;
  }

  /** Under the lock: what the attachment holds now. */
  held(): HeldAddresses {
    // Runtimes never run two calls for one attachment at once, so an attachment that had
    // no index before the lock holds nothing now.
    if (this.#existing === undefined) return { ips: [], stale: [], indexed: false };
    return this.#state.held(this.#attachment, this.#existing);
  }

  /**
   * Step 2, under the lock: unlinks `release`, then claims `claim`. On failure, the claims
   * this call made are undone.
   * @throws TryAgainError when an address file appeared although the lock is held (a
   *   writer that does not take the lock, e.g. an older pod-ipam during an upgrade)
   * @throws StoreWriteError
   */
  take(claim: readonly IP[], release: readonly IP[]): void {
    if (claim.length === 0 && release.length === 0) return;
    // An attachment that had an index gets an intent now (rare: a retried ADD that
    // changes its addresses, or a crash left it holding less than it asked for).
    if (this.#existing !== undefined) this.#writeIntent();
    this.#changed = true;
    for (const ip of release) this.#state.unlinkAddress(ip);
    const linked: IP[] = [];
    try {
      for (const ip of claim) {
        if (!this.#link(ip)) {
          throw new TryAgainError(`address ${formatIP(ip)} was reserved by a process that did not take the network lock`, 'retry; if it repeats, make sure every node runs the same pod-ipam version');
        }
        linked.push(ip);
      }
    } catch (e) {
      for (const ip of linked) this.#state.unlinkAddress(ip);
      throw e;
    }
  }

  /** Step 3, after the lock: final index, then the claims made durable. @throws StoreWriteError */
  finish(ips: readonly IP[], warn: (message: string) => void): void {
    // An unchanged attachment whose index is still an intent (a crash after its claims)
    // or unreadable gets its final index now, so that its readers stop scanning ips/.
    const existing = this.#existing;
    const indexFinal = existing !== undefined && existing !== 'unreadable' && !existing.claiming && existing.ips !== undefined;
    if (!this.#changed && indexFinal) return;
    const { containerId, ifname, since, pod } = this.#intent;
    const record: AttachmentRecord = { containerId, ifname, since, ...(pod ? { pod } : {}), ips: ips.map(formatIP) };
    try {
      writeFileDurable(this.#indexFile, serializeRecord(record), { syncFile: false, syncDir: false });
    } catch (e) {
      warn(`cannot write the index ${this.#indexFile} (readers fall back to scanning ips/): ${(e as Error).message}`);
    }
    if (this.#changed) this.#state.syncAddresses();
  }

  /** After a failed ADD: remove the intent this call wrote, so the state is as it was. */
  abandon(): void {
    if (this.#existing === undefined && !this.#changed) {
      try {
        removeFile(this.#indexFile);
      } catch {
        // an intent holding nothing is swept by the next GC
      }
    }
  }

  #writeIntent(): void {
    writeFileDurable(this.#indexFile, serializeRecord(this.#intent));
  }

  #link(ip: IP): boolean {
    try {
      return this.#state.claim(ip, this.#indexFile);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
    }
    // A GC of another runtime swept the intent while this call waited for the lock.
    this.#writeIntent();
    return this.#state.claim(ip, this.#indexFile);
  }
}
