/**
 * The blocks of one family's pools, numbered 0..total-1 across the pools in config order,
 * so that "the i-th block" is plain arithmetic: no list of blocks is ever built (a
 * 10.0.0.0/8 pool has 65,536 /24 blocks; an IPv6 pool can have 2^56).
 */
import { cidrContains, cidrSize, familyBits, formatCidr } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import type { FamilyPools } from './config';

export class BlockGrid {
  readonly pools: FamilyPools;
  readonly total: bigint;
  /** Index of each pool's first block. */
  readonly #firsts: bigint[] = [];
  readonly #blockSize: bigint;

  constructor(pools: FamilyPools) {
    this.pools = pools;
    this.#blockSize = 1n << BigInt(familyBits(pools.family) - pools.mask);
    let total = 0n;
    for (const pool of pools.pools) {
      this.#firsts.push(total);
      total += cidrSize(pool) / this.#blockSize;
    }
    this.total = total;
  }

  blockAt(index: bigint): Cidr {
    for (let i = this.pools.pools.length - 1; i >= 0; i--) {
      const first = this.#firsts[i]!;
      if (index >= first) return { family: this.pools.family, network: this.pools.pools[i]!.network + (index - first) * this.#blockSize, prefix: this.pools.mask };
    }
    throw new RangeError(`block index ${index} out of range`);
  }

  /** The index of `cidr` when it is exactly one of this grid's blocks. */
  indexOf(cidr: Cidr): bigint | undefined {
    if (cidr.family !== this.pools.family || cidr.prefix !== this.pools.mask) return undefined;
    const i = this.pools.pools.findIndex((pool) => cidrContains(pool, { family: cidr.family, value: cidr.network }));
    return i < 0 ? undefined : this.#firsts[i]! + (cidr.network - this.pools.pools[i]!.network) / this.#blockSize;
  }

  /**
   * Where `node` starts probing: a hash of its name, so nodes starting together spread
   * out. node:crypto is loaded here, on the claim path only: evaluating it costs every
   * process ~7 ms, and a warm ADD never claims.
   */
  async startIndex(node: string): Promise<bigint> {
    const { createHash } = await import('node:crypto');
    const digest = createHash('sha256').update(node).digest('hex');
    return BigInt(`0x${digest}`) % this.total;
  }

  describe(): string {
    return `${this.pools.pools.map(formatCidr).join(', ')} with /${this.pools.mask} blocks (${this.total} in all)`;
  }
}
