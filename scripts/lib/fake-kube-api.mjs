// Starts the tests' stand-in Kubernetes API server (test/helpers/fake-kube-apiserver.ts)
// with the cluster-pool kubernetes store's resources (test/helpers/fake-kube-claims.ts)
// from a plain-JS script: the helpers are TypeScript, so they are bundled with esbuild
// into `workDir` first. The same code the tests run; no real kube-apiserver is involved.
//
//   const kube = await startFakeKubeApi(workDir);
//   kube.store()   // a node's "clusterStore" object (kubeconfig with a token, the test CA)
//   kube.config()  // the same for openClusterStore
//   kube.claims    // FakeKubeClaims: claims(), deleteNode(), deny(), ...
//   await kube.close();
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export async function startFakeKubeApi(workDir) {
  const entry = path.join(workDir, 'fake-kube-entry.ts');
  const bundle = path.join(workDir, 'fake-kube.cjs');
  fs.writeFileSync(entry, `export { startKubeStoreBackend } from ${JSON.stringify(path.join(root, 'test/helpers/fake-kube-claims'))};\n`);
  await build({ entryPoints: [entry], outfile: bundle, bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning', absWorkingDir: root });
  const { startKubeStoreBackend } = createRequire(import.meta.url)(bundle);
  return startKubeStoreBackend();
}
