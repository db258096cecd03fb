/**
 * Kubeconfig files shaped like the ones clusters hand out (kubeadm's admin.conf, kind,
 * k3s, minikube with extensions, gcloud and EKS with exec users) and hand-edited ones
 * (flow style, comments, escapes, two documents) are read and reach the stand-in API
 * server (test/helpers/fake-kube-apiserver.ts: no real kube-apiserver runs here) with
 * the credential they name. Only the values (server, keys, token, command) are replaced
 * by the test's; the structure is as those tools write it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getJson } from '../../../src/modes/kubernetes/api-client';
import { kubeconfigConnection } from '../../../src/modes/kubernetes/kubeconfig-connection';
import { makeExecPlugin, execCredential, V1BETA1 } from './exec-plugin-fixture';
import { SA_USER, TOKEN, startKubeFixture } from './kube-fixture';
import type { KubeFixture } from './kube-fixture';

const SHAPES = path.join(__dirname, 'kubeconfigs');
const EXEC_TOKEN = 'exec-token-1';
let fx: KubeFixture;
let plugin: ReturnType<typeof makeExecPlugin>;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-a', ['10.244.1.0/24']);
  fx.server.tokens.set(EXEC_TOKEN, 'exec-user');
  plugin = makeExecPlugin(path.join(fx.dir, 'plugin'));
  plugin.respond(execCredential(V1BETA1, { token: EXEC_TOKEN, expirationTimestamp: '2999-01-01T00:00:00Z' }));
});
afterAll(() => fx.close());
beforeEach(() => {
  fx.server.requests.length = 0;
});

/** The shape with the test's server, CA, client certificate, token and plugin filled in. */
function install(name: string): string {
  const b64 = (file: string): string => fs.readFileSync(file).toString('base64');
  const text = fs
    .readFileSync(path.join(SHAPES, name), 'utf8')
    .replaceAll('@SERVER@', fx.server.url)
    .replaceAll('@CA_DATA@', b64(fx.pki.caFile))
    .replaceAll('@CA_FILE@', fx.pki.caFile)
    .replaceAll('@CERT_DATA@', b64(fx.pki.clientCertFile))
    .replaceAll('@KEY_DATA@', b64(fx.pki.clientKeyFile))
    .replaceAll('@CERT_FILE@', fx.pki.clientCertFile)
    .replaceAll('@KEY_FILE@', fx.pki.clientKeyFile)
    .replaceAll('@TOKEN@', TOKEN)
    .replaceAll('@EXEC@', plugin.command);
  const file = path.join(fx.dir, `installed-${name}`);
  fs.writeFileSync(file, text);
  return file;
}

const whoAmI = async (file: string): Promise<string | undefined> => {
  const conn = kubeconfigConnection(file, { env: { PATH: process.env.PATH ?? '' } });
  await getJson(conn, '/api/v1/nodes/node-a', { timeoutMs: 5000, permission: 'get on nodes' });
  return fx.server.requests.at(-1)?.user;
};

test.each([
  ['kubeadm-admin.conf', 'client certificate data'],
  ['kind.yaml', 'client certificate data'],
  ['k3s.yaml', 'client certificate data'],
  ['minikube.yaml', 'client certificate files, extensions'],
])('%s (%s) reaches the server as the certificate user', async (name) => {
  expect(await whoAmI(install(name))).toBe(fx.pki.clientUser);
});

test('gcloud: a token user beside an exec user with a folded installHint', async () => {
  expect(await whoAmI(install('gcloud-token-user.yaml'))).toBe(SA_USER);
});

test('hand-edited: flow style, a comment after a plain name, an escape, the first document only', async () => {
  expect(await whoAmI(install('hand-edited.yaml'))).toBe(SA_USER);
});

test('gcloud exec user: the plugin runs with the cluster info it asked for', async () => {
  expect(await whoAmI(install('gcloud-exec.yaml'))).toBe('exec-user');
  expect(plugin.lastExecInfo()).toEqual({
    kind: 'ExecCredential',
    apiVersion: V1BETA1,
    spec: { interactive: false, cluster: { server: fx.server.url, 'certificate-authority-data': fs.readFileSync(fx.pki.caFile).toString('base64') } },
  });
});

test('EKS exec user: the plugin gets its arguments and env, and no cluster info', async () => {
  expect(await whoAmI(install('eks.yaml'))).toBe('exec-user');
  expect(plugin.calls().at(-1)).toBe('--region us-west-2 eks get-token --cluster-name prod --output json');
  expect(plugin.lastEnv()['AWS_PROFILE']).toBe('prod-admin');
  expect(plugin.lastExecInfo()).toEqual({ kind: 'ExecCredential', apiVersion: V1BETA1, spec: { interactive: false } });
});
