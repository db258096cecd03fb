/**
 * Runs one CNI call against Debian's host-local (/usr/lib/cni/host-local) and against
 * pod-ipam (dist/pod-ipam), each with its own data directory and the same environment and
 * config (only `ipam.type` and `ipam.dataDir` differ), and reduces both answers to what the
 * README promises to be compatible: success or failure, and on success the result's `ips`,
 * `routes` and `dns`. Error codes are not compared (host-local answers 999 for nearly every
 * failure; pod-ipam's codes are documented in the README).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXECUTABLE } from '../helpers/run-plugin';

export const HOST_LOCAL = '/usr/lib/cni/host-local';

/** Why the suite cannot run here, or undefined. */
export function differentialUnavailable(): string | undefined {
  if (!fs.existsSync(HOST_LOCAL)) return `${HOST_LOCAL} is missing (apt-get install containernetworking-plugins)`;
  if (!fs.existsSync(EXECUTABLE)) return `${EXECUTABLE} is missing (npm run build)`;
  return undefined;
}

export interface Call {
  command: 'ADD' | 'DEL' | 'CHECK';
  containerId?: string;
  ifname?: string;
  cniArgs?: string;
  /** Top-level keys of the network config (cniVersion, runtimeConfig, args, prevResult, ...). */
  top?: Record<string, unknown>;
  /** ipam keys besides type and dataDir. */
  ipam: Record<string, unknown>;
}

/** What the README promises to be the same. */
export interface Outcome {
  ok: boolean;
  ips?: unknown;
  routes?: unknown;
  dns?: unknown;
  /** The failure message (not compared; shown when outcomes differ). */
  msg?: string;
}

export class Pair {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-diff-'));
  readonly hostLocalDir = path.join(this.root, 'host-local');
  readonly podIpamDir = path.join(this.root, 'pod-ipam');

  /** Runs `call` on both; returns [host-local, pod-ipam]. */
  async run(call: Call): Promise<[Outcome, Outcome]> {
    return Promise.all([this.#one(HOST_LOCAL, 'host-local', this.hostLocalDir, call), this.#one(EXECUTABLE, 'pod-ipam', this.podIpamDir, call)]);
  }

  cleanup(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  async #one(binary: string, type: string, dataDir: string, call: Call): Promise<Outcome> {
    const conf = { cniVersion: '1.0.0', name: 'diffnet', ...call.top, ipam: { type, dataDir, ...call.ipam } };
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      CNI_COMMAND: call.command,
      CNI_CONTAINERID: call.containerId ?? 'c1',
      CNI_NETNS: '/var/run/netns/diff',
      CNI_IFNAME: call.ifname ?? 'eth0',
      CNI_PATH: '/usr/lib/cni',
      ...(call.cniArgs !== undefined ? { CNI_ARGS: call.cniArgs } : {}),
    };
    const { code, stdout } = await exec(binary, env, JSON.stringify(conf));
    const json = stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>);
    if (code !== 0) return { ok: false, msg: String(json?.msg ?? stdout) };
    if (call.command !== 'ADD') return { ok: true };
    return { ok: true, ips: json?.ips, routes: json?.routes, dns: emptyToUndefined(json?.dns) };
  }
}

/** host-local prints "dns": {} where pod-ipam may too: an empty dns object is no dns. */
const emptyToUndefined = (v: unknown): unknown => (v && typeof v === 'object' && Object.keys(v).length === 0 ? undefined : v);

function exec(binary: string, env: Record<string, string>, stdin: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', () => undefined);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

/** JSON with object keys sorted: key order is not part of any result's meaning. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v));
}

/** The addresses of an ADD outcome, for short assertions. */
export const addressesOf = (o: Outcome): string[] => ((o.ips as { address: string }[] | undefined) ?? []).map((i) => i.address);
