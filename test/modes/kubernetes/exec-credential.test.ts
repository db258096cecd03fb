/**
 * Exec credential plugins, with a real plugin (a /bin/sh script, exec-plugin-fixture.ts)
 * and the stand-in API server (no real kube-apiserver runs here). In process: both API
 * versions, token and client certificate, the documented environment, the expiry with
 * an injected clock. As a runtime runs pod-ipam (one process per call): the credential
 * is kept between processes until its expirationTimestamp, renewed after a 401, and a
 * failing or missing plugin is a CNI error that says what to do.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, TryAgainError } from '../../../src/core/errors';
import { getJson } from '../../../src/modes/kubernetes/api-client';
import { EXEC_CACHE_FILE } from '../../../src/modes/kubernetes/exec-credential-cache';
import { kubeconfigConnection } from '../../../src/modes/kubernetes/kubeconfig-connection';
import { runPlugin } from '../../helpers/run-plugin';
import { V1, V1BETA1, execCredential, makeExecPlugin } from './exec-plugin-fixture';
import type { ExecPlugin } from './exec-plugin-fixture';
import { startKubeFixture } from './kube-fixture';
import type { KubeFixture } from './kube-fixture';

const FUTURE = '2999-01-01T00:00:00Z';
const PAST = '2001-01-01T00:00:00Z';
let fx: KubeFixture;
let n = 0;
beforeAll(async () => {
  fx = await startKubeFixture();
  fx.server.setNode('node-a', ['10.244.7.0/24']);
});
afterAll(() => fx.close());

/** A fresh plugin and a kubeconfig whose current user runs it. */
function setUp(exec: Record<string, unknown>): { plugin: ExecPlugin; kubeconfig: string } {
  const dir = path.join(fx.dir, `exec-${n++}`);
  const plugin = makeExecPlugin(dir);
  const kubeconfig = path.join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: fx.server.url, 'certificate-authority': fx.pki.caFile } }],
    users: [{ name: 'u', user: { exec: { command: plugin.command, ...exec } } }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'x',
  };
  fs.writeFileSync(kubeconfig, JSON.stringify(config));
  return { plugin, kubeconfig };
}

const token = (user: string): string => {
  const t = `tok-${user}-${n++}`;
  fx.server.tokens.set(t, user);
  return t;
};
const env = { PATH: process.env.PATH ?? '', FROM_THE_CALLER: 'yes' };
const getNode = (conn: ReturnType<typeof kubeconfigConnection>) => getJson(conn, '/api/v1/nodes/node-a', { timeoutMs: 5000, permission: 'get on nodes' });
const lastUser = (): string | undefined => fx.server.requests.at(-1)?.user;

describe('in process', () => {
  test.each([V1, V1BETA1])('%s: a token, with the documented environment', async (apiVersion) => {
    const { plugin, kubeconfig } = setUp({ apiVersion, interactiveMode: 'Never', env: [{ name: 'FROM_KUBECONFIG', value: 'x=1' }], args: ['get-token', '--a b'] });
    plugin.respond(execCredential(apiVersion, { token: token(`exec-${apiVersion}`), expirationTimestamp: FUTURE }));
    await getNode(kubeconfigConnection(kubeconfig, { env }));
    expect(lastUser()).toBe(`exec-${apiVersion}`);
    expect(plugin.calls()).toEqual(['get-token --a b']);
    expect(plugin.lastExecInfo()).toEqual({ kind: 'ExecCredential', apiVersion, spec: { interactive: false } });
    expect(plugin.lastEnv()).toMatchObject({ FROM_THE_CALLER: 'yes', FROM_KUBECONFIG: 'x=1' });
  });

  test('a client certificate from the plugin', async () => {
    const { plugin, kubeconfig } = setUp({ apiVersion: V1, interactiveMode: 'IfAvailable' });
    plugin.respond(execCredential(V1, { clientCertificateData: fs.readFileSync(fx.pki.clientCertFile, 'utf8'), clientKeyData: fs.readFileSync(fx.pki.clientKeyFile, 'utf8') }));
    await getNode(kubeconfigConnection(kubeconfig, { env }));
    expect(lastUser()).toBe(fx.pki.clientUser);
  });

  test('kept until expirationTimestamp (injected clock), then run again', async () => {
    const { plugin, kubeconfig } = setUp({ apiVersion: V1BETA1 });
    const expiry = Date.parse('2030-06-01T12:00:00Z');
    plugin.respond(execCredential(V1BETA1, { token: token('exp'), expirationTimestamp: new Date(expiry).toISOString() }));
    for (const now of [expiry - 60_000, expiry - 1]) await getNode(kubeconfigConnection(kubeconfig, { env, now: () => now }));
    expect(plugin.calls()).toHaveLength(1);
    await getNode(kubeconfigConnection(kubeconfig, { env, now: () => expiry }));
    expect(plugin.calls()).toHaveLength(2);
  });

  test.each([
    ['an unsupported apiVersion', { apiVersion: 'client.authentication.k8s.io/v1alpha1' }, undefined, ConfigError, /exec apiVersion "client.authentication.k8s.io\/v1alpha1" is not supported/],
    ['interactiveMode Always', { apiVersion: V1, interactiveMode: 'Always' }, undefined, ConfigError, /never has a terminal/],
    ['an answer in another apiVersion', { apiVersion: V1 }, execCredential(V1BETA1, { token: 't' }), ConfigError, /expected an ExecCredential of client.authentication.k8s.io\/v1/],
    ['an answer without credentials', { apiVersion: V1 }, execCredential(V1, { expirationTimestamp: FUTURE }), ConfigError, /returned neither status.token nor clientCertificateData/],
    ['a bad expirationTimestamp', { apiVersion: V1 }, execCredential(V1, { token: 't', expirationTimestamp: 'soon' }), ConfigError, /not an RFC 3339 time/],
    ['output that is not JSON', { apiVersion: V1 }, 'Please log in', ConfigError, /printed something that is not JSON/],
  ])('%s is refused', (_name, exec, answer, kind, message) => {
    const { plugin, kubeconfig } = setUp(exec);
    if (typeof answer === 'string') fs.writeFileSync(path.join(path.dirname(plugin.command), 'response'), answer);
    else if (answer) plugin.respond(answer);
    const error = (() => { try { kubeconfigConnection(kubeconfig, { env }); } catch (e) { return e; } return undefined; })();
    expect(error).toBeInstanceOf(kind);
    expect((error as Error).message).toMatch(message);
  });

  test('a plugin that never answers is killed at the limit: "try again"', () => {
    const { plugin, kubeconfig } = setUp({ apiVersion: V1 });
    plugin.hang();
    let error: unknown;
    try { kubeconfigConnection(kubeconfig, { env, timeoutMs: 300 }); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(TryAgainError);
    expect((error as Error).message).toMatch(/credential-plugin.sh" did not finish within 300 ms/);
    expect(plugin.calls()).toHaveLength(1);
  });

  test('a missing plugin names its installHint; a failing one is "try again" with its stderr', () => {
    const { plugin, kubeconfig } = setUp({ apiVersion: V1, installHint: 'Install it with: apt-get install thing' });
    fs.rmSync(plugin.command);
    expect(() => kubeconfigConnection(kubeconfig, { env })).toThrow(/credential-plugin.sh" cannot be run \(not found\): Install it with: apt-get install thing/);
    const failing = setUp({ apiVersion: V1 });
    failing.plugin.fail('error: token service unavailable');
    let error: unknown;
    try { kubeconfigConnection(failing.kubeconfig, { env }); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(TryAgainError);
    expect((error as Error).message).toMatch(/failed \(exit 1\): error: token service unavailable/);
  });
});

describe('as a runtime runs the plugin', () => {
  const add = (kubeconfig: string, dataDir: string, id: string) =>
    runPlugin({
      command: 'ADD',
      containerId: id,
      env: { NODE_NAME: 'node-a' },
      // podCIDRCacheSeconds 0: every ADD reads the Node, so every process needs the credential.
      stdin: { cniVersion: '1.1.0', name: 'execnet', ipam: { type: 'pod-ipam', mode: 'kubernetes', kubeconfig, dataDir, podCIDRCacheSeconds: 0 } },
    });

  test('one plugin run per credential lifetime; expired or refused credentials are renewed', async () => {
    const { plugin, kubeconfig } = setUp({ apiVersion: V1, interactiveMode: 'Never' });
    const dataDir = path.join(path.dirname(kubeconfig), 'data');
    const ok = async (id: string): Promise<void> => {
      const out = await add(kubeconfig, dataDir, id);
      expect({ code: out.code, stdout: out.stdout, stderr: out.stderr }).toMatchObject({ code: 0, stderr: '' });
    };
    // Already expired when handed out: every process runs the plugin.
    plugin.respond(execCredential(V1, { token: token('exec-proc'), expirationTimestamp: PAST }));
    await ok('p1');
    await ok('p2');
    expect(plugin.calls()).toHaveLength(2);
    // Good for centuries: the next process runs it, the ones after reuse it from the state directory.
    plugin.respond(execCredential(V1, { token: token('exec-proc'), expirationTimestamp: FUTURE }));
    await ok('p3');
    await ok('p4');
    await ok('p5');
    expect(plugin.calls()).toHaveLength(3);
    const cacheFile = path.join(dataDir, 'execnet', EXEC_CACHE_FILE);
    expect(fs.statSync(cacheFile).mode & 0o777).toBe(0o600);
    // Revoked before its expiry: the 401 makes pod-ipam ask the plugin once more.
    fx.server.tokens.clear();
    plugin.respond(execCredential(V1, { token: token('exec-proc'), expirationTimestamp: FUTURE }));
    await ok('p6');
    expect(plugin.calls()).toHaveLength(4);
    expect(fx.server.requests.slice(-2).map((r) => r.user)).toEqual([undefined, 'exec-proc']);
    await ok('p7');
    expect(plugin.calls()).toHaveLength(4);
  });

  test('a failing plugin is CNI code 11 naming it; a missing one code 7 with its installHint', async () => {
    const { plugin, kubeconfig } = setUp({ apiVersion: V1BETA1, installHint: 'see https://example.invalid/install' });
    const dataDir = path.join(path.dirname(kubeconfig), 'data');
    plugin.fail('cannot reach the token service');
    const failed = await add(kubeconfig, dataDir, 'f1');
    expect(failed.code).toBe(1);
    expect(failed.json).toMatchObject({ code: 11, msg: expect.stringMatching(/exec credential plugin ".*credential-plugin.sh" failed \(exit 1\): cannot reach the token service/) });
    fs.rmSync(plugin.command);
    const missing = await add(kubeconfig, dataDir, 'f2');
    expect(missing.json).toMatchObject({ code: 7, msg: expect.stringMatching(/cannot be run \(not found\): see https:\/\/example.invalid\/install/) });
  });
});
