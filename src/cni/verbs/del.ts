/**
 * DEL: best effort and idempotent; an attachment holding nothing is a success. One with no
 * index entry never takes the lock (and DEL of a network never used creates nothing).
 */
import { formatIP } from '../../core/ip';
import { removeFile } from '../../store/durable-file';
import { findNetwork } from '../../store/network-store';
import { lockedForCall } from '../call-lock';
import { attachmentOf, storeOptions } from '../request';
import type { CniRequest } from '../request';

export async function del(req: CniRequest): Promise<undefined> {
  const attachment = attachmentOf(req);
  const state = findNetwork(storeOptions(req));
  if (!state || state.readIndex(attachment) === undefined) return undefined;
  const released = await lockedForCall(req, state, () => {
    const { ips } = state.held(attachment);
    for (const ip of ips) state.unlinkAddress(ip);
    return ips;
  });
  // The releases are made durable before the index goes, so a power loss in between
  // leaves an index naming addresses it no longer holds (ignored), never a leak. The
  // index is this attachment's own: removing it needs no lock (network-store.ts).
  if (released.length > 0) state.syncAddresses();
  removeFile(state.indexFile(attachment));
  req.audit.note({ released: released.map(formatIP) });
  req.logger.debug(`DEL ${attachment.containerId}/${attachment.ifname}: released ${released.map(formatIP).join(', ') || 'nothing'}`);
  return undefined;
}
