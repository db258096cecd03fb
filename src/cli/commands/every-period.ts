/**
 * The installer's periodic loops (--watch's rounds, --reconcile-every, the heartbeat
 * keeper) in one shape: run, wait a period, run again, until SIGTERM or SIGINT aborts
 * `stop`. A run that fails is handed to `failed` (each loop reports it on stderr) and the
 * next period tries again: nothing but `stop` ends a loop. The wait ends at once on
 * `stop`; a run already started is finished first (each is bounded by its own timeouts).
 */

export interface EveryPeriodOptions {
  /** Wait one period before the first run (--watch: the first round ran already). */
  readonly firstAfterPeriod?: boolean;
}

/** Runs `run` every `periodMs` until `stop`; resolves once `stop` is aborted. */
export async function everyPeriod(periodMs: number, stop: AbortSignal, run: () => Promise<void>, failed: (e: Error) => void, options: EveryPeriodOptions = {}): Promise<void> {
  if (options.firstAfterPeriod) await pause(periodMs, stop);
  while (!stop.aborted) {
    try {
      await run();
    } catch (e) {
      failed(e instanceof Error ? e : new Error(String(e)));
    }
    await pause(periodMs, stop);
  }
}

/** Resolves after `ms`, or as soon as `stop` is aborted; leaves no listener behind on `stop`. */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  if (stop.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done, { once: true });
  });
}
