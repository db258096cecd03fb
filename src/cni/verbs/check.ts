/** CHECK: every address of prevResult must be reserved for this attachment. */
import { CheckFailedError, ConfigError, UnknownContainerError } from '../../core/errors';
import { formatIP, parseCidr, sameIP } from '../../core/ip';
import type { IP } from '../../core/ip';
import { describeAttachment } from '../../core/attachment';
import { findNetwork } from '../../store/network-store';
import { isObject } from '../json-fields';
import { attachmentOf, storeOptions } from '../request';
import type { CniRequest } from '../request';

export async function check(req: CniRequest): Promise<undefined> {
  const expected = prevResultIPs(req.conf.prevResult);
  const attachment = attachmentOf(req);
  const who = describeAttachment(attachment);
  // No lock and no write: every change to the state is one atomic rename, link or unlink,
  // so a reader sees a consistent file; CHECK works on a read-only file system.
  const held = findNetwork(storeOptions(req))?.held(attachment);
  if (!held?.indexed) throw new UnknownContainerError(`${who} holds no address on network ${req.conf.name}`, 'ADD was never run for it, or DEL or GC released it');
  for (const ip of expected) {
    if (!held.ips.some((h) => sameIP(h, ip))) {
      throw new CheckFailedError(`${formatIP(ip)} from prevResult is not reserved for ${who}`, `it holds: ${held.ips.map(formatIP).join(', ') || 'nothing'}`);
    }
  }
  return undefined;
}

/** @throws ConfigError when prevResult is missing or malformed. */
function prevResultIPs(prevResult: unknown): IP[] {
  if (!isObject(prevResult)) throw new ConfigError('prevResult', 'CHECK needs prevResult (the result of ADD)');
  const ips = prevResult.ips;
  if (!Array.isArray(ips)) throw new ConfigError('prevResult.ips', 'must be a list');
  return ips.map((entry, i) => {
    const parsed = isObject(entry) && typeof entry.address === 'string' ? parseCidr(entry.address) : undefined;
    if (!parsed) throw new ConfigError(`prevResult.ips[${i}].address`, 'must be an address with prefix such as "10.1.2.3/24"');
    return parsed.ip;
  });
}
