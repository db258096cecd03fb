/**
 * Waits for something another process does, by polling every 10 ms. It has no bound of its
 * own: a bound would be a wall-time assertion that a loaded machine can fail. The test's
 * timeout (jest.config.cjs) ends a wait for something that never happens.
 */
export async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}
