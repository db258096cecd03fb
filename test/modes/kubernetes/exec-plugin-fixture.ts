/**
 * A real exec credential plugin for the tests: a /bin/sh script written here that
 * records each call (its arguments, its environment, KUBERNETES_EXEC_INFO), refuses to
 * answer without KUBERNETES_EXEC_INFO, and prints whatever ExecCredential the test put
 * in its `response` file (or fails with the text of its `fail` file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const V1 = 'client.authentication.k8s.io/v1';
export const V1BETA1 = 'client.authentication.k8s.io/v1beta1';

export interface ExecPlugin {
  /** Absolute path of the script. */
  readonly command: string;
  /** Argument lines of every call so far, oldest first. */
  calls(): string[];
  /** KUBERNETES_EXEC_INFO of the last call, parsed. */
  lastExecInfo(): any;
  /** The environment of the last call. */
  lastEnv(): Record<string, string>;
  /** What the next calls print. */
  respond(credential: unknown): void;
  /** Make the next calls exit 1 with `message` on stderr (undefined: answer again). */
  fail(message: string | undefined): void;
  /** Make the next calls never answer. */
  hang(): void;
}

export function makeExecPlugin(dir: string): ExecPlugin {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string): string => path.join(dir, name);
  const command = f('credential-plugin.sh');
  fs.writeFileSync(
    command,
    `#!/bin/sh
d='${dir}'
printf '%s\\n' "$*" >> "$d/calls"
printf '%s' "\${KUBERNETES_EXEC_INFO:-}" > "$d/exec-info"
env > "$d/env"
case "\${KUBERNETES_EXEC_INFO:-}" in
  *'"kind":"ExecCredential"'*) ;;
  *) echo "credential-plugin: KUBERNETES_EXEC_INFO is not an ExecCredential" >&2; exit 3 ;;
esac
if [ -f "$d/fail" ]; then cat "$d/fail" >&2; exit 1; fi
if [ -f "$d/hang" ]; then exec sleep 120; fi
cat "$d/response"
`,
    { mode: 0o755 },
  );
  return {
    command,
    calls: () => (fs.existsSync(f('calls')) ? fs.readFileSync(f('calls'), 'utf8').split('\n').slice(0, -1) : []),
    lastExecInfo: () => JSON.parse(fs.readFileSync(f('exec-info'), 'utf8')),
    lastEnv: () => Object.fromEntries(fs.readFileSync(f('env'), 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])),
    respond: (credential) => fs.writeFileSync(f('response'), JSON.stringify(credential)),
    hang: () => fs.writeFileSync(f('hang'), ''),
    fail: (message) => (message === undefined ? fs.rmSync(f('fail'), { force: true }) : fs.writeFileSync(f('fail'), message)),
  };
}

/** An ExecCredential as a plugin prints it. */
export function execCredential(apiVersion: string, status: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'ExecCredential', apiVersion, spec: { interactive: false }, status };
}
