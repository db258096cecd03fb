/**
 * node-local: the node's ranges are given in the config, exactly as the reference
 * host-local plugin reads them: `ranges` (a list of range sets), the legacy single range
 * at the top of `ipam` (prepended, as host-local does), and `runtimeConfig.ipRanges`,
 * which host-local prepends to the configured ranges (LoadIPAMConfig), so we do too.
 */
import { ConfigError } from '../../core/errors';
import { attempt, report } from '../../core/config-issues';
import type { ConfigIssues } from '../../core/config-issues';
import { canonicalizePlaced, checkRangeSets, unplace } from '../../core/range-set';
import type { PlacedRange, RangeSet } from '../../core/range-set';
import { canonicalizeRange } from '../../core/range';
import type { RawRange } from '../../core/range';
import type { IpamMode, ModeFactory } from '../mode';

export const createNodeLocalMode: ModeFactory = (ipam, ctx): IpamMode => {
  const sets = nodeLocalRangeSets(ipam, ctx.runtimeConfig, ctx.issues);
  return { rangeSets: async () => sets };
};

/**
 * @param issues collect every problem (pod-ipam validate) instead of throwing the first.
 * @throws ConfigError with the JSON path of the bad field.
 */
export function nodeLocalRangeSets(ipam: Readonly<Record<string, unknown>>, runtimeConfig: Readonly<Record<string, unknown>>, issues?: ConfigIssues): RangeSet[] {
  let runtimeRanges = runtimeConfig.ipRanges ?? [];
  if (!Array.isArray(runtimeRanges)) {
    report(issues, new ConfigError('runtimeConfig.ipRanges', 'must be a list of range sets'));
    runtimeRanges = [];
  }
  let configured = ipam.ranges ?? [];
  if (!Array.isArray(configured)) {
    report(issues, new ConfigError('ipam.ranges', 'must be a list of range sets, e.g. [[{"subnet": "10.1.2.0/24"}]]'));
    configured = [];
  }
  if (ipam.subnet === undefined && ['rangeStart', 'rangeEnd', 'gateway'].some((k) => ipam[k] !== undefined)) {
    report(issues, new ConfigError('ipam.subnet', 'is required when rangeStart, rangeEnd or gateway is set at the top of ipam'));
  }
  const legacy: PlacedRange[][] = ipam.subnet === undefined ? [] : attempt(issues, () => [[{ range: canonicalizeRange(ipam, 'ipam'), where: 'ipam' }]], []);
  const fromRuntime = canonicalizePlaced(runtimeRanges as RawRange[][], 'runtimeConfig.ipRanges', issues);
  const placed = [...fromRuntime, ...legacy, ...canonicalizePlaced(configured as RawRange[][], 'ipam.ranges', issues)];
  if (placed.length === 0 && (ipam.subnet === undefined || !issues)) {
    report(issues, new ConfigError('ipam.ranges', 'no ranges configured: set ipam.ranges (e.g. [[{"subnet": "10.1.2.0/24"}]]) or ipam.subnet'));
  }
  checkRangeSets(placed, issues);
  return unplace(placed);
}
