/**
 * One contract, run against both cluster stores: the file store in a temp directory and
 * the etcd store against a real etcd.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openClusterStore } from '../../../src/store/cluster/cluster-store';
import type { ClusterStore } from '../../../src/store/cluster/cluster-store';
import { ConfigError, CorruptStateError, TryAgainError } from '../../../src/core/errors';
import { startEtcd } from '../../helpers/etcd-server';
import type { EtcdServer } from '../../helpers/etcd-server';

let etcd: EtcdServer;
let tmp: string;
beforeAll(async () => {
  etcd = await startEtcd();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pod-ipam-cstore-'));
});
afterAll(async () => {
  await etcd?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let seq = 0;
const stores: [string, () => Promise<ClusterStore>][] = [
  ['file', () => openClusterStore({ type: 'file', path: path.join(tmp, `store-${++seq}`) })],
  ['etcd', () => openClusterStore({ type: 'etcd', endpoints: [etcd.endpoint], prefix: `/test-${++seq}` })],
];

describe.each(stores)('%s cluster store', (_name, open) => {
  let store: ClusterStore;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.close();
  });

  test('claim, owner, list, release', async () => {
    expect(await store.list()).toEqual([]);
    expect(await store.owner('10.0.1.0/24')).toBeUndefined();
    expect(await store.claim('10.0.1.0/24', 'node-a')).toEqual({ owner: 'node-a', won: true });
    expect(await store.claim('10.0.1.0/24', 'node-b')).toEqual({ owner: 'node-a', won: false });
    // A retry by the owner (e.g. after a lost answer) counts as won.
    expect(await store.claim('10.0.1.0/24', 'node-a')).toEqual({ owner: 'node-a', won: true });
    expect(await store.claim('fd00::100/120', 'node-b')).toEqual({ owner: 'node-b', won: true });
    expect(await store.owner('10.0.1.0/24')).toBe('node-a');
    expect((await store.list()).sort((a, b) => a.block.localeCompare(b.block))).toEqual([
      { block: '10.0.1.0/24', node: 'node-a' },
      { block: 'fd00::100/120', node: 'node-b' },
    ]);
    expect(await store.release('10.0.1.0/24', 'node-b')).toBe(false);
    expect(await store.owner('10.0.1.0/24')).toBe('node-a');
    expect(await store.release('10.0.1.0/24', 'node-a')).toBe(true);
    expect(await store.release('10.0.1.0/24', 'node-a')).toBe(false);
    expect(await store.list()).toEqual([{ block: 'fd00::100/120', node: 'node-b' }]);
  });

  test('20 nodes racing for one block: exactly one wins', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claim('10.9.0.0/24', `n${i}`)));
    const winners = results.filter((r) => r.won);
    expect(winners).toHaveLength(1);
    expect(results.every((r) => r.owner === winners[0]!.owner)).toBe(true);
    expect(await store.owner('10.9.0.0/24')).toBe(winners[0]!.owner);
  });
});

test('file store: a corrupt blocks file is reported, never reset', async () => {
  const dir = path.join(tmp, 'corrupt');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'blocks.json'), '{"version":1,"blocks":');
  const store = await openClusterStore({ type: 'file', path: dir });
  await expect(store.list()).rejects.toBeInstanceOf(CorruptStateError);
  await expect(store.claim('10.0.0.0/24', 'n')).rejects.toBeInstanceOf(CorruptStateError);
  fs.writeFileSync(path.join(dir, 'blocks.json'), '{"version":1,"blocks":{"10.0.0.0/24":5}}');
  await expect(store.list()).rejects.toBeInstanceOf(CorruptStateError);
  expect(fs.readFileSync(path.join(dir, 'blocks.json'), 'utf8')).toContain('5');
});

test('etcd store: unreadable TLS file is a ConfigError naming the field', async () => {
  const err = await openClusterStore({ type: 'etcd', endpoints: [etcd.endpoint], prefix: '/x', tls: { ca: path.join(tmp, 'nope.pem') } }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).path).toBe('ipam.clusterStore.tls.ca');
});

test('etcd store: unreachable etcd is TryAgainError naming the endpoint', async () => {
  const store = await openClusterStore({ type: 'etcd', endpoints: ['http://127.0.0.1:1'], prefix: '/x', timeoutMs: 500 });
  const err = await store.claim('10.0.0.0/24', 'n').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(TryAgainError);
  expect((err as Error).message).toContain('127.0.0.1:1');
  await store.close();
});
