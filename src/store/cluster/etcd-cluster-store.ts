/**
 * Block ownership in etcd: one key per block, `<prefix>/blocks/<network>_<prefixlen>`,
 * whose value is the owning node's name. A claim is a single create-if-absent transaction
 * (compare create_revision == 0), so exactly one of any number of racing nodes wins, and
 * a retry after a lost answer sees its own name and counts as won.
 */
import * as fs from 'node:fs';
import { ConfigError } from '../../core/errors';
import { EtcdGatewayClient } from './etcd-gateway-client';
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
  }
  const client = new EtcdGatewayClient({ endpoints: config.endpoints, tls, ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}) });
  return new EtcdClusterStore(client, config);
}

class EtcdClusterStore implements ClusterStore {
  readonly description: string;
  readonly #client: EtcdGatewayClient;
  readonly #blocksPrefix: string;

  constructor(client: EtcdGatewayClient, config: EtcdStoreConfig) {
    this.#client = client;
    this.#blocksPrefix = `${config.prefix}/blocks/`;
    this.description = `etcd ${config.endpoints.join(',')} prefix ${config.prefix}`;
  }

  async claim(block: string, node: string): Promise<ClaimResult> {
    const { value } = await this.#client.createIfAbsent(this.#key(block), node);
    return { owner: value, won: value === node };
  }

  owner(block: string): Promise<string | undefined> {
    return this.#client.get(this.#key(block));
  }

  async list(): Promise<BlockOwner[]> {
    const kvs = await this.#client.rangePrefix(this.#blocksPrefix);
    return kvs.map((kv) => ({ block: kv.key.slice(this.#blocksPrefix.length).replace('_', '/'), node: kv.value }));
  }

  release(block: string, node: string): Promise<boolean> {
    return this.#client.delete(this.#key(block), { ifValue: node });
  }

  async close(): Promise<void> {
    this.#client.close();
  }

  // "/" inside the CIDR would read as a key level; "_" never occurs in an address.
  #key = (block: string): string => `${this.#blocksPrefix}${block.replace('/', '_')}`;
}
