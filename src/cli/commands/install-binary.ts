/**
 * The one implementation of installing the executable into the host's CNI bin directory
 * (scripts/install.sh calls this): copied under a temp name into that same directory,
 * flushed, run once with CNI_COMMAND=VERSION to prove it starts on this host (right
 * architecture, libc present), and only then renamed to `pod-ipam`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliError } from './common';
import { commitTemp, writeTemp } from './install-files';

/**
 * The file this process runs from: the compiled executable itself under Bun, the bundle
 * (run through its `#!/usr/bin/env node` line) under Node.js.
 */
export function runningExecutable(): string {
  return process.versions['bun'] !== undefined ? process.execPath : path.resolve(process.argv[1] ?? process.execPath);
}

/** @returns the VERSION answer of the installed file. @throws CliError, leaving the old file in place. */
export function installBinary(source: string, binDir: string, env: Readonly<Record<string, string | undefined>>): string {
  let content: Buffer;
  try {
    content = fs.readFileSync(source);
  } catch (e) {
    throw new CliError(`cannot read the executable to install, ${source}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const target = path.join(binDir, 'pod-ipam');
  const tmp = writeTemp(target, content, 0o755);
  const run = spawnSync(tmp, [], { env: { PATH: env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: 'VERSION' }, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  const answer = (run.stdout ?? '').trim();
  if (run.status !== 0 || !answer.includes('"supportedVersions"')) {
    fs.rmSync(tmp, { force: true });
    const why = run.error ? run.error.message : `exit ${run.status ?? run.signal}: ${(answer || run.stderr || '').split('\n').slice(0, 3).join(' ')}`;
    throw new CliError(`${source} does not run on this host as a CNI plugin (its answer to VERSION: ${why}); ${target} is left as it was`);
  }
  commitTemp(tmp, target);
  return answer;
}
