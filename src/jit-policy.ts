/**
 * The executable starts with JavaScriptCore's JIT tier-up thresholds scaled up a
 * thousandfold (`--compile-jit-policy`, scripts/build.mjs): a CNI call runs for tens of
 * milliseconds, its code runs a handful of times, and compiling it (plus starting the JIT
 * worker threads that do so) cost more than interpreting it, most visibly when a node
 * starts a hundred pods at once (BENCHMARKS.md, "Start-up cuts and the lock holder's priority").
 *
 * The operator CLI may run for hours (`install --watch`, `log --follow`) or over large
 * states, so it restores the normal policy before it starts. Under Node.js (the bundle,
 * jest) there is no such policy and this does nothing.
 */
export function useNormalJitPolicy(): void {
  const bun = (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun;
  bun?.unsafe?.setJITPolicy?.(1);
}
