/**
 * The network's lock as a CNI call takes it: the store's `underLock`, with the wait and
 * the time held reported to the call's audit line (`lockWaitMs`, `workMs`), so an operator
 * can tell a slow call that queued behind others from one that was slow itself.
 */
import { underLock } from '../store/network-store';
import type { NetworkState } from '../store/network-state';
import { roundMs } from './audit-call';
import { storeOptions } from './request';
import type { CniRequest } from './request';

export async function lockedForCall<T>(req: CniRequest, state: NetworkState, work: () => Promise<T> | T): Promise<T> {
  return underLock(state, storeOptions(req), work, ({ waitedMs, heldMs }) => req.audit.note({ lockWaitMs: roundMs(waitedMs), workMs: roundMs(heldMs) }));
}
