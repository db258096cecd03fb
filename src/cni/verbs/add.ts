/**
 * ADD: parse, ask the core's policy (src/core/add-policy.ts) which addresses the
 * attachment gets, apply its decision through the state store, format the result. The
 * policy (reuse what the attachment holds, honour requested addresses, release before
 * claim, round-robin) lives in the core; this file only wires it to the store and mode.
 */
import { decideAddGrowing } from '../../core/add-policy';
import type { AddDecision } from '../../core/add-policy';
import { AddressNotAllowedError } from '../../core/errors';
import { formatIP, parseIPWithOptionalPrefix } from '../../core/ip';
import type { IP } from '../../core/ip';
import { rangeOf } from '../../core/range-set';
import type { RangeSet } from '../../core/range-set';
import { loadMode } from '../../modes';
import { podIdentity } from '../../core/pod';
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
  let decision: AddDecision;
  let sets: RangeSet[] = [];
  try {
    ({ decision, rangeSets: sets } = await lockedForCall(req, state, async () => {
      const configured = await mode.rangeSets();
      const requested = explicit.length > 0 ? explicit : ((await mode.requestedAddresses?.()) ?? []).map(parseModeAddress);
      const held = claim.held();
      const input = { attachment, rangeSets: configured, requested, held: held.ips, stale: held.stale, exclude: req.common.exclude };
      const decided = await decideAddGrowing(input, state, mode.grow?.bind(mode));
      if (decided.decision.claim.length === 0 && decided.decision.release.length === 0 && held.stale.length === 0) {
        req.logger.debug(`ADD ${attachment.containerId}/${attachment.ifname}: already holds its addresses`);
      } else {
        claim.take(decided.decision.claim, decided.decision.release);
        state.moveCursor(decided.decision.cursor, (m) => req.logger.warn(m));
      }
      return decided;
    }));
  } catch (e) {
    claim.abandon();
    throw e;
  }
  claim.finish(decision.ips, (m) => req.logger.warn(m));
  req.audit.note({ reserved: decision.claim.map(formatIP), released: decision.release.map(formatIP) });
  recordNetwork(state.dir, req.common.mode, sets, req.common.exclude, (m) => req.logger.debug(m));
  const allocated = decision.ips.map((ip, i) => ({ ip, range: rangeOf(sets[i]!, ip)! }));
  return formatResult(req.version, allocated, req.common.routes, dns);
}

/** Mode-requested addresses (a pod annotation) arrive as text. */
function parseModeAddress(text: string): IP {
  const ip = parseIPWithOptionalPrefix(text);
  if (!ip) throw new AddressNotAllowedError(`requested address ${JSON.stringify(text)} is not an IP address`);
  return ip;
}
