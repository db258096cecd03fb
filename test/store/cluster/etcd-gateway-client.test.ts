/**
 * The etcd gateway client against a real etcd (Debian's etcd-server), plain and with TLS
 * client-certificate auth, plus failover and timeouts against endpoints that are dead or
 * never answer.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { EtcdGatewayClient, prefixEnd } from '../../../src/store/cluster/etcd-gateway-client';
import { ClusterStoreError, TryAgainError } from '../../../src/core/errors';
import { startEtcd } from '../../helpers/etcd-server';
import type { EtcdServer } from '../../helpers/etcd-server';

describe('EtcdGatewayClient (plain http)', () => {
  let etcd: EtcdServer;
  let client: EtcdGatewayClient;
  beforeAll(async () => {
    etcd = await startEtcd();
    client = new EtcdGatewayClient({ endpoints: [etcd.endpoint] });
  });
  afterAll(async () => {
    client?.close();
    await etcd?.stop();
  });

  test('createIfAbsent creates once, then returns the existing value', async () => {
    expect(await client.createIfAbsent('/t/a', 'node-1')).toEqual({ created: true, value: 'node-1' });
    expect(await client.createIfAbsent('/t/a', 'node-2')).toEqual({ created: false, value: 'node-1' });
    expect(await client.get('/t/a')).toBe('node-1');
  });

  test('concurrent creates of one key: exactly one wins and all see its value', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.createIfAbsent('/t/race', `n${i}`)));
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    expect(new Set(results.map((r) => r.value))).toEqual(new Set([winners[0]!.value]));
  });

  test('get of a missing key is undefined', async () => {
    expect(await client.get('/t/missing')).toBeUndefined();
  });

  test('rangePrefix returns only keys under the prefix, in key order, unicode intact', async () => {
    await client.createIfAbsent('/p/x/2', 'b');
    await client.createIfAbsent('/p/x/1', 'a');
    await client.createIfAbsent('/p/x/é', 'ü');
    await client.createIfAbsent('/p/y', 'outside');
    await client.createIfAbsent('/p/x', 'the prefix itself without slash');
    expect(await client.rangePrefix('/p/x/')).toEqual([
      { key: '/p/x/1', value: 'a' },
      { key: '/p/x/2', value: 'b' },
      { key: '/p/x/é', value: 'ü' },
    ]);
  });

  test('delete with ifValue only deletes while the value matches', async () => {
    await client.createIfAbsent('/t/d', 'owner');
    expect(await client.delete('/t/d', { ifValue: 'someone-else' })).toBe(false);
    expect(await client.get('/t/d')).toBe('owner');
    expect(await client.delete('/t/d', { ifValue: 'owner' })).toBe(true);
    expect(await client.get('/t/d')).toBeUndefined();
    expect(await client.delete('/t/d')).toBe(false);
  });

  test('fails over from a dead endpoint to a live one', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const c = new EtcdGatewayClient({ endpoints: [dead, etcd.endpoint], timeoutMs: 1000 });
    try {
      expect(await c.createIfAbsent('/t/failover', 'x')).toEqual({ created: true, value: 'x' });
    } finally {
      c.close();
    }
  });

  test('an endpoint that accepts but never answers times out, then fails over', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((sock) => held.push(sock)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const c = new EtcdGatewayClient({ endpoints: [`http://127.0.0.1:${port}`, etcd.endpoint], timeoutMs: 300 });
    const only = new EtcdGatewayClient({ endpoints: [`http://127.0.0.1:${port}`], timeoutMs: 300 });
    try {
      expect(await c.get('/t/a')).toBe('node-1');
      // Without the client's own timeout this would never answer (the test's timeout ends
      // it): no clock is read, a loaded machine cannot make it fail.
      const err = await only.get('/t/a').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TryAgainError);
      expect((err as Error).message).toContain(`127.0.0.1:${port}`);
    } finally {
      c.close();
      only.close();
      held.forEach((sock) => sock.destroy());
      await new Promise((r) => silent.close(r));
    }
  });

  test('a range of 25,000 keys is read in pages, completely and in order', async () => {
    const keys = Array.from({ length: 25000 }, (_, i) => `/page/${String(i).padStart(6, '0')}`);
    for (let i = 0; i < keys.length; i += 100) {
      await fetch(`${etcd.endpoint}/v3/kv/txn`, { method: 'POST', body: JSON.stringify({ success: keys.slice(i, i + 100).map((k) => ({ request_put: { key: Buffer.from(k).toString('base64'), value: Buffer.from('v').toString('base64') } })) }) });
    }
    const got = await client.rangePrefix('/page/');
    expect(got).toHaveLength(25000);
    expect(got.map((kv) => kv.key)).toEqual(keys);
  });

  test('an oversized answer is refused unread, and the error stays small', async () => {
    // A loopback stand-in for a member answering 17 MiB (real etcd is read in pages).
    const big = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 'a');
      for (let i = 0; i < 17; i++) res.write(chunk);
      res.end();
    });
    await new Promise<void>((r) => big.listen(0, '127.0.0.1', r));
    const c = new EtcdGatewayClient({ endpoints: [`http://127.0.0.1:${(big.address() as net.AddressInfo).port}`], timeoutMs: 5000 });
    try {
      const err = await c.get('/x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterStoreError);
      expect((err as Error).message).toMatch(/larger than 16 MiB; refused unread/);
      expect(JSON.stringify({ m: (err as Error).message, d: (err as ClusterStoreError).details }).length).toBeLessThan(1000);
    } finally {
      c.close();
      await new Promise((r) => big.close(r));
    }
  });

  test('bad endpoints are refused up front', () => {
    expect(() => new EtcdGatewayClient({ endpoints: [] })).toThrow(ClusterStoreError);
    expect(() => new EtcdGatewayClient({ endpoints: ['127.0.0.1:2379'] })).toThrow(ClusterStoreError);
    expect(() => new EtcdGatewayClient({ endpoints: ['not a url'] })).toThrow(ClusterStoreError);
  });

  test('killed etcd: TryAgainError naming the endpoint; works again after restart', async () => {
    await etcd.kill();
    const err = await client.get('/t/a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TryAgainError);
    expect((err as Error).message).toContain(new URL(etcd.endpoint).host);
    expect((err as TryAgainError).code).toBe('TRY_AGAIN');
    await etcd.start();
    expect(await client.get('/t/a')).toBe('node-1');
  });
});

describe('EtcdGatewayClient (TLS with client certificates)', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd({ tls: true });
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  test('works with the CA and a client certificate', async () => {
    const tls = etcd.clientTls!;
    const c = new EtcdGatewayClient({ endpoints: [etcd.endpoint], tls: { ca: fs.readFileSync(tls.ca), cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) } });
    try {
      expect(await c.createIfAbsent('/tls/k', 'v')).toEqual({ created: true, value: 'v' });
      expect(await c.rangePrefix('/tls/')).toEqual([{ key: '/tls/k', value: 'v' }]);
    } finally {
      c.close();
    }
  });

  test('without a client certificate, or without the CA, the handshake fails: the store refused us (107), not an outage (11)', async () => {
    const tls = etcd.clientTls!;
    const noCert = new EtcdGatewayClient({ endpoints: [etcd.endpoint], tls: { ca: fs.readFileSync(tls.ca) }, timeoutMs: 2000 });
    const noCa = new EtcdGatewayClient({ endpoints: [etcd.endpoint], tls: { cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) }, timeoutMs: 2000 });
    try {
      const e1 = await noCert.get('/tls/k').catch((e: unknown) => e);
      expect(e1).toBeInstanceOf(ClusterStoreError);
      expect((e1 as Error).message).toMatch(/TLS handshake with etcd failed .*check ipam\.clusterStore\.tls/);
      const e2 = await noCa.get('/tls/k').catch((e: unknown) => e);
      expect(e2).toBeInstanceOf(ClusterStoreError);
      expect((e2 as Error).message).toMatch(/certificate|CERT/i);
    } finally {
      noCert.close();
      noCa.close();
    }
  });
});

test('prefixEnd increments the last byte below 0xff', () => {
  expect(prefixEnd('/a/')).toEqual(Buffer.from('/a0'));
  expect(prefixEnd('a\u00ff')).toEqual(Buffer.from([0x61, 0xc3, 0xc0]));
  expect(prefixEnd('')).toEqual(Buffer.from([0]));
});

async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}
