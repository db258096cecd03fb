/**
 * Runs the built plugin the way a container runtime does: CNI_* environment variables,
 * the network config on stdin, the result on stdout. The plugin is the single executable
 * dist/pod-ipam (the Node.js bundle cannot take the kernel lock, see src/store/flock.ts).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const EXECUTABLE = path.join(ROOT, 'dist', 'pod-ipam');

/** The command line that starts the plugin under test. */
export function pluginCommand(): string[] {
  return [EXECUTABLE];
}

export interface PluginCall {
  command: 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION' | undefined;
  stdin?: unknown;
  containerId?: string;
  ifname?: string;
  netns?: string;
  cniArgs?: string;
  /** Extra or overriding environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>;
  argv?: string[];
  timeoutMs?: number;
}

export interface PluginOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined when empty (or CLI text). A CNI call whose stdout is not JSON rejects. */
  json: any;
}

export function cniEnv(call: PluginCall): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId ?? 'c1',
    CNI_NETNS: call.netns ?? '/var/run/netns/test',
    CNI_IFNAME: call.ifname ?? 'eth0',
    CNI_PATH: '/opt/cni/bin',
    CNI_ARGS: call.cniArgs,
    ...call.env,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Spawns the plugin and waits for it. */
export function runPlugin(call: PluginCall): Promise<PluginOutcome> {
  const [cmd, ...args] = pluginCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, [...args, ...(call.argv ?? [])], { env: cniEnv(call), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), call.timeoutMs ?? 30000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let json: any;
      if (stdout.trim() !== '') {
        try {
          json = JSON.parse(stdout);
        } catch {
          // The operator CLI prints tables; only the CNI protocol requires JSON.
          if (call.command === undefined) return resolve({ code, signal, stdout, stderr, json: undefined });
          reject(new Error(`plugin stdout is not one JSON document: ${stdout}\nstderr: ${stderr}`));
          return;
        }
      }
      resolve({ code, signal, stdout, stderr, json });
    });
    child.stdin.on('error', () => undefined); // the plugin may exit before reading all of stdin
    child.stdin.end(call.stdin === undefined ? '' : typeof call.stdin === 'string' ? call.stdin : JSON.stringify(call.stdin));
  });
}

/** A fresh temporary data directory, removed by the returned cleanup. */
export function tempDataDir(prefix = 'pod-ipam-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** A node-local network config with sensible defaults for tests. */
export function nodeLocalConf(dataDir: string, overrides: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    cniVersion: '1.1.0',
    name: 'testnet',
    ...overrides,
    ipam: { type: 'pod-ipam', dataDir, ranges: [[{ subnet: '10.1.2.0/24' }]], ...ipam },
  };
}
