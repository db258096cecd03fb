import * as fs from 'node:fs';
import { ConfigError, TryAgainError } from '../../../src/core/errors';
import { getJson } from '../../../src/modes/kubernetes/api-client';
import { inClusterConnection } from '../../../src/modes/kubernetes/connection';
import type { Connection } from '../../../src/modes/kubernetes/connection';
import { kubeconfigConnection as fromKubeconfig } from '../../../src/modes/kubernetes/kubeconfig-connection';
import { SA_USER, TOKEN, startKubeFixture } from './kube-fixture';
import type { KubeFixture } from './kube-fixture';

const kubeconfigConnection = (file: string): Connection => fromKubeconfig(file, { env: {} });

let fx: KubeFixture;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-a', ['10.244.1.0/24']);
});
afterAll(() => fx.close());
beforeEach(() => {
  fx.server.requests.length = 0;
  fx.server.delayMs = 0;
  fx.server.garbage = false;
  fx.server.permissions.clear();
});

const opts = { timeoutMs: 2000, permission: 'get on nodes' };
const getNode = (conn: Connection): Promise<Record<string, unknown>> => getJson(conn, '/api/v1/nodes/node-a', opts);
const failure = async (p: Promise<unknown>): Promise<Error> => p.then(() => { throw new Error('expected a failure'); }, (e: Error) => e);

describe('connection forms', () => {
  test('in-cluster: service account token and CA from the (overridable) directory', async () => {
    const conn = inClusterConnection(fx.inClusterEnv());
    expect(conn.server).toBe(fx.server.url);
    expect(conn.token).toBe(TOKEN);
    await expect(getNode(conn)).resolves.toMatchObject({ kind: 'Node' });
    expect(fx.server.requests).toEqual([{ method: 'GET', path: '/api/v1/nodes/node-a', user: SA_USER }]);
  });

  test('in-cluster: an IPv6 service host is bracketed', () => {
    expect(inClusterConnection({ ...fx.inClusterEnv(), KUBERNETES_SERVICE_HOST: 'fd00::1' }).server).toBe(`https://[fd00::1]:${fx.server.port}`);
  });

  test('in-cluster without KUBERNETES_SERVICE_HOST asks for a kubeconfig', () => {
    expect(() => inClusterConnection({})).toThrow(/ipam\.kubeconfig: is required when KUBERNETES_SERVICE_HOST/);
  });

  test('in-cluster with a missing token file is a ConfigError naming the file', () => {
    const env = { ...fx.inClusterEnv(), POD_IPAM_SERVICEACCOUNT_DIR: `${fx.dir}/nowhere` };
    expect(() => inClusterConnection(env)).toThrow(ConfigError);
    expect(() => inClusterConnection(env)).toThrow(/nowhere\/token: no such file/);
  });

  test.each([
    ['inline token, CA file', () => fx.kubeconfig({ token: TOKEN }), SA_USER],
    ['token file, CA data', () => fx.kubeconfig({ tokenFile: `${fx.saDir}/token` }, { 'certificate-authority-data': fs.readFileSync(fx.pki.caFile).toString('base64') }), SA_USER],
    ['client certificate and key files', () => fx.kubeconfig({ 'client-certificate': fx.pki.clientCertFile, 'client-key': fx.pki.clientKeyFile }), 'system:serviceaccount:kube-system:pod-ipam-cert'],
    [
      'client certificate and key data',
      () => fx.kubeconfig({ 'client-certificate-data': fs.readFileSync(fx.pki.clientCertFile).toString('base64'), 'client-key-data': fs.readFileSync(fx.pki.clientKeyFile).toString('base64') }),
      'system:serviceaccount:kube-system:pod-ipam-cert',
    ],
  ])('kubeconfig with %s', async (_name, write, user) => {
    await expect(getNode(kubeconfigConnection(write()))).resolves.toMatchObject({ kind: 'Node' });
    expect(fx.server.requests.map((r) => r.user)).toEqual([user]);
  });

  test('relative paths in a kubeconfig are relative to its directory', async () => {
    fs.copyFileSync(fx.pki.caFile, `${fx.dir}/rel-ca.crt`);
    const conn = kubeconfigConnection(fx.kubeconfig({ token: TOKEN }, { 'certificate-authority': 'rel-ca.crt' }));
    await expect(getNode(conn)).resolves.toMatchObject({ kind: 'Node' });
  });

  test.each([
    ['insecure-skip-tls-verify', { token: TOKEN }, { 'certificate-authority': '/x', 'insecure-skip-tls-verify': 'true' }, /always verifies TLS/],
    ['an exec entry that is not a mapping', { exec: 'x' }, undefined, /user "pod-ipam" "exec" must be a mapping/],
    ['an auth-provider', { 'auth-provider': 'x' }, undefined, /uses "auth-provider", which pod-ipam does not support/],
    ['a certificate without its key', { 'client-certificate': '/x' }, undefined, /needs both client-certificate and client-key/],
    ['CA data that is not PEM', { token: TOKEN }, { 'certificate-authority-data': 'aGVsbG8=' }, /does not decode to PEM/],
    ['a missing CA file', { token: TOKEN }, { 'certificate-authority': '/does/not/exist' }, /cannot read cluster "test" certificate-authority \/does\/not\/exist/],
  ])('kubeconfig with %s is a ConfigError', (_name, user, cluster, message) => {
    const file = fx.kubeconfig(user as Record<string, string>, cluster as Record<string, string> | undefined);
    // the YAML writer quotes every value: turn "true" back into a boolean for the skip-verify case
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('"true"', 'true'));
    const error = (() => { try { kubeconfigConnection(file); } catch (e) { return e; } return undefined; })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(message);
  });

  test('a kubeconfig whose current context is missing names it', () => {
    const file = fx.kubeconfig({ token: TOKEN });
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('current-context: test', 'current-context: gone'));
    expect(() => kubeconfigConnection(file)).toThrow(/no context named "gone"/);
  });

  test('a kubeconfig that is not YAML is a ConfigError, not a crash', () => {
    fs.writeFileSync(`${fx.dir}/garbage`, 'clusters:\n  - : : :\n\t\u0000');
    expect(() => kubeconfigConnection(`${fx.dir}/garbage`)).toThrow(ConfigError);
  });
});

describe('failures become TryAgainError naming the server', () => {
  const tokenConn = (): Connection => kubeconfigConnection(fx.kubeconfig({ token: TOKEN }));

  test('a wrong CA is refused (TLS is always verified)', async () => {
    const conn = kubeconfigConnection(fx.kubeconfig({ token: TOKEN }, { 'certificate-authority': fx.pki.otherCaFile }));
    const e = await failure(getNode(conn));
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toMatch(new RegExp(`TLS verification of the API server at ${fx.server.url} failed`));
    expect(fx.server.requests).toHaveLength(0);
  });

  test('no CA at all means the system trust store, which does not know the test CA', async () => {
    const file = fx.kubeconfig({ token: TOKEN }, {});
    const e = await failure(getNode(kubeconfigConnection(file)));
    expect(e.message).toMatch(/TLS verification/);
  });

  test('401 names the credentials source', async () => {
    const conn = { ...tokenConn(), token: 'wrong' };
    const e = await failure(getNode(conn));
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toMatch(/rejected pod-ipam's credentials \(401 Unauthorized\): the token or client certificate from kubeconfig/);
  });

  test('403 names the missing permission and quotes the server', async () => {
    fx.server.permissions.set(SA_USER, new Set(['pods']));
    const e = await failure(getNode(tokenConn()));
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toMatch(/refused "get on nodes" \(403 Forbidden\).*cannot get resource "nodes"/);
  });

  test('a slow server times out', async () => {
    fx.server.delayMs = 60_000; // far past the client timeout, whatever the load
    const e = await failure(getJson(tokenConn(), '/api/v1/nodes/node-a', { ...opts, timeoutMs: 100 }));
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toMatch(/did not answer GET \/api\/v1\/nodes\/node-a within 100 ms/);
  });

  test('a body that is not JSON', async () => {
    fx.server.garbage = true;
    const e = await failure(getNode(tokenConn()));
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toMatch(/not a JSON object/);
  });

  test('nothing listening', async () => {
    const conn = { ...tokenConn(), server: 'https://127.0.0.1:1' };
    const e = await failure(getNode(conn));
    expect(e).toBeInstanceOf(TryAgainError);
    expect(e.message).toBe('cannot reach the Kubernetes API server at https://127.0.0.1:1: ECONNREFUSED');
  });
});
