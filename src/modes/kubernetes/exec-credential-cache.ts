/**
 * Exec credentials are kept until their expirationTimestamp, as client-go keeps them: a
 * cloud's token plugin can take a second and rate-limits, and pod-ipam would otherwise
 * run it on every cold API call. The plugin runs as one process per CNI call, so a
 * per-process cache alone would save nothing there: with a directory (the network's
 * state directory, 0700, under the network's lock) the credential is also kept in a
 * 0600 file. A credential without an expiry is kept in memory only; on disk it would
 * outlive every rotation. Entries are bound to the exact server and exec settings they
 * were made for, so editing the kubeconfig never reuses an old credential.
 */
import * as path from 'node:path';
import { readFileNoFollow, writeFileDurable } from '../../store/durable-file';
import type { ExecCredential } from './exec-credential';

export const EXEC_CACHE_FILE = 'kubernetes-exec-credential.json';

export interface CredentialCache {
  /** The credential stored for `identity` if it has not expired at `now`. */
  get(identity: string, now: number): ExecCredential | undefined;
  put(identity: string, credential: ExecCredential): void;
}

const inProcess = new Map<string, ExecCredential>();
const fresh = (c: ExecCredential | undefined, now: number): ExecCredential | undefined => (c && (c.expiresAt === undefined || now < c.expiresAt) ? c : undefined);

/** The cache for this process, and with `dir` also the file in it. */
export function credentialCache(dir: string | undefined, warn: (m: string) => void): CredentialCache {
  const file = dir === undefined ? undefined : path.join(dir, EXEC_CACHE_FILE);
  return {
    get(identity, now) {
      const mine = fresh(inProcess.get(identity), now);
      if (mine || !file) return mine;
      const stored = readStored(file, warn);
      return stored?.identity === identity ? fresh(stored.credential, now) : undefined;
    },
    put(identity, credential) {
      inProcess.set(identity, credential);
      if (!file || credential.expiresAt === undefined) return;
      try {
        writeFileDurable(file, `${JSON.stringify({ version: 1, identity, credential })}\n`, { syncDir: false });
      } catch (e) {
        // Only a cost: the next call runs the plugin again.
        warn(`cannot keep the exec credential in ${file}: ${(e as Error).message}`);
      }
    },
  };
}

function readStored(file: string, warn: (m: string) => void): { identity: string; credential: ExecCredential } | undefined {
  try {
    const text = readFileNoFollow(file);
    if (text === undefined) return undefined;
    const v = JSON.parse(text) as { version?: unknown; identity?: unknown; credential?: Record<string, unknown> };
    const c = v.credential;
    const ok = v.version === 1 && typeof v.identity === 'string' && typeof c === 'object' && c !== null && typeof c['expiresAt'] === 'number' &&
      (typeof c['token'] === 'string' || (typeof c['cert'] === 'string' && typeof c['key'] === 'string'));
    if (ok) return { identity: v.identity as string, credential: c as ExecCredential };
  } catch (e) {
    warn(`ignoring the exec credential cache ${file}: ${(e as Error).message}`);
    return undefined;
  }
  warn(`ignoring the unreadable exec credential cache ${file}; the plugin runs again`);
  return undefined;
}
