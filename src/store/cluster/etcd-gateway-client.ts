/**
 * A minimal etcd v3 client over etcd's JSON gateway (grpc-gateway, `/v3/kv/*`), built on
 * node:http/node:https only. Why not the gRPC client: it pulls in @grpc/grpc-js and loads
 * .proto files at run time, which neither fits a single bundled executable nor a program
 * that starts once per pod. The gateway ships with every etcd >= 3.3 (Debian's is 3.4)
 * and needs nothing but HTTP/1.1 + JSON; keys and values travel base64-encoded.
 *
 * Failover: requests go to the endpoints in turn, starting from the last one that
 * answered; a connection error, timeout or 5xx/"unavailable" answer moves on to the next.
 * When every endpoint failed the caller gets TryAgainError (CNI code 11) naming them all.
 * Every operation is safe to repeat on another endpoint after an unknown outcome: callers
 * compare what they read back with what they wrote (a create-if-absent that "lost" to our
 * own earlier attempt returns our own value).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { ClusterStoreError, TryAgainError } from '../../core/errors';

export interface EtcdTlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface EtcdClientOptions {
  /** Base URLs such as "https://10.0.0.1:2379". */
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTlsMaterial;
  /** Per request and endpoint; the whole call may take endpoints.length times this. */
  readonly timeoutMs?: number;
}

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

export interface CreateResult {
  /** True when this call created the key. */
  readonly created: boolean;
  /** The key's value after the call (ours when created). */
  readonly value: string;
}

export const DEFAULT_ETCD_TIMEOUT_MS = 3000;
/** An answer larger than this is refused unread (the Kubernetes client's cap is 8 MiB). */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** Keys per range request: about 2 MiB of JSON for block keys, far below the cap. */
const RANGE_PAGE = 10000;

export class EtcdGatewayClient {
  readonly #endpoints: URL[];
  readonly #timeoutMs: number;
  readonly #httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  readonly #httpsAgent: https.Agent;
  #preferred = 0;

  /** @throws ClusterStoreError when an endpoint is not an http(s) URL. */
  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new ClusterStoreError('no etcd endpoints given');
    this.#endpoints = options.endpoints.map(parseEndpoint);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_ETCD_TIMEOUT_MS;
    const tls = options.tls ?? {};
    this.#httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      ...(tls.ca ? { ca: tls.ca } : {}),
      ...(tls.cert ? { cert: tls.cert } : {}),
      ...(tls.key ? { key: tls.key } : {}),
    });
  }

  /**
   * Creates `key` with `value` only if, in one transaction, `key` and every key in
   * [key, rangeEnd) and every key of `absent` are missing. Otherwise returns the value
   * `key` already has ('' when `key` itself is free but one of the others exists).
   * `createIfAbsent` is the case with nothing else to compare.
   * @throws TryAgainError when no endpoint answered; ClusterStoreError on a refused request.
   */
  async createIfNoneOf(key: string, value: string, absent: readonly string[], rangeEnd?: Buffer): Promise<CreateResult> {
    const k = b64(key);
    const compare = [
      { key: k, ...(rangeEnd ? { range_end: b64(rangeEnd) } : {}), target: 'CREATE', result: 'EQUAL', create_revision: '0' },
      ...absent.map((a) => ({ key: b64(a), target: 'CREATE', result: 'EQUAL', create_revision: '0' })),
    ];
    const res = await this.#call('/v3/kv/txn', {
      compare,
      success: [{ request_put: { key: k, value: b64(value) } }],
      failure: [{ request_range: { key: k } }],
    });
    if (res['succeeded'] === true) return { created: true, value };
    const responses = asArray(res['responses']);
    if (responses.length === 0) throw new ClusterStoreError(`etcd answered a create of ${key} with neither success nor the current value`, 'the failure branch of the transaction returned no response');
    const kv = asObject(asArray(asObject(asObject(responses[0])['response_range'])['kvs'])[0]);
    return { created: false, value: unb64(kv['value']) };
  }

  /** Creates `key` with `value` only if it does not exist (compare create_revision == 0). */
  createIfAbsent(key: string, value: string): Promise<CreateResult> {
    return this.createIfNoneOf(key, value, []);
  }

  /** Sets `key` to `value`. */
  async put(key: string, value: string): Promise<void> {
    await this.#call('/v3/kv/put', { key: b64(key), value: b64(value) });
  }

  /** The value of `key`, or undefined when absent. */
  async get(key: string): Promise<string | undefined> {
    const res = await this.#call('/v3/kv/range', { key: b64(key) });
    const kv = asArray(res['kvs'])[0];
    return kv === undefined ? undefined : unb64(asObject(kv)['value']);
  }

  /**
   * Every key starting with `prefix`, in key order. Read in pages of RANGE_PAGE keys at
   * the revision of the first page, so a large store is one consistent view and no
   * single answer grows past MAX_RESPONSE_BYTES.
   */
  async rangePrefix(prefix: string): Promise<KeyValue[]> {
    const end = b64(prefixEnd(prefix));
    const out: KeyValue[] = [];
    let from: Buffer = Buffer.from(prefix, 'utf8');
    let revision: string | undefined;
    for (;;) {
      const res = await this.#call('/v3/kv/range', { key: b64(from), range_end: end, limit: String(RANGE_PAGE), ...(revision ? { revision } : {}) });
      revision ??= String(asObject(res['header'])['revision'] ?? '') || undefined;
      const kvs = asArray(res['kvs']);
      let last: Buffer | undefined;
      for (const kv of kvs) {
        const o = asObject(kv);
        last = Buffer.from(typeof o['key'] === 'string' ? o['key'] : '', 'base64');
        out.push({ key: last.toString('utf8'), value: unb64(o['value']) });
      }
      if (res['more'] !== true || !last) return out;
      from = Buffer.concat([last, Buffer.from([0])]); // the smallest key after the last one read
    }
  }

  /**
   * Deletes `key`; with `ifValue`, only while it still holds that value (one transaction).
   * @returns true when a key was deleted.
   */
  async delete(key: string, options: { ifValue?: string } = {}): Promise<boolean> {
    const k = b64(key);
    if (options.ifValue === undefined) {
      const res = await this.#call('/v3/kv/deleterange', { key: k });
      return Number(res['deleted'] ?? 0) > 0;
    }
    const res = await this.#call('/v3/kv/txn', {
      compare: [{ key: k, target: 'VALUE', result: 'EQUAL', value: b64(options.ifValue) }],
      success: [{ request_delete_range: { key: k } }],
    });
    if (res['succeeded'] !== true) return false;
    const del = asObject(asObject(asArray(res['responses'])[0])['response_delete_range']);
    return Number(del['deleted'] ?? 0) > 0;
  }

  /** Closes kept-alive connections so the process can exit at once. */
  close(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  async #call(path: string, body: unknown): Promise<Record<string, unknown>> {
    const payload = JSON.stringify(body);
    const failures: string[] = [];
    let handshakes = 0;
    const n = this.#endpoints.length;
    for (let i = 0; i < n; i++) {
      const index = (this.#preferred + i) % n;
      const endpoint = this.#endpoints[index]!;
      const outcome = await this.#post(endpoint, path, payload);
      if (outcome.kind === 'ok') {
        this.#preferred = index;
        return outcome.body;
      }
      if (outcome.kind === 'fatal') throw new ClusterStoreError(`etcd at ${endpoint.origin} refused ${path}: ${outcome.reason}`);
      failures.push(`${endpoint.origin}: ${outcome.reason}`);
      if (outcome.kind === 'tls') handshakes++;
    }
    // Every endpoint refused the handshake (or presented a certificate we refuse): a retry
    // would meet the same certificates, so this is the store refusing us (107), not an outage (11).
    if (handshakes === n) {
      throw new ClusterStoreError(
        `the TLS handshake with etcd failed (${failures[0] ?? ''}${n > 1 ? `, and ${n - 1} more endpoint(s)` : ''}); check ipam.clusterStore.tls: the CA that signed etcd's certificate, and a client certificate and key etcd accepts`,
        failures.join('; '),
      );
    }
    throw new TryAgainError(
      `the etcd cluster store is unreachable (${failures[0] ?? ''}${n > 1 ? `, and ${n - 1} more endpoint(s)` : ''}); retry once etcd is up`,
      failures.join('; '),
    );
  }

  #post(endpoint: URL, path: string, payload: string): Promise<Outcome> {
    const isHttps = endpoint.protocol === 'https:';
    const mod = isHttps ? https : http;
    const url = new URL(path, endpoint);
    return new Promise<Outcome>((resolve) => {
      const req = mod.request(url, {
        method: 'POST',
        agent: isHttps ? this.#httpsAgent : this.#httpAgent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        timeout: this.#timeoutMs,
      });
      // One overall deadline (connect + TLS + answer); `timeout` alone only covers idle sockets.
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs);
      const done = (o: Outcome) => {
        clearTimeout(timer);
        resolve(o);
      };
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`)));
      req.on('error', (e) => done({ kind: isHandshakeRefusal(e) ? 'tls' : 'retry', reason: describeNetError(e) }));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_RESPONSE_BYTES) return void chunks.push(c);
          res.destroy();
          done({ kind: 'fatal', reason: `the answer to ${path} is larger than ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB; refused unread` });
        });
        res.on('error', (e) => done({ kind: 'retry', reason: describeNetError(e) }));
        res.on('end', () => done(classify(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
      req.end(payload);
    });
  }
}

type Outcome = { kind: 'ok'; body: Record<string, unknown> } | { kind: 'retry' | 'fatal' | 'tls'; reason: string };

/**
 * A TLS alert from the server (our client certificate refused: ERR_SSL_..._ALERT_...) or
 * the server's certificate refused by us (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED,
 * ERR_TLS_CERT_ALTNAME_INVALID, ...), as Node.js and Bun name them.
 */
function isHandshakeRefusal(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return /^ERR_SSL_.*ALERT|^ERR_TLS_CERT|CERT|SIGNATURE|SELF_SIGNED|^UNABLE_TO_/.test(code);
}

// gRPC status codes the gateway reports that mean "this member cannot answer now":
// 4 DEADLINE_EXCEEDED, 8 RESOURCE_EXHAUSTED, 10 ABORTED, 13 INTERNAL, 14 UNAVAILABLE.
const RETRYABLE_GRPC = new Set([4, 8, 10, 13, 14]);

function classify(status: number, text: string): Outcome {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return status >= 500 || status === 0 ? { kind: 'retry', reason: `HTTP ${status}` } : { kind: 'fatal', reason: `HTTP ${status}: not JSON: ${text.slice(0, 200)}` };
  }
  const o = asObject(body);
  if (status === 200 && o['error'] === undefined) return { kind: 'ok', body: o };
  const reason = `HTTP ${status}: ${String(o['message'] ?? o['error'] ?? text.slice(0, 200))}`;
  const grpc = typeof o['code'] === 'number' ? o['code'] : -1;
  return status >= 500 || RETRYABLE_GRPC.has(grpc) ? { kind: 'retry', reason } : { kind: 'fatal', reason };
}

function describeNetError(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  // OpenSSL's messages end in a newline: one line, so the CNI message stays one line.
  const message = e.message.replace(/\s+/g, ' ').trim();
  return code ? `${code} ${message}` : message;
}

function parseEndpoint(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ClusterStoreError(`etcd endpoint ${JSON.stringify(text)} is not a URL such as "https://10.0.0.1:2379"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ClusterStoreError(`etcd endpoint ${text} must start with http:// or https://`);
  return url;
}

const b64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64');
const unb64 = (v: unknown): string => (typeof v === 'string' ? Buffer.from(v, 'base64').toString('utf8') : '');
const asObject = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** The smallest key greater than every key starting with `prefix` (etcd's range_end), as bytes. */
export function prefixEnd(prefix: string): Buffer {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i] = bytes[i]! + 1;
      return end;
    }
  }
  return Buffer.from([0]); // empty or all 0xff: etcd reads "\0" as "to the end of the keyspace"
}
