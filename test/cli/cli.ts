/** Helpers for the operator command tests: run the built executable without CNI_COMMAND. */
import * as path from 'node:path';
import { nodeLocalConf, runPlugin } from '../helpers/run-plugin';
import type { PluginOutcome } from '../helpers/run-plugin';

export const FIXTURES = path.join(__dirname, 'fixtures');

/** Runs `pod-ipam ARGS...` as an operator would (routes read from the test fixture). */
export async function cli(argv: string[], env: Record<string, string> = {}): Promise<PluginOutcome & { out: string }> {
  const outcome = await runText(argv, { POD_IPAM_PROC_NET: path.join(FIXTURES, 'proc-net'), ...env });
  return outcome;
}

/** Like runPlugin, but stdout need not be JSON (tables). */
async function runText(argv: string[], env: Record<string, string>): Promise<PluginOutcome & { out: string }> {
  const { spawn } = await import('node:child_process');
  const { pluginCommand } = await import('../helpers/run-plugin');
  const [cmd, ...args] = pluginCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, [...args, ...argv], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      let json: unknown;
      try {
        json = stdout.trim().startsWith('{') ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, json, out: stdout });
    });
  });
}

/** ADDs `ids` to a node-local network under `dataDir`; returns the addresses handed out. */
export async function addPods(dataDir: string, ids: string[], ipam: Record<string, unknown> = {}, name = 'testnet'): Promise<string[][]> {
  const results: string[][] = [];
  for (const id of ids) {
    const r = await runPlugin({ command: 'ADD', containerId: id, stdin: nodeLocalConf(dataDir, { name }, ipam) });
    if (r.code !== 0) throw new Error(`ADD ${id} failed: ${r.stdout} ${r.stderr}`);
    results.push((r.json.ips as { address: string }[]).map((i) => i.address.split('/')[0]!));
  }
  return results;
}

/** A usage error: exit 2, a message on stderr, nothing on stdout, no stack trace. */
export function expectUsageError(r: PluginOutcome, pattern: RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}
