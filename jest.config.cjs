/**
 * Tests are TypeScript compiled by swc (fast, no type check: `tsc --noEmit` is the type check).
 *
 * Process-level tests (test/process, test/reliability, test/e2e, test/cli, the modes'
 * plugin tests) spawn the single executable dist/pod-ipam, the plugin, exactly as a
 * runtime does. Tests that run src/ inside the jest process (core, protocol, store) run
 * under Node.js, which cannot reach flock(2) (it is called through bun:ffi): for them
 * src/store/flock.ts is replaced by an in-process lock with the same contract
 * (test/helpers/in-process-flock.ts says why).
 */
module.exports = {
  testTimeout: 60000,
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  moduleNameMapper: {
    '^\\./flock$': '<rootDir>/test/helpers/in-process-flock.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
};
