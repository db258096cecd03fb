/**
 * A range set: ranges of one family from which exactly one address is handed out per
 * attachment. `[[v4...], [v6...]]` is dual-stack.
 */
import { attempt, report } from './config-issues';
import type { ConfigIssues } from './config-issues';
import { ConfigError } from './errors';
import { canonicalizeRange, describeRange, rangeContains, rangesOverlap } from './range';
import type { RawRange, Range } from './range';
import type { IP } from './ip';

export type RangeSet = readonly Range[];

/**
 * Canonicalizes every range and checks the sets against each other. With `issues`, every
 * bad range and overlap is recorded (bad ranges are left out of the result) instead of
 * throwing the first.
 * @throws ConfigError when a range is invalid, a set is empty or mixes families, or ranges overlap.
 */
export function canonicalizeRangeSets(raw: readonly (readonly RawRange[])[], path: string, issues?: ConfigIssues): RangeSet[] {
  const placed = canonicalizePlaced(raw, path, issues);
  checkRangeSets(placed, issues);
  return unplace(placed);
}

/**
 * Canonicalizes each range, keeping its JSON path so that paths stay right when bad ones
 * are left out (collecting) or other sets come first (node-local's legacy range).
 * Sets are not checked against each other: that is checkRangeSets.
 */
export function canonicalizePlaced(raw: readonly (readonly RawRange[])[], path: string, issues?: ConfigIssues): PlacedRange[][] {
  return raw.map((rawSet, i): PlacedRange[] => {
    if (!Array.isArray(rawSet) || rawSet.length === 0) {
      report(issues, new ConfigError(`${path}[${i}]`, 'a range set must be a non-empty list of ranges'));
      return [];
    }
    return rawSet.flatMap((r, j): PlacedRange[] => {
      const where = `${path}[${i}][${j}]`;
      if (typeof r !== 'object' || r === null || Array.isArray(r)) {
        report(issues, new ConfigError(where, 'a range must be an object with a "subnet"'));
        return [];
      }
      return attempt(issues, () => [{ range: canonicalizeRange(r, where), where }], []);
    });
  });
}

/** The range sets without their paths; sets left empty by collected errors are dropped. */
export const unplace = (sets: readonly (readonly PlacedRange[])[]): RangeSet[] => sets.filter((set) => set.length > 0).map((set) => set.map((p) => p.range));

export interface PlacedRange {
  readonly range: Range;
  /** JSON path of the range in the config. */
  readonly where: string;
}

/** @throws ConfigError on mixed families inside a set or any overlap (with `issues`, records each). */
export function checkRangeSets(sets: readonly (readonly PlacedRange[])[], issues?: ConfigIssues): void {
  const all: PlacedRange[] = [];
  sets.forEach((set, i) => {
    const family = set[0]?.range.subnet.family;
    for (const placed of set) {
      const { range, where } = placed;
      if (range.subnet.family !== family) {
        report(issues, new ConfigError(where, `range set ${i} mixes IPv4 and IPv6; put each family in its own range set`));
        continue;
      }
      const clash = all.find((other) => rangesOverlap(other.range, range));
      if (clash) {
        report(issues, new ConfigError(where, `${describeRange(range)} overlaps ${clash.where} ${describeRange(clash.range)}`));
        continue;
      }
      all.push(placed);
    }
  });
}

/** The range of the set that holds `ip`, if any. */
export const rangeOf = (set: RangeSet, ip: IP): Range | undefined => set.find((r) => rangeContains(r, ip));
