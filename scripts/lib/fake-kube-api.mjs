// Starts the tests' stand-in Kubernetes API server (test/helpers/fake-kube-apiserver.ts)
// with the cluster-pool kubernetes store's resources (test/helpers/fake-kube-claims.ts)
// from a plain-JS script: the helpers are TypeScript, so they are bundled with esbuild
// into `workDir` first. The same code the tests run; no real kube-apiserver is involved.
//
//   const kube = await startFakeKubeApi(workDir);   // in this process
//   const kube = await spawnFakeKubeApi(workDir);   // in a process of its own (a benchmark
//                                                   // must not serve it from the event loop
//                                                   // that also runs 200 plugin processes)
//   kube.store()   // a node's "clusterStore" object (kubeconfig with a token, the test CA)
//   kube.config()  // the same for openClusterStore
//   await kube.close();
//
//   node scripts/lib/fake-kube-api.mjs serve WORKDIR   prints {"kubeconfig": ...} on one
//                                                      line, serves until stdin closes
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const self = new URL(import.meta.url).pathname;
const root = path.resolve(path.dirname(self), '..', '..');

export async function startFakeKubeApi(workDir) {
  const entry = path.join(workDir, 'fake-kube-entry.ts');
  const bundle = path.join(workDir, 'fake-kube.cjs');
  if (!fs.existsSync(bundle)) {
    fs.writeFileSync(entry, `export { startKubeStoreBackend } from ${JSON.stringify(path.join(root, 'test/helpers/fake-kube-claims'))};\n`);
    await build({ entryPoints: [entry], outfile: bundle, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', absWorkingDir: root });
  }
  const { startKubeStoreBackend } = createRequire(import.meta.url)(bundle);
  return startKubeStoreBackend();
}

export async function spawnFakeKubeApi(workDir) {
  await startFakeKubeApi(workDir).then((k) => k.close()); // builds the bundle once, here
  const child = spawn(process.execPath, [self, 'serve', workDir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`the stand-in API server exited (${code})`)));
  });
  const { kubeconfig } = JSON.parse(line);
  return {
    kubeconfig,
    store: (extra = {}) => ({ type: 'kubernetes', kubeconfig, timeoutSeconds: 10, ...extra }),
    config: () => ({ type: 'kubernetes', kubeconfig, timeoutMs: 10000, env: {} }),
    close: () => new Promise((resolve) => {
      child.removeAllListeners('exit');
      child.on('exit', () => resolve());
      child.stdin.end();
    }),
  };
}

if (process.argv[2] === 'serve') {
  const kube = await startFakeKubeApi(process.argv[3]);
  process.stdout.write(`${JSON.stringify({ kubeconfig: kube.kubeconfig, url: kube.fx.server.url })}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    await kube.close();
    process.exit(0);
  });
}
