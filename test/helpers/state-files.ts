/** Reading a data directory as a test sees it: the state's files, and who holds what. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAuditLogFile } from './audit-log';

/**
 * Every file under `dir` with its bytes. Left out: directories (a call on a network never
 * used creates the network's empty directories before it can know the request will fail)
 * the empty `lock` file, which holds no state (the kernel keeps the lock itself), and the
 * audit log, a record of calls that logs refused ones on purpose.
 */
export function snapshotFiles(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const rel of fs.readdirSync(dir, { recursive: true }).map(String)) {
    const p = path.join(dir, rel);
    if ((path.basename(p) === 'lock' && fs.statSync(p).size === 0) || isAuditLogFile(rel)) continue;
    if (!fs.lstatSync(p).isDirectory()) out[rel] = fs.readFileSync(p, 'base64');
  }
  return out;
}

/** address -> "containerId/ifname" for every reservation file of a network. */
export function holders(networkDir: string): Map<string, string> {
  const ipsDir = path.join(networkDir, 'ips');
  const out = new Map<string, string>();
  if (!fs.existsSync(ipsDir)) return out;
  for (const name of fs.readdirSync(ipsDir)) {
    if (name.startsWith('.tmp-')) continue;
    const r = JSON.parse(fs.readFileSync(path.join(ipsDir, name), 'utf8')) as { containerId: string; ifname: string };
    out.set(name, `${r.containerId}/${r.ifname}`);
  }
  return out;
}
