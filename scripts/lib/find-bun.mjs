// The Bun binary of the project's devDependency `bun`, for compiling executables.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

/**
 * The Bun binary to compile with. Bun's postinstall moves the platform binary over the
 * placeholder node_modules/bun/bin/bun.exe; when install scripts did not run (npm's
 * --ignore-scripts, or npm holding back scripts it was not told to allow) the binary is
 * still in the platform package. Either works; neither needs a download.
 */
export function findBun(root) {
  if (process.env.POD_IPAM_BUN) return process.env.POD_IPAM_BUN;
  const require = createRequire(path.join(root, 'package.json'));
  const os = { linux: 'linux', darwin: 'darwin', freebsd: 'freebsd', win32: 'windows' }[process.platform] ?? process.platform;
  const arch = { x64: 'x64', arm64: 'aarch64' }[process.arch] ?? process.arch;
  const musl = process.platform === 'linux' && !process.report?.getReport().header.glibcVersionRuntime;
  const exe = process.platform === 'win32' ? 'bun.exe' : 'bun';
  const candidates = [];
  for (const name of [`@oven/bun-${os}-${arch}${musl ? '-musl' : ''}`, `@oven/bun-${os}-${arch}-baseline`]) {
    try {
      candidates.push(path.join(path.dirname(require.resolve(`${name}/package.json`)), 'bin', exe));
    } catch {
      // not installed for this platform
    }
  }
  try {
    candidates.push(path.join(path.dirname(require.resolve('bun/package.json')), 'bin', 'bun.exe'));
  } catch {
    // bun not installed at all
  }
  // The placeholder is a few hundred bytes; the real binary is tens of megabytes.
  const found = candidates.find((c) => existsSync(c) && statSync(c).size > 1_000_000);
  if (!found) {
    console.error(
      'build: no Bun binary found to compile dist/pod-ipam (looked at:\n  ' +
        candidates.join('\n  ') +
        ')\nRun `npm ci` (it installs the devDependency `bun` and its platform package), ' +
        'set POD_IPAM_BUN to a Bun binary, or build only the Node.js bundle with --no-exe.',
    );
    process.exit(1);
  }
  return found;
}
