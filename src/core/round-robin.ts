/**
 * Round-robin iteration over a range set, starting just after the last address handed
 * out. Why: a container that crash-loops must not get the same address back at once
 * (stale ARP/conntrack entries and other pods' caches would still point at the old pod),
 * so a freed address is reused only after the whole set has been cycled.
 */
import { cidrLast } from './ip';
import type { Cidr, IP } from './ip';
import type { RangeSet } from './range-set';

/**
 * Yields every address of `set` exactly once, in order, wrapping around, beginning after
 * `after` (or at the first range's start when `after` is not in the set). Addresses
 * inside `holes` are skipped in one jump, so a large excluded CIDR costs one step.
 */
export function* roundRobin(set: RangeSet, after: IP | undefined, holes: readonly Cidr[] = []): Generator<IP> {
  if (set.length === 0) return;
  const family = set[0]!.subnet.family;
  let startRange = 0;
  let startValue = set[0]!.start;
  if (after && after.family === family) {
    const i = set.findIndex((r) => after.value >= r.start && after.value <= r.end);
    if (i >= 0) {
      const r = set[i]!;
      [startRange, startValue] = after.value < r.end ? [i, after.value + 1n] : [(i + 1) % set.length, set[(i + 1) % set.length]!.start];
    }
  }
  const familyHoles = holes.filter((h) => h.family === family);
  // Visit the start range from startValue, every other range whole, then the start range's head.
  for (let k = 0; k <= set.length; k++) {
    const r = set[(startRange + k) % set.length]!;
    const from = k === 0 ? startValue : r.start;
    const to = k === set.length ? startValue - 1n : r.end;
    for (let v = from; v <= to; v++) {
      const hole = familyHoles.find((h) => v >= h.network && v <= cidrLast(h));
      if (hole) {
        v = cidrLast(hole);
        continue;
      }
      yield { family, value: v };
    }
  }
}
