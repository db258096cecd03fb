/**
 * Block ownership in etcd: one key per block whose value is the owner, laid out by the
 * block's network bits (block-keys.ts) so that a claim can compare, in one transaction,
 * every key that could overlap the block: its ancestors (exact keys) and the contiguous
 * range of itself and its descendants. Of any number of racing claims that overlap,
 * whatever their masks, at most one commits; a retry after a lost answer sees its own
 * name and counts as won. A node's heartbeat is a key saying until when it counts (host
 * clocks are assumed to agree to well within its ten minutes).
 */
import * as fs from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../../core/errors';
import { cidrsOverlap } from '../../core/ip';
import { ancestorKeys, blockKey, blockOfKey, parseBlock } from './block-keys';
import { EtcdGatewayClient, prefixEnd } from './etcd-gateway-client';
import { validHeartbeat } from './cluster-store';
import type { BlockOwner, ClaimResult, ClusterStore, EtcdStoreConfig } from './cluster-store';

export function openEtcdClusterStore(config: EtcdStoreConfig, configPath: string): ClusterStore {
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  for (const field of ['ca', 'cert', 'key'] as const) {
    const file = config.tls?.[field];
    if (file === undefined) continue;
    try {
      tls[field] = fs.readFileSync(file);
    } catch (e) {
      throw new ConfigError(`${configPath}.tls.${field}`, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    // A file that is not PEM (or a key that does not match its certificate) fails here,
    // as a config error naming the field, not later inside a request as an internal one.
    try {
      // Node silently ignores a CA file without a certificate in it: check for one.
      if (field === 'ca' && !tls.ca!.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) throw new Error('no "-----BEGIN CERTIFICATE-----" block in it');
      createSecureContext(field === 'key' ? { cert: tls.cert, key: tls.key } : { [field]: tls[field] });
    } catch (e) {
      throw new ConfigError(`${configPath}.tls.${field}`, `${file} is not a usable PEM ${field === 'ca' ? 'CA certificate' : field === 'cert' ? 'certificate' : 'private key matching tls.cert'}: ${(e as Error).message}`);
    }
  }
  const client = new EtcdGatewayClient({ endpoints: config.endpoints, tls, ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}) });
  return new EtcdClusterStore(client, config);
}

class EtcdClusterStore implements ClusterStore {
  readonly description: string;
  readonly #client: EtcdGatewayClient;
  readonly #prefix: string;

  constructor(client: EtcdGatewayClient, config: EtcdStoreConfig) {
    this.#client = client;
    this.#prefix = config.prefix;
    this.description = `etcd ${config.endpoints.join(',')} prefix ${config.prefix}`;
  }

  async claim(block: string, node: string): Promise<ClaimResult> {
    const cidr = parseBlock(block);
    if (!cidr) throw new RangeError(`not a block: ${block}`);
    const key = blockKey(this.#prefix, cidr);
    const { value } = await this.#client.createIfNoneOf(key, node, ancestorKeys(this.#prefix, cidr), prefixEnd(key));
    if (value === node) return { owner: node, won: true };
    // Lost: to the block's owner, or to an overlapping block (say whose, for messages).
    if (value !== '') return { owner: value, won: false };
    const other = (await this.list()).find((o) => overlaps(o.block, block));
    return { owner: other?.node ?? '', won: false };
  }

  owner(block: string): Promise<string | undefined> {
    const cidr = parseBlock(block);
    return cidr ? this.#client.get(blockKey(this.#prefix, cidr)) : Promise.resolve(undefined);
  }

  async list(): Promise<BlockOwner[]> {
    // One range over "<prefix>/blocks4/" and "<prefix>/blocks6/" (and nothing else that parses as a block).
    return (await this.#client.rangePrefix(`${this.#prefix}/blocks`)).flatMap((kv) => {
      const block = blockOfKey(this.#prefix, kv.key);
      return block ? [{ block, node: kv.value }] : [];
    });
  }

  release(block: string, node: string): Promise<boolean> {
    const cidr = parseBlock(block);
    return cidr ? this.#client.delete(blockKey(this.#prefix, cidr), { ifValue: node }) : Promise.resolve(false);
  }

  /** One plain put (one raft write; a lease would cost a second): the value says until when it counts. */
  heartbeat(node: string, ttlSeconds: number): Promise<void> {
    const at = new Date();
    return this.#client.put(this.#heartbeatKey(node), JSON.stringify({ at: at.toISOString(), until: new Date(at.getTime() + ttlSeconds * 1000).toISOString() }));
  }

  async lastHeartbeat(node: string): Promise<string | undefined> {
    return validHeartbeat(await this.#client.get(this.#heartbeatKey(node)));
  }

  async close(): Promise<void> {
    this.#client.close();
  }

  #heartbeatKey = (node: string): string => `${this.#prefix}/heartbeats/${node}`;
}

function overlaps(a: string, b: string): boolean {
  const x = parseBlock(a);
  const y = parseBlock(b);
  return !!x && !!y && cidrsOverlap(x, y);
}
