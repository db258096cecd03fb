/**
 * Validation either stops at the first problem (the plugin: one CNI error, code 7) or
 * collects every problem (`pod-ipam validate`). The parsers take an optional collector
 * and wrap each independent part in `attempt`: without a collector it throws exactly as
 * before; with one, the part's ConfigError is recorded and a fallback value lets the
 * parse go on to the next part. So there is one validation, used both ways.
 */
import { ConfigError } from './errors';

export class ConfigIssues {
  readonly errors: ConfigError[] = [];
}

/** Runs `work`; with a collector, records its ConfigError and returns `fallback` instead of throwing. */
export function attempt<T>(issues: ConfigIssues | undefined, work: () => T, fallback: T): T {
  if (!issues) return work();
  try {
    return work();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    issues.errors.push(e);
    return fallback;
  }
}

/** Throws `error`, or records it when collecting. */
export function report(issues: ConfigIssues | undefined, error: ConfigError): void {
  if (!issues) throw error;
  issues.errors.push(error);
}
