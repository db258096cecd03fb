/**
 * STATUS: succeed only when an ADD could be served now: the mode knows the node's
 * ranges, every range set has a free address, and the state store could be written.
 * Runtimes call it periodically, so it takes no lock and writes nothing.
 */
import { allocate } from '../../core/allocator';
import type { AllocationView } from '../../core/allocator';
import { NotAvailableError, PodIpamError, RangeExhaustedError } from '../../core/errors';
import { loadMode } from '../../modes';
import { findNetwork, networkDir } from '../../store/network-store';
import { checkWritable } from '../../store/writable';
import { modeContext, storeOptions } from '../request';
import type { CniRequest } from '../request';

const PROBE_ATTACHMENT = { containerId: 'pod-ipam-status-probe', ifname: 'probe0' };
/** A network that never allocated: everything is free. */
const NOTHING_RESERVED: AllocationView = { ownerOf: () => undefined, lastReserved: () => undefined };

export async function status(req: CniRequest): Promise<undefined> {
  const mode = (await loadMode(req.common.mode))(req.conf.ipam, modeContext(req));
  try {
    // Read-only: no claim, no cache write, the remote source read only when a cache expired.
    const sets = await (mode.statusRangeSets ? mode.statusRangeSets() : mode.rangeSets());
    for (const warning of mode.warnings?.() ?? []) req.logger.warn(warning);
    checkWritable(networkDir(req.common.dataDir, req.conf.name));
    const view = findNetwork(storeOptions(req)) ?? NOTHING_RESERVED;
    for (let index = 0; index < sets.length; index++) {
      try {
        allocate({ attachment: PROBE_ATTACHMENT, rangeSets: [sets[index]!], requested: [], exclude: req.common.exclude }, view);
      } catch (e) {
        const growable = e instanceof RangeExhaustedError && mode.couldGrow ? await mode.couldGrow(index) : false;
        if (!growable) throw e;
      }
    }
  } catch (e) {
    if (e instanceof PodIpamError && e.code !== 'INVALID_CONFIG' && e.code !== 'INCOMPATIBLE_VERSION') {
      throw new NotAvailableError(`cannot serve ADD on network ${req.conf.name}: ${e.message}`, e.details);
    }
    throw e;
  }
  return undefined;
}
