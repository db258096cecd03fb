/**
 * An executable built by scripts/build.mjs with --instrument-loads: every bundled module
 * records itself when it is evaluated, and with POD_IPAM_REPORT_LOADS=1 the list is
 * printed to stderr at exit. Tests use it to prove what a call path does not load.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from './run-plugin';

/** Builds the instrumented executable into `outdir`; returns its path. */
export function buildInstrumented(outdir: string): string {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--outdir', outdir, '--instrument-loads'], { cwd: ROOT, stdio: 'pipe' });
  return path.join(outdir, 'pod-ipam');
}

/** Runs it; resolves with the exit code, stdout and the modules it evaluated. */
export function runInstrumented(executable: string, env: Record<string, string>, argv: string[], stdin = ''): Promise<{ code: number | null; stdout: string; modules: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, argv, { env: { ...env, POD_IPAM_REPORT_LOADS: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = /POD_IPAM_LOADED (.*)/.exec(stderr);
      if (!line) reject(new Error(`no load report (exit ${code}): ${stdout} ${stderr}`));
      else resolve({ code, stdout, modules: JSON.parse(line[1]!) as string[] });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}
