/**
 * STATUS: succeed only when an ADD could be served now: the mode knows the node's
 * ranges, every range set has a free address, and the state directory is writable.
 */
import * as path from 'node:path';
import { allocate } from '../../core/allocator';
import { NotAvailableError, PodIpamError, RangeExhaustedError } from '../../core/errors';
import { loadMode } from '../../modes';
import { removeFile, writeFileDurable } from '../../store/durable-file';
import { withNetworkState } from '../../store/network-store';
import { modeContext, storeOptions } from '../request';
import type { CniRequest } from '../request';

const PROBE_ATTACHMENT = { containerId: 'pod-ipam-status-probe', ifname: 'probe0' };

export async function status(req: CniRequest): Promise<undefined> {
  const mode = (await loadMode(req.common.mode))(req.conf.ipam, modeContext(req));
  try {
    await withNetworkState(storeOptions(req), async (state, stateDir) => {
      await mode.refresh?.(); // STATUS reads the remote source afresh (kubernetes: the Node)
      const sets = await mode.rangeSets();
      for (const warning of mode.warnings?.() ?? []) req.logger.warn(warning);
      const probe = path.join(stateDir, '.status-probe');
      writeFileDurable(probe, 'probe');
      removeFile(probe);
      for (let index = 0; index < sets.length; index++) {
        try {
          allocate({ attachment: PROBE_ATTACHMENT, rangeSets: [sets[index]!], requested: [], exclude: req.common.exclude }, state);
        } catch (e) {
          const grown = e instanceof RangeExhaustedError && mode.grow ? await mode.grow(index, sets[index]!) : undefined;
          if (!grown) throw e;
        }
      }
    });
  } catch (e) {
    if (e instanceof PodIpamError && e.code !== 'INVALID_CONFIG' && e.code !== 'INCOMPATIBLE_VERSION') {
      throw new NotAvailableError(`cannot serve ADD on network ${req.conf.name}: ${e.message}`, e.details);
    }
    throw e;
  }
  return undefined;
}
