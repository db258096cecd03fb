/**
 * GC: release every reservation whose attachment the runtime no longer lists as valid.
 * It keeps going past a failing entry and reports all failures at the end.
 */
import * as fs from 'node:fs';
import { ConfigError, CorruptStateError, StoreWriteError } from '../../core/errors';
import { describeAttachment } from '../../core/attachment';
import { formatIP } from '../../core/ip';
import { networkDir, withNetworkState } from '../../store/network-store';
import { isObject } from '../json-fields';
import type { JsonObject } from '../json-fields';
import { storeOptions } from '../request';
import type { CniRequest } from '../request';

export async function gc(req: CniRequest): Promise<undefined> {
  const valid = validAttachments(req.conf.raw);
  if (!fs.existsSync(networkDir(req.common.dataDir, req.conf.name))) return undefined;
  const { corrupt, failures } = await withNetworkState(storeOptions(req), (state) => {
    const corrupt: string[] = [];
    const failures: string[] = [];
    for (const r of state.reservations((e) => corrupt.push(e.message))) {
      if (valid.has(key(r.owner.containerId, r.owner.ifname))) continue;
      try {
        state.releaseAddress(r.ip);
        req.logger.debug(`GC released ${formatIP(r.ip)} of ${describeAttachment(r.owner)}`);
      } catch (e) {
        failures.push(`${formatIP(r.ip)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    try {
      state.sweep();
    } catch (e) {
      failures.push(`cleanup: ${e instanceof Error ? e.message : String(e)}`);
    }
    return { corrupt, failures };
  });
  if (corrupt.length > 0) throw new CorruptStateError(`GC skipped ${corrupt.length} corrupt reservation file(s) and released the rest`, [...corrupt, ...failures].join('; '));
  if (failures.length > 0) throw new StoreWriteError(`GC could not release ${failures.length} address(es)`, failures.join('; '));
  return undefined;
}

const key = (containerId: string, ifname: string): string => `${containerId}\u0000${ifname}`;

/** @throws ConfigError when the list is missing (a missing list is not an empty one) or malformed. */
function validAttachments(raw: JsonObject): Set<string> {
  const name = raw['cni.dev/valid-attachments'] !== undefined ? 'cni.dev/valid-attachments' : 'cni.dev/attachments';
  const list = raw[name];
  if (list === undefined) throw new ConfigError('cni.dev/valid-attachments', 'GC needs the list of valid attachments (an empty list releases everything)');
  if (!Array.isArray(list)) throw new ConfigError(name, 'must be a list of {"containerID", "ifname"}');
  return new Set(
    list.map((entry, i) => {
      if (!isObject(entry) || typeof entry.containerID !== 'string' || typeof entry.ifname !== 'string') {
        throw new ConfigError(`${name}[${i}]`, 'must be {"containerID": "...", "ifname": "..."}');
      }
      return key(entry.containerID, entry.ifname);
    }),
  );
}
