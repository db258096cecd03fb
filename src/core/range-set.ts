/**
 * A range set: ranges of one family from which exactly one address is handed out per
 * attachment. `[[v4...], [v6...]]` is dual-stack.
 */
import { ConfigError } from './errors';
import { canonicalizeRange, describeRange, rangeContains, rangesOverlap } from './range';
import type { RawRange, Range } from './range';
import type { Family, IP } from './ip';

export type RangeSet = readonly Range[];

export const rangeSetFamily = (set: RangeSet): Family => (set[0]?.subnet.family ?? 4);

/**
 * Canonicalizes every range and checks the sets against each other.
 * @throws ConfigError when a range is invalid, a set is empty or mixes families, or ranges overlap.
 */
export function canonicalizeRangeSets(raw: readonly (readonly RawRange[])[], path: string): RangeSet[] {
  const sets = raw.map((rawSet, i) => {
    if (!Array.isArray(rawSet) || rawSet.length === 0) throw new ConfigError(`${path}[${i}]`, 'a range set must be a non-empty list of ranges');
    return rawSet.map((r, j) => {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new ConfigError(`${path}[${i}][${j}]`, 'a range must be an object with a "subnet"');
      return canonicalizeRange(r, `${path}[${i}][${j}]`);
    });
  });
  validateRangeSets(sets, path);
  return sets;
}

/** @throws ConfigError on mixed families inside a set or any overlap between ranges. */
export function validateRangeSets(sets: readonly RangeSet[], path: string): void {
  const all: { range: Range; where: string }[] = [];
  sets.forEach((set, i) => {
    const family = rangeSetFamily(set);
    set.forEach((range, j) => {
      const where = `${path}[${i}][${j}]`;
      if (range.subnet.family !== family) throw new ConfigError(where, `range set ${i} mixes IPv4 and IPv6; put each family in its own range set`);
      const clash = all.find((other) => rangesOverlap(other.range, range));
      if (clash) throw new ConfigError(where, `${describeRange(range)} overlaps ${clash.where} ${describeRange(clash.range)}`);
      all.push({ range, where });
    });
  });
}

/** The range of the set that holds `ip`, if any. */
export const rangeOf = (set: RangeSet, ip: IP): Range | undefined => set.find((r) => rangeContains(r, ip));
