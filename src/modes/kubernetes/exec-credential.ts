/**
 * client-go's exec credential plugins (client.authentication.k8s.io/v1 and v1beta1): the
 * kubeconfig user names a command (gke-gcloud-auth-plugin, `aws eks get-token`, kubelogin)
 * that prints an ExecCredential whose status holds a bearer token or a client
 * certificate. Run with the documented environment: the process's own, the `env` entries
 * of the kubeconfig, and KUBERNETES_EXEC_INFO (an ExecCredential with `spec.interactive`
 * and, with provideClusterInfo, `spec.cluster`). pod-ipam never has a terminal, so it
 * runs the plugin non-interactively with stdin closed.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ConfigError, TryAgainError } from '../../core/errors';
import type { KubeValue } from './kubeconfig-parse';

export const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'] as const;

export interface ExecConfig {
  readonly apiVersion: (typeof EXEC_API_VERSIONS)[number];
  /** As written; resolved against the kubeconfig's directory when it is a relative path with a "/". */
  readonly command: string;
  readonly args: readonly string[];
  readonly env: readonly { readonly name: string; readonly value: string }[];
  readonly installHint?: string;
  readonly provideClusterInfo: boolean;
}

/** What a plugin returned: a token and/or a client certificate, and until when it is good. */
export interface ExecCredential {
  readonly token?: string;
  readonly cert?: string;
  readonly key?: string;
  /** ms since the epoch; undefined: good until the server refuses it (401). */
  readonly expiresAt?: number;
}

type Obj = { [key: string]: KubeValue };
const isObj = (v: KubeValue | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates the user's `exec` entry. @throws ConfigError via `bad` */
export function parseExecConfig(raw: KubeValue | undefined, base: string, bad: (m: string) => ConfigError, owner: string): ExecConfig {
  if (!isObj(raw)) throw bad(`${owner} "exec" must be a mapping`);
  const apiVersion = raw['apiVersion'];
  if (!EXEC_API_VERSIONS.includes(apiVersion as ExecConfig['apiVersion'])) {
    throw bad(`${owner} exec apiVersion ${JSON.stringify(apiVersion)} is not supported; use one of ${EXEC_API_VERSIONS.join(', ')}`);
  }
  const command = raw['command'];
  if (typeof command !== 'string' || command === '') throw bad(`${owner} exec needs a "command"`);
  const args = raw['args'] ?? [];
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) throw bad(`${owner} exec "args" must be a list of strings`);
  const env = raw['env'] ?? [];
  if (!Array.isArray(env) || !env.every((e) => isObj(e) && typeof e['name'] === 'string' && typeof (e['value'] ?? '') === 'string')) {
    throw bad(`${owner} exec "env" must be a list of {name, value}`);
  }
  const mode = raw['interactiveMode'] ?? 'IfAvailable';
  if (mode === 'Always') throw bad(`${owner} exec has interactiveMode Always, but pod-ipam never has a terminal; use a plugin that can run non-interactively`);
  if (mode !== 'Never' && mode !== 'IfAvailable') throw bad(`${owner} exec interactiveMode must be Never, IfAvailable or Always`);
  const hint = raw['installHint'];
  return {
    apiVersion: apiVersion as ExecConfig['apiVersion'],
    // client-go: a relative path with a separator is relative to the kubeconfig; a bare name is looked up in PATH.
    command: command.includes('/') ? path.resolve(base, command) : command,
    args: args as string[],
    env: (env as Obj[]).map((e) => ({ name: e['name'] as string, value: (e['value'] as string | null) ?? '' })),
    ...(typeof hint === 'string' && hint && { installHint: hint }),
    provideClusterInfo: raw['provideClusterInfo'] === true,
  };
}

/**
 * Runs the plugin once. `cluster` is sent as spec.cluster when provideClusterInfo is set.
 * @throws ConfigError when the command is missing or answers something that is not an
 *   ExecCredential; TryAgainError when it fails or does not finish within `timeoutMs`.
 */
export function runExecPlugin(exec: ExecConfig, cluster: Record<string, unknown>, processEnv: Readonly<Record<string, string | undefined>>, timeoutMs: number, where: string): ExecCredential {
  const info = { kind: 'ExecCredential', apiVersion: exec.apiVersion, spec: { ...(exec.provideClusterInfo && { cluster }), interactive: false } };
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined) env[k] = v;
  for (const e of exec.env) env[e.name] = e.value;
  env['KUBERNETES_EXEC_INFO'] = JSON.stringify(info);
  const shown = [exec.command, ...exec.args].join(' ');
  const run = spawnSync(exec.command, [...exec.args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' });
  const stderr = (run.stderr ?? '').trim().slice(-500);
  if (run.error) {
    const code = (run.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES') {
      throw new ConfigError(where, `the exec credential plugin "${exec.command}" cannot be run (${code === 'ENOENT' ? 'not found' : 'not executable'})${exec.installHint ? `: ${exec.installHint.trim()}` : ''}`);
    }
    if (code === 'ETIMEDOUT') throw new TryAgainError(`the exec credential plugin "${shown}" did not finish within ${timeoutMs} ms (apiTimeoutSeconds)`, stderr);
    throw new TryAgainError(`the exec credential plugin "${shown}" could not be run: ${run.error.message}`, stderr);
  }
  if (run.status !== 0) {
    throw new TryAgainError(`the exec credential plugin "${shown}" failed (${run.signal ? `signal ${run.signal}` : `exit ${run.status}`})${stderr ? `: ${stderr.split('\n').pop()}` : ''}`, stderr);
  }
  return readExecCredential(run.stdout, exec.apiVersion, (m) => new ConfigError(where, `the exec credential plugin "${shown}" ${m}`));
}

/** Checks the plugin's answer as client-go does. Exported for tests. */
export function readExecCredential(stdout: string, apiVersion: string, bad: (m: string) => ConfigError): ExecCredential {
  let out: unknown;
  try {
    out = JSON.parse(stdout);
  } catch {
    throw bad(`printed something that is not JSON: ${JSON.stringify(stdout.slice(0, 120))}`);
  }
  const o = (typeof out === 'object' && out !== null ? out : {}) as Record<string, unknown>;
  if (o['kind'] !== 'ExecCredential' || o['apiVersion'] !== apiVersion) {
    throw bad(`answered kind ${JSON.stringify(o['kind'])} apiVersion ${JSON.stringify(o['apiVersion'])}; expected an ExecCredential of ${apiVersion}, the version the kubeconfig asked for`);
  }
  const status = (typeof o['status'] === 'object' && o['status'] !== null ? o['status'] : {}) as Record<string, unknown>;
  const text = (k: string): string | undefined => (typeof status[k] === 'string' && status[k] !== '' ? (status[k] as string) : undefined);
  const token = text('token');
  const cert = text('clientCertificateData');
  const key = text('clientKeyData');
  if (!!cert !== !!key) throw bad('returned only one of clientCertificateData and clientKeyData');
  if (!token && !cert) throw bad('returned neither status.token nor clientCertificateData/clientKeyData');
  const stamp = status['expirationTimestamp'];
  let expiresAt: number | undefined;
  if (stamp !== undefined && stamp !== null) {
    expiresAt = typeof stamp === 'string' ? Date.parse(stamp) : NaN;
    if (!Number.isFinite(expiresAt)) throw bad(`returned an expirationTimestamp that is not an RFC 3339 time: ${JSON.stringify(stamp)}`);
  }
  return { ...(token && { token }), ...(cert && key && { cert, key }), ...(expiresAt !== undefined && { expiresAt }) };
}
