/**
 * GC: release every reservation whose attachment the runtime no longer lists as valid.
 * It keeps going past a failing entry and reports all failures at the end.
 */
import { ConfigError, CorruptStateError, StoreWriteError } from '../../core/errors';
import type { Attachment } from '../../core/attachment';
import { formatIP } from '../../core/ip';
import { findNetwork } from '../../store/network-store';
import { lockedForCall } from '../call-lock';
import { isObject } from '../json-fields';
import type { JsonObject } from '../json-fields';
import { storeOptions } from '../request';
import type { CniRequest } from '../request';

export async function gc(req: CniRequest): Promise<undefined> {
  const valid = validAttachments(req.conf.raw);
  const state = findNetwork(storeOptions(req));
  if (!state) return undefined;
  const isValid = (a: Attachment): boolean => valid.has(key(a.containerId, a.ifname));
  // Unlinks only under the lock (no fsync there: GC over thousands of reservations holds
  // the lock for milliseconds); one fsync per directory afterwards.
  const { corrupt, failures, released } = await lockedForCall(req, state, () => {
    const corrupt: string[] = [];
    const all = state.reservations((e) => corrupt.push(e.message));
    const { released, failures } = state.releaseAll(all.filter((r) => !isValid(r.owner)), all);
    const gone = new Set(released);
    try {
      state.sweep(all.filter((r) => !gone.has(r)), isValid);
    } catch (e) {
      failures.push(`cleanup: ${e instanceof Error ? e.message : String(e)}`);
    }
    return { corrupt, failures, released };
  });
  if (released.length > 0) {
    state.syncAddresses();
    state.syncIndex();
  }
  // Only what is durable is reported; the audit line caps a long list and counts the rest.
  req.audit.note({ released: released.map((r) => formatIP(r.ip)) });
  req.logger.debug(`GC released ${released.length} address(es)`);
  if (corrupt.length > 0) throw new CorruptStateError(`GC skipped ${corrupt.length} corrupt reservation file(s) and released the rest`, summarize([...corrupt, ...failures]));
  if (failures.length > 0) throw new StoreWriteError(`GC could not release ${failures.length} address(es)`, summarize(failures));
  return undefined;
}

/** The first few problems and a count: an error JSON stays short however many failed. */
const summarize = (problems: readonly string[]): string =>
  problems.length <= 5 ? problems.join('; ') : `${problems.slice(0, 5).join('; ')}; and ${problems.length - 5} more`;

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
