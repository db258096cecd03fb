/**
 * Tests are TypeScript compiled by swc (fast, no type check: `tsc --noEmit` is the type check).
 *
 * Two projects in one run: "node" runs every test, with process-level tests spawning the
 * Node.js bundle (dist/pod-ipam.cjs); "exe" runs the process-level tests (and the spawned
 * reliability tests: chaos, mixed load, disk faults) again against the single executable
 * (dist/pod-ipam, compiled by Bun), since Bun's runtime is not Node's.
 * test/e2e/reference-plugins.test.ts covers both builds itself (it changes host-wide
 * forwarding, so it must not run twice at once) and runs in "node" only.
 */
const common = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

module.exports = {
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'node', testMatch: ['**/*.test.ts'] },
    {
      ...common,
      displayName: 'exe',
      testMatch: ['<rootDir>/test/process/**/*.test.ts', '<rootDir>/test/e2e/runtime.test.ts', '<rootDir>/test/reliability/{chaos,mixed-load,disk-faults}.test.ts'],
      setupFiles: ['<rootDir>/test/helpers/target-exe.ts'],
    },
  ],
};
