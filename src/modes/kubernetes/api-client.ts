/**
 * A minimal Kubernetes API client: one request, JSON back, over node:https with TLS always
 * verified. @kubernetes/client-node would cost ~0.6 s and 80 MiB per plugin start; we
 * need a few endpoints (kubernetes mode reads two; the cluster-pool kubernetes store
 * also creates, lists and deletes its claim objects). Every failure becomes a TryAgainError that names the
 * server and says what to fix: all of them are conditions a retry (after the operator
 * or the cluster fixes something) can clear, and the caller falls back to its cache.
 */
import * as https from 'node:https';
import { TryAgainError } from '../../core/errors';
import type { Connection } from './connection';

/** Responses larger than this are refused; a Node or Pod object is a few hundred KiB at most. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** The API server's answer for a non-2xx response (a metav1.Status object). */
export class ApiStatusError extends TryAgainError {
  readonly status: number;
  constructor(status: number, message: string, details = '') {
    super(message, details);
    this.status = status;
  }
}

export interface GetOptions {
  /** The whole request, connect to last byte. */
  readonly timeoutMs: number;
  /** "get nodes" or "get pods": named in 403 messages so the operator knows which RBAC rule is missing. */
  readonly permission: string;
  /** Where the RBAC rule is granted, named in 403 messages (default: kubernetes mode's manifest). */
  readonly manifest?: string;
}

/**
 * A request other than a plain GET: its method and JSON body. Every method the client
 * sends is spelled out in this type (the RBAC test reads the methods from this file).
 */
export type Verb = { method: 'GET' } | { method: 'POST'; body: unknown } | { method: 'PUT'; body: unknown } | { method: 'DELETE'; body?: unknown };

/**
 * GETs `apiPath` and returns the parsed JSON object.
 * @throws ApiStatusError on a non-2xx status (with the Status message), TryAgainError when
 *   the server is unreachable, too slow, fails TLS verification or answers something
 *   that is not a JSON object.
 */
export function getJson(conn: Connection, apiPath: string, opts: GetOptions): Promise<Record<string, unknown>> {
  return requestJson(conn, { method: 'GET' }, apiPath, opts);
}

/** `getJson` for any verb: sends the body as JSON; the same errors. */
export async function requestJson(conn: Connection, verb: Verb, apiPath: string, opts: GetOptions): Promise<Record<string, unknown>> {
  try {
    return await requestOnce(conn, verb, apiPath, opts);
  } catch (e) {
    // An exec credential may have been revoked or rotated before its expiry: like
    // client-go, ask for a fresh one once.
    if (!(e instanceof ApiStatusError && e.status === 401 && conn.renew)) throw e;
    return requestOnce(conn.renew(), verb, apiPath, opts);
  }
}

function requestOnce(conn: Connection, verb: Verb, apiPath: string, opts: GetOptions): Promise<Record<string, unknown>> {
  const url = new URL(conn.server + apiPath);
  const payload = 'body' in verb && verb.body !== undefined ? Buffer.from(JSON.stringify(verb.body)) : undefined;
  const what = `${verb.method} ${apiPath}`;
  return new Promise((resolve, reject) => {
    // The first error wins; a destroy() with our own TryAgainError arrives here as-is.
    const fail = (e: unknown): void => reject(e instanceof TryAgainError ? e : transportError(conn, e));
    const req = https.request(
      url,
      {
        method: verb.method,
        headers: {
          Accept: 'application/json',
          'User-Agent': 'pod-ipam',
          ...(payload && { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) }),
          ...(conn.token && { Authorization: `Bearer ${conn.token}` }),
        },
        ...(conn.ca && { ca: conn.ca }),
        ...(conn.cert && { cert: conn.cert }),
        ...(conn.key && { key: conn.key }),
        ...(conn.servername && { servername: conn.servername }),
        rejectUnauthorized: true,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            req.destroy(new TryAgainError(`the API server at ${conn.server} sent more than ${MAX_BODY_BYTES} bytes for ${apiPath}; is "server" really a Kubernetes API server?`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          try {
            resolve(interpret(conn, what, res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), opts));
          } catch (e) {
            reject(e);
          }
        });
        res.on('error', fail);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new TryAgainError(`the API server at ${conn.server} did not answer ${what} within ${opts.timeoutMs} ms (apiTimeoutSeconds)`));
    }, opts.timeoutMs);
    req.on('error', fail);
    req.on('close', () => clearTimeout(timer));
    req.end(payload);
  });
}

function interpret(conn: Connection, what: string, status: number, body: string, opts: GetOptions): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const isObject = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed);
  if (status >= 200 && status < 300) {
    if (!isObject) {
      throw new TryAgainError(`the API server at ${conn.server} answered ${what} with something that is not a JSON object; is "server" really a Kubernetes API server?`, body.slice(0, 200));
    }
    return parsed as Record<string, unknown>;
  }
  const statusMessage = isObject && typeof (parsed as { message?: unknown }).message === 'string' ? (parsed as { message: string }).message : body.slice(0, 200);
  const at = `the API server at ${conn.server}`;
  switch (status) {
    case 401:
      throw new ApiStatusError(status, `${at} rejected pod-ipam's credentials (401 Unauthorized): the token or client certificate from ${conn.source} is invalid or expired`, statusMessage);
    case 403:
      throw new ApiStatusError(status, `${at} refused "${opts.permission}" (403 Forbidden): grant pod-ipam's identity ${opts.permission} (see the ClusterRole in ${opts.manifest ?? 'conf-examples/deploy-kubernetes.yaml'}): ${statusMessage}`, statusMessage);
    default:
      throw new ApiStatusError(status, `${at} answered ${what} with HTTP ${status}: ${statusMessage}`, statusMessage);
  }
}

/** Names the TLS codes an operator can act on; everything else is "cannot reach". */
function transportError(conn: Connection, e: unknown): TryAgainError {
  const err = e as NodeJS.ErrnoException;
  const code = err.code ?? '';
  const tls = /CERT|SELF_SIGNED|VERIFY|ALTNAME|ISSUER/.test(code);
  if (tls) {
    return new TryAgainError(
      `TLS verification of the API server at ${conn.server} failed (${code}): the CA from ${conn.source} does not vouch for the server's certificate; fix the CA (pod-ipam never skips verification)`,
      err.message,
    );
  }
  return new TryAgainError(`cannot reach the Kubernetes API server at ${conn.server}: ${code || err.message}`, err.message);
}
