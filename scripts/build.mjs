#!/usr/bin/env node
// Builds the two artifacts of pod-ipam:
// - dist/pod-ipam.cjs: one esbuild bundle (CommonJS, node20) with every dependency inside,
//   so the plugin runs with `node` alone and starts by reading one file;
// - dist/pod-ipam: the same bundle compiled by Bun into one self-contained executable, for
//   nodes without Node.js (/opt/cni/bin). A compiled Bun program starts in a fraction of
//   Node's time, and start-up is most of what a CNI call costs.
//
// Bun comes from the npm registry (devDependency `bun`; its binary is in the platform
// package `@oven/bun-<os>-<arch>`, an optional dependency). Nothing is downloaded here.
//
// Both files are written to a temp name and renamed, so a test or runtime running the
// previous build never sees a half-written file.
//
// Flags (for tests and special builds):
//   --outdir DIR         write into DIR instead of dist/
//   --no-exe             skip the executable (also: POD_IPAM_BUILD_EXE=0)
//   --instrument-loads   every bundled module records itself when it is evaluated; with
//                        POD_IPAM_REPORT_LOADS=1 the list is printed to stderr at exit
//                        (test/e2e/hot-path.test.ts uses it; never ship such a build)
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { findBun } from './lib/find-bun.mjs';
import lazyIpAddress from './lib/lazy-ip-address.cjs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const outdir = path.resolve(args.includes('--outdir') ? args[args.indexOf('--outdir') + 1] : path.join(ROOT, 'dist'));
const withExe = !flag('--no-exe') && process.env.POD_IPAM_BUILD_EXE !== '0';
const instrument = flag('--instrument-loads');

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const bundleFile = path.join(outdir, 'pod-ipam.cjs');
const exeFile = path.join(outdir, 'pod-ipam');
mkdirSync(outdir, { recursive: true });

const tmpName = (file) => path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);

/** esbuild plugin: prepends `__podIpamLoaded.push("<file>")` to every module. */
const recordLoads = {
  name: 'record-loads',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?[jt]s$/ }, (a) => {
      const rel = path.relative(ROOT, a.path).split(path.sep).join('/');
      const loader = a.path.endsWith('.ts') ? 'ts' : 'js';
      return { contents: lazyIpAddress.loadWithDeferredTables(a.path, `globalThis.__podIpamLoaded.push(${JSON.stringify(rel)});\n`), loader };
    });
  },
};
const loadReporter =
  'globalThis.__podIpamLoaded=[];process.on("exit",()=>{if(process.env.POD_IPAM_REPORT_LOADS)' +
  'require("fs").writeSync(2,"\\nPOD_IPAM_LOADED "+JSON.stringify(globalThis.__podIpamLoaded)+"\\n")});';

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ['src/main.ts'],
  outfile: bundleFile,
  write: false,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  define: { __POD_IPAM_VERSION__: JSON.stringify(pkg.version) },
  // Start-up is most of a CNI call's cost: see scripts/shims/graceful-fs.cjs.
  // Bun's FFI (flock(2), src/store/flock.ts) exists only inside the executable.
  external: ['bun:ffi'],
  alias: { 'graceful-fs': path.join(ROOT, 'scripts', 'shims', 'graceful-fs.cjs') },
  banner: { js: `#!/usr/bin/env node${instrument ? `\n${loadReporter}` : ''}` },
  // ip-address builds tables at load that the plugin's calls never read: built on first
  // use instead (scripts/lib/lazy-ip-address.cjs; recordLoads applies it too).
  plugins: instrument ? [recordLoads] : [lazyIpAddress.lazyIpAddressTables],
  logLevel: 'warning',
});
const bundleTmp = tmpName(bundleFile);
writeFileSync(bundleTmp, result.outputFiles[0].contents, { mode: 0o755 });
chmodSync(bundleTmp, 0o755);
renameSync(bundleTmp, bundleFile);

if (withExe) {
  const bun = findBun(ROOT);
  const exeTmp = tmpName(exeFile);
  try {
    execFileSync(
      bun,
      [
        'build',
        '--compile',
        // A CNI plugin must not pick up a .env or bunfig.toml from whatever directory the
        // runtime starts it in: the config comes from stdin and CNI_* only.
        '--no-compile-autoload-dotenv',
        '--no-compile-autoload-bunfig',
        // Precompiled bytecode: parsing the bundle is a large part of start-up.
        '--bytecode',
        // JIT tier-up thresholds x1000 from the start: a CNI call is over before compiling
        // its code would pay off, and without it no JIT worker thread is started (a burst
        // of 100 ADDs ~8% faster, BENCHMARKS.md). The operator CLI sets the normal policy
        // back (src/jit-policy.ts).
        '--compile-jit-policy=1000',
        '--format=cjs',
        bundleFile,
        '--outfile',
        exeTmp,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    chmodSync(exeTmp, 0o755);
    renameSync(exeTmp, exeFile);
  } finally {
    rmSync(exeTmp, { force: true });
  }
}
