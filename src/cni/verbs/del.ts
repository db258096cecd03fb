/** DEL: best effort and idempotent; an attachment holding nothing is a success. */
import * as fs from 'node:fs';
import { formatIP } from '../../core/ip';
import { networkDir, withNetworkState } from '../../store/network-store';
import { attachmentOf, storeOptions } from '../request';
import type { CniRequest } from '../request';

export async function del(req: CniRequest): Promise<undefined> {
  // Nothing was ever reserved on this network: do not create its directory just to say so.
  if (!fs.existsSync(networkDir(req.common.dataDir, req.conf.name))) return undefined;
  const attachment = attachmentOf(req);
  const released = await withNetworkState(storeOptions(req), (state) => state.release(attachment));
  req.logger.debug(`DEL ${attachment.containerId}/${attachment.ifname}: released ${released.map(formatIP).join(', ') || 'nothing'}`);
  return undefined;
}
