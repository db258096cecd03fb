/**
 * Shared set-up for the kubernetes-mode tests: a fake API server with a test CA, a
 * service-account directory for the in-cluster form, and kubeconfig writers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeKubeApiServer, makeTestPki } from '../../helpers/fake-kube-apiserver';
import type { TestPki } from '../../helpers/fake-kube-apiserver';

export const TOKEN = 'sa-token-123';
export const SA_USER = 'system:serviceaccount:kube-system:pod-ipam';

export interface KubeFixture {
  readonly pki: TestPki;
  readonly server: FakeKubeApiServer;
  readonly dir: string;
  /** A service-account directory (token + ca.crt) for POD_IPAM_SERVICEACCOUNT_DIR. */
  readonly saDir: string;
  /** Env for the in-cluster form pointing at the fake server. */
  inClusterEnv(): Record<string, string>;
  /** Writes a kubeconfig with the given user entry (YAML lines under `user:`) and returns its path. */
  kubeconfig(user: Record<string, string>, cluster?: Record<string, string>): string;
  close(): Promise<void>;
}

export async function startKubeFixture(): Promise<KubeFixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-kube-'));
  const pki = makeTestPki(fs.mkdtempSync(path.join(dir, 'pki-')));
  const server = await FakeKubeApiServer.start(pki);
  server.tokens.set(TOKEN, SA_USER);
  const saDir = path.join(dir, 'serviceaccount');
  fs.mkdirSync(saDir);
  fs.writeFileSync(path.join(saDir, 'token'), `${TOKEN}\n`);
  fs.copyFileSync(pki.caFile, path.join(saDir, 'ca.crt'));
  let n = 0;
  return {
    pki,
    server,
    dir,
    saDir,
    inClusterEnv: () => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(server.port), POD_IPAM_SERVICEACCOUNT_DIR: saDir }),
    kubeconfig(user, cluster = { 'certificate-authority': pki.caFile }) {
      const file = path.join(dir, `kubeconfig-${n++}`);
      const lines = (o: Record<string, string>): string => Object.entries(o).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n');
      fs.writeFileSync(
        file,
        `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${server.url}
${lines(cluster)}
users:
- name: pod-ipam
  user:
${lines(user)}
contexts:
- name: other
  context: {"cluster": "missing", "user": "missing"}
- name: test
  context:
    cluster: test
    user: pod-ipam
current-context: test
`,
      );
      return file;
    },
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
