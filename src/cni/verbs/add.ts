/**
 * ADD: reserve one address per range set for the attachment. A repeated ADD for the same
 * attachment answers with the addresses it already holds (runtimes retry), and one that
 * follows a crash mid-ADD gets the addresses its index recorded back when they are free.
 */
import { allocate } from '../../core/allocator';
import type { AllocationView } from '../../core/allocator';
import { AddressNotAllowedError, RangeExhaustedError } from '../../core/errors';
import { cidrContains, formatIP, parseIPWithOptionalPrefix, sameIP } from '../../core/ip';
import type { Cidr, IP } from '../../core/ip';
import { sameAttachment } from '../../core/attachment';
import type { Attachment } from '../../core/attachment';
import { rangeOf } from '../../core/range-set';
import type { RangeSet } from '../../core/range-set';
import { loadMode } from '../../modes';
import type { IpamMode } from '../../modes/mode';
import { podIdentity } from '../../core/pod';
import type { Range } from '../../core/range';
import { AddClaim } from '../../store/add-claim';
import { recordNetwork } from '../../store/network-record';
import { openNetwork } from '../../store/network-store';
import { lockedForCall } from '../call-lock';
import { requestedIPs } from '../requested-ips';
import { readResolvConf } from '../resolv-conf';
import { formatResult } from '../result';
import { attachmentOf, modeContext, storeOptions } from '../request';
import type { CniRequest } from '../request';

export async function add(req: CniRequest): Promise<Record<string, unknown>> {
  const attachment = attachmentOf(req);
  const explicit = requestedIPs(req.conf, req.env.args);
  const dns = req.common.resolvConf ? readResolvConf(req.common.resolvConf) : undefined;
  const mode = (await loadMode(req.common.mode))(req.conf.ipam, modeContext(req));
  const state = openNetwork(storeOptions(req));
  const claim = AddClaim.prepare(state, attachment, podIdentity(req.env.args));
  let allocated: { ip: IP; range: Range }[];
  let sets: RangeSet[] = [];
  let changed: { reserved: IP[]; released: IP[] } | undefined;
  try {
    allocated = await lockedForCall(req, state, async () => {
      sets = await mode.rangeSets();
      const requested = explicit.length > 0 ? explicit : ((await mode.requestedAddresses?.()) ?? []).map(parseModeAddress);
      const held = claim.held();
      const preferred = requested.length > 0 ? requested : reusable([...held.ips, ...held.stale], sets, req.common.exclude, attachment, state);
      for (;;) {
        try {
          const ips = allocate({ attachment, rangeSets: sets, requested: preferred, exclude: req.common.exclude }, state);
          const fresh = ips.filter((ip) => !held.ips.some((h) => sameIP(h, ip)));
          if (fresh.length === 0 && held.stale.length === 0 && ips.length === held.ips.length) {
            req.logger.debug(`ADD ${attachment.containerId}/${attachment.ifname}: already holds its addresses`);
          } else {
            // Release what it no longer gets first: a crash in between leaves it holding less, never a leak.
            changed = { reserved: fresh, released: held.ips.filter((old) => !ips.some((ip) => sameIP(ip, old))) };
            claim.take(changed.reserved, changed.released);
            const dynamic = ips.flatMap((ip, index) => (preferred.some((p) => sameIP(p, ip)) ? [] : [{ index, set: sets[index]!, ip }]));
            state.moveCursor(dynamic, (m) => req.logger.warn(m));
          }
          return ips.map((ip, i) => ({ ip, range: rangeOf(sets[i]!, ip)! }));
        } catch (e) {
          const grown = e instanceof RangeExhaustedError ? await grow(mode, e.setIndex, sets) : undefined;
          if (!grown) throw e;
          sets = grown;
        }
      }
    });
  } catch (e) {
    claim.abandon();
    throw e;
  }
  claim.finish(allocated.map((a) => a.ip), (m) => req.logger.warn(m));
  if (changed) req.audit.note({ reserved: changed.reserved.map(formatIP), released: changed.released.map(formatIP) });
  recordNetwork(state.dir, req.common.mode, sets, req.common.exclude, (m) => req.logger.debug(m));
  return formatResult(req.version, allocated, req.common.routes, dns);
}

/** Mode-requested addresses (a pod annotation) arrive as text. */
function parseModeAddress(text: string): IP {
  const ip = parseIPWithOptionalPrefix(text);
  if (!ip) throw new AddressNotAllowedError(`requested address ${JSON.stringify(text)} is not an IP address`);
  return ip;
}

async function grow(mode: IpamMode, index: number, sets: RangeSet[]): Promise<RangeSet[] | undefined> {
  const grown = mode.grow ? await mode.grow(index, sets[index]!) : undefined;
  return grown ? sets.map((s, i) => (i === index ? grown : s)) : undefined;
}

/** Addresses the attachment held (or held before a crash) that may be handed to it again. */
function reusable(candidates: readonly IP[], sets: readonly RangeSet[], exclude: readonly Cidr[], attachment: Attachment, view: AllocationView): IP[] {
  const used = new Set<number>();
  return candidates.filter((ip) => {
    const index = sets.findIndex((set) => rangeOf(set, ip));
    if (index < 0 || used.has(index)) return false;
    const range = rangeOf(sets[index]!, ip)!;
    const owner = view.ownerOf(ip);
    const ok = !sameIP(range.gateway, ip) && !exclude.some((c) => cidrContains(c, ip)) && (!owner || sameAttachment(owner, attachment));
    if (ok) used.add(index);
    return ok;
  });
}
