/**
 * Network namespaces and the real reference CNI plugins (Debian's containernetworking-plugins
 * in /usr/lib/cni), for the end-to-end tests. Everything a test makes is named with a random
 * tag and recorded in a Lab, whose cleanup() removes it again, also after a failure.
 * Addresses come from 10.200.0.0/13 and fd00::/8 test ranges that nothing on the host routes,
 * and the networks get no default route: traffic stays between the test's namespaces.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXECUTABLE, ROOT } from './run-plugin';

export const REFERENCE_PLUGINS = '/usr/lib/cni';

/** Why the end-to-end tests cannot run here, or undefined when they can. */
export function e2eUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  for (const p of ['bridge', 'ptp', 'loopback']) {
    if (!fs.existsSync(path.join(REFERENCE_PLUGINS, p))) return `${REFERENCE_PLUGINS}/${p} missing (apt-get install containernetworking-plugins)`;
  }
  for (const tool of ['ip', 'ping']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} missing (apt-get install iproute2 iputils-ping)`;
    }
  }
  const probe = `pi-probe-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'pipe' });
  } catch (e) {
    return `ip netns unavailable: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
  return undefined;
}

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Global (non link-local) addresses of an interface inside a namespace, as CIDRs. */
export function addressesIn(netns: string, ifname: string): string[] {
  const links = JSON.parse(ip('-j', '-n', netns, 'addr', 'show', 'dev', ifname)) as { addr_info: { local: string; prefixlen: number; scope: string }[] }[];
  return links.flatMap((l) => l.addr_info.filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`));
}

export function linkExists(netns: string, ifname: string): boolean {
  try {
    ip('-n', netns, 'link', 'show', 'dev', ifname);
    return true;
  } catch {
    return false;
  }
}

/**
 * Pings `address` from inside `netns` until one reply or the deadline. Retries because a
 * fresh IPv6 address is unusable until duplicate address detection has finished.
 */
export async function ping(netns: string, address: string, deadlineMs = 8000): Promise<boolean> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const child = spawn('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', '-q', address], { stdio: 'ignore' });
      child.on('error', () => resolve(false));
      child.on('close', (code) => resolve(code === 0));
    });
    if (ok) return true;
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface CniOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs a CNI plugin binary the way a runtime does. */
export function execCni(binary: string, env: Record<string, string>, conf: unknown): Promise<CniOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: any;
      try {
        json = stdout.trim() === '' ? undefined : JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(conf));
  });
}

/** Random private test subnets that no route on this host overlaps. */
export function freeSubnets(): { v4: string; v6: string } {
  const routes = ip('-4', 'route', 'show', 'table', 'all') + ip('-6', 'route', 'show', 'table', 'all');
  for (;;) {
    const b = randomBytes(4);
    const v4 = `10.${200 + (b[0]! % 8)}.${b[1]}.0`;
    const v6 = `fd50:${b.readUInt16BE(2).toString(16)}:${b[1]!.toString(16)}::`;
    if (!routes.includes(v4.slice(0, -1)) && !routes.includes(v6)) return { v4: `${v4}/24`, v6: `${v6}/64` };
  }
}

/** A directory to put first in CNI_PATH, holding dist/pod-ipam installed with scripts/install.sh (as an operator would). */
export function pluginDir(parent: string): string {
  const dir = path.join(parent, 'cni-bin');
  execFileSync('sh', [path.join(ROOT, 'scripts', 'install.sh'), dir], { stdio: 'pipe', env: { ...process.env, POD_IPAM_BINARY: EXECUTABLE } });
  return dir;
}

const FORWARDING = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'];

/**
 * What one test file made on the host. The ptp plugin turns on IP forwarding (a host-wide
 * setting); the lab puts it back as it found it.
 */
export class Lab {
  readonly tag = randomBytes(3).toString('hex');
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-e2e-'));
  readonly #netns: string[] = [];
  readonly #links: string[] = [];
  readonly #sysctls = new Map<string, string>();
  #count = 0;

  constructor() {
    for (const f of FORWARDING) {
      try {
        this.#sysctls.set(f, fs.readFileSync(f, 'utf8').trim());
      } catch {
        // no IPv6 on this host
      }
    }
  }

  /** A new namespace with lo up (by the real loopback plugin, as a runtime does). */
  async netns(): Promise<{ name: string; path: string }> {
    const name = `pi-${this.tag}-${this.#count++}`;
    ip('netns', 'add', name);
    this.#netns.push(name);
    const nsPath = `/var/run/netns/${name}`;
    const lo = await execCni(path.join(REFERENCE_PLUGINS, 'loopback'), { CNI_COMMAND: 'ADD', CNI_CONTAINERID: name, CNI_NETNS: nsPath, CNI_IFNAME: 'lo', CNI_PATH: REFERENCE_PLUGINS }, { cniVersion: '1.0.0', name: 'lo', type: 'loopback' });
    if (lo.code !== 0) throw new Error(`loopback plugin failed: ${lo.stdout} ${lo.stderr}`);
    return { name, path: nsPath };
  }

  /** A host link name (≤ 15 characters) that cleanup() deletes. */
  linkName(prefix: string): string {
    const name = `${prefix}${this.tag}${this.#count++}`.slice(0, 15);
    this.#links.push(name);
    return name;
  }

  /** Removes every namespace (and with it the veth pairs) and link, restores sysctls. */
  cleanup(): void {
    const errors: string[] = [];
    for (const ns of this.#netns.splice(0)) {
      try {
        ip('netns', 'del', ns);
      } catch (e) {
        errors.push(`netns ${ns}: ${(e as Error).message}`);
      }
    }
    for (const link of this.#links.splice(0)) {
      try {
        ip('link', 'del', link);
      } catch {
        // never created (the test failed before) or already gone
      }
    }
    for (const [f, v] of this.#sysctls) {
      try {
        if (fs.readFileSync(f, 'utf8').trim() !== v) fs.writeFileSync(f, v);
      } catch (e) {
        errors.push(`${f}: ${(e as Error).message}`);
      }
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    if (errors.length > 0) throw new Error(`cleanup: ${errors.join('; ')}`);
  }
}
