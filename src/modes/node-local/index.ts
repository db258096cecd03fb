/**
 * node-local: the node's ranges are given in the config, exactly as the reference
 * host-local plugin reads them: `ranges` (a list of range sets), the legacy single range
 * at the top of `ipam` (prepended, as host-local does), and `runtimeConfig.ipRanges`,
 * which replaces the configured ranges when the runtime passes it.
 */
import { ConfigError } from '../../core/errors';
import { canonicalizeRangeSets, validateRangeSets } from '../../core/range-set';
import type { RangeSet } from '../../core/range-set';
import { canonicalizeRange } from '../../core/range';
import type { RawRange } from '../../core/range';
import type { IpamMode, ModeFactory } from '../mode';

export const createNodeLocalMode: ModeFactory = (ipam, ctx): IpamMode => {
  const sets = nodeLocalRangeSets(ipam, ctx.runtimeConfig);
  return { rangeSets: async () => sets };
};

/** @throws ConfigError with the JSON path of the bad field. */
export function nodeLocalRangeSets(ipam: Readonly<Record<string, unknown>>, runtimeConfig: Readonly<Record<string, unknown>>): RangeSet[] {
  const runtimeRanges = runtimeConfig.ipRanges;
  if (Array.isArray(runtimeRanges) && runtimeRanges.length > 0) {
    return canonicalizeRangeSets(runtimeRanges as RawRange[][], 'runtimeConfig.ipRanges');
  }
  if (runtimeRanges !== undefined && !Array.isArray(runtimeRanges)) throw new ConfigError('runtimeConfig.ipRanges', 'must be a list of range sets');
  const configured = ipam.ranges ?? [];
  if (!Array.isArray(configured)) throw new ConfigError('ipam.ranges', 'must be a list of range sets, e.g. [[{"subnet": "10.1.2.0/24"}]]');
  if (ipam.subnet === undefined && ['rangeStart', 'rangeEnd', 'gateway'].some((k) => ipam[k] !== undefined)) {
    throw new ConfigError('ipam.subnet', 'is required when rangeStart, rangeEnd or gateway is set at the top of ipam');
  }
  const legacy: RangeSet[] = ipam.subnet === undefined ? [] : [[canonicalizeRange(ipam, 'ipam')]];
  const sets = [...legacy, ...canonicalizeRangeSets(configured as RawRange[][], 'ipam.ranges')];
  if (sets.length === 0) throw new ConfigError('ipam.ranges', 'no ranges configured: set ipam.ranges (e.g. [[{"subnet": "10.1.2.0/24"}]]) or ipam.subnet');
  validateRangeSets(sets, 'ipam.ranges');
  return sets;
}
