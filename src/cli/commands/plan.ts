/**
 * `pod-ipam plan`: capacity planning for cluster-pool before the pool is chosen. The
 * pools and mask are checked by the cluster-pool mode's own config parser, and a block's
 * usable addresses by the same range code the plugin allocates from, so the plan and the
 * running plugin cannot disagree. Exit 1 when the plan cannot work, with the reasons.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors';
import { cidrLast, cidrSize, cidrsOverlap, formatCidr, parseCidr } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import { canonicalizeRange, rangeCapacity } from '../../core/range';
import { parseClusterPoolConfig } from '../../modes/cluster-pool/config';
import type { CliIO, CommandRegistrar } from '../program';
import { renderTable, toJson } from '../format/table';
import { readHostRoutes } from '../inspect/host-routes';
import { CliError, jsonOption } from './common';
import type { JsonOptions } from './common';

interface PlanOptions extends JsonOptions {
  readonly pool: string[];
  readonly maskSize: number;
  readonly nodes?: number;
  readonly maxPods?: number;
  readonly avoid: string[];
  readonly routes: boolean;
}

export interface Conflict {
  readonly cidr: string;
  readonly source: 'avoid' | 'route';
  readonly device: string | null;
  /** Blocks of the pools the CIDR overlaps (unusable for pods). */
  readonly blocks: bigint;
}

const cidrList = (value: string, previous: string[] = []): string[] => {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    const parsed = parseCidr(item);
    if (!parsed) throw new InvalidArgumentError(`${JSON.stringify(item)} is not a CIDR such as 10.0.0.0/8`);
    if (parsed.hostBitsSet) throw new InvalidArgumentError(`${item} has host bits set; did you mean ${formatCidr(parsed.cidr)}?`);
  }
  return [...previous, ...items];
};

const count = (name: string) => (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be a whole number of at least 1`);
  return Number(value);
};

export const registerPlan: CommandRegistrar = (program: Command, io: CliIO) => {
  const cmd = program
    .command('plan')
    .description('cluster-pool capacity planning: blocks, pods per block, headroom, overlaps with other networks')
    .addOption(new Option('--pool <cidrs>', 'pool CIDR(s), comma-separated or repeated (one family)').argParser(cidrList).makeOptionMandatory())
    .addOption(new Option('--mask-size <n>', 'prefix length of each node block').argParser(count('--mask-size')).makeOptionMandatory())
    .addOption(new Option('--nodes <n>', 'nodes the cluster should hold').argParser(count('--nodes')))
    .addOption(new Option('--max-pods <n>', 'pods per node (kubelet maxPods, 110 by default)').argParser(count('--max-pods')))
    .addOption(new Option('--avoid <cidrs>', 'networks pods must not overlap (node, service networks)').argParser(cidrList).default([]))
    .option('--no-routes', "do not check against this host's routing table")
    .addOption(jsonOption());
  cmd.action((options: PlanOptions) => {
    const family = parseCidr(options.pool[0]!)!.cidr.family;
    if (options.pool.some((p) => parseCidr(p)!.cidr.family !== family)) cmd.error('error: --pool mixes IPv4 and IPv6; plan one family at a time', { exitCode: 2 });
    let pools: readonly Cidr[];
    try {
      const config = parseClusterPoolConfig({ [`clusterPoolIPv${family}PodCIDRList`]: options.pool, [`clusterPoolIPv${family}MaskSize`]: options.maskSize, nodeName: 'plan' }, {}, '/nonexistent');
      pools = config.families[0]!.pools;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const flag = e.path.includes('MaskSize') ? '--mask-size' : '--pool';
      cmd.error(`error: ${flag}: ${e.message.slice(e.path.length + 2)}`, { exitCode: 2 });
    }
    const plan = makePlan(pools!, options, options.routes ? readHostRoutes(io.env) : []);
    io.stdout(options.json ? toJson(plan) : renderPlan(plan));
    if (!plan.ok) throw new CliError(`the plan cannot work: ${plan.problems.join('; ')}`);
  });
};

export function makePlan(pools: readonly Cidr[], o: PlanOptions, routes: readonly { cidr: Cidr; device: string }[]) {
  const family = pools[0]!.family;
  const blockSize = 1n << BigInt((family === 4 ? 32 : 128) - o.maskSize);
  const blocks = pools.reduce((sum, p) => sum + cidrSize(p) / blockSize, 0n);
  const firstBlock = formatCidr({ family, network: pools[0]!.network, prefix: o.maskSize });
  const usablePerBlock = rangeCapacity(canonicalizeRange({ subnet: firstBlock }, 'block'));
  const conflicts: Conflict[] = [
    ...o.avoid.map((text) => ({ cidr: parseCidr(text)!.cidr, source: 'avoid' as const, device: null })),
    // The default route (and other /0s) covers everything: it is no collision.
    ...routes.filter((r) => r.cidr.prefix > 0).map((r) => ({ cidr: r.cidr, source: 'route' as const, device: r.device })),
  ].flatMap((c) => {
    const touched = pools.reduce((sum, p) => sum + blocksTouched(p, c.cidr, blockSize), 0n);
    return touched > 0n ? [{ cidr: formatCidr(c.cidr), source: c.source, device: c.device, blocks: touched }] : [];
  });
  const blocked = conflicts.reduce((s, c) => s + c.blocks, 0n);
  const problems: string[] = [];
  const maxPodsFits = o.maxPods === undefined ? null : BigInt(o.maxPods) <= usablePerBlock;
  if (maxPodsFits === false) {
    problems.push(`a /${o.maskSize} block holds ${usablePerBlock} pods besides its gateway: it cannot serve --max-pods ${o.maxPods}; use /${longestMaskFor(o.maxPods!, family)} or a shorter mask`);
  }
  const headroom = o.nodes === undefined ? null : blocks - BigInt(o.nodes);
  if (headroom !== null && headroom < 0n) problems.push(`${o.nodes} nodes need ${o.nodes} blocks but the pools hold ${blocks}; use a longer mask or more pools`);
  for (const c of conflicts) problems.push(`${c.cidr} (${c.source === 'avoid' ? '--avoid' : `route via ${c.device}`}) overlaps ${c.blocks} block(s) of the pools`);
  return {
    ok: problems.length === 0,
    family: `IPv${family}`,
    pools: pools.map(formatCidr),
    maskSize: o.maskSize,
    blockAddresses: blockSize,
    blocks,
    usablePerBlock,
    podCapacity: blocks * usablePerBlock,
    nodes: o.nodes ?? null,
    headroom,
    maxPods: o.maxPods ?? null,
    maxPodsFits,
    conflicts,
    blocksClear: blocks - blocked < 0n ? 0n : blocks - blocked,
    problems,
  };
}

/** Blocks of `pool` that `other` overlaps. */
function blocksTouched(pool: Cidr, other: Cidr, blockSize: bigint): bigint {
  if (!cidrsOverlap(pool, other)) return 0n;
  const lo = (other.network > pool.network ? other.network : pool.network) - pool.network;
  const hi = (cidrLast(other) < cidrLast(pool) ? cidrLast(other) : cidrLast(pool)) - pool.network;
  return hi / blockSize - lo / blockSize + 1n;
}

/** Longest mask whose block still holds `pods` addresses besides network, gateway (and broadcast). */
function longestMaskFor(pods: number, family: 4 | 6): number {
  const bits = family === 4 ? 32 : 128;
  for (let mask = family === 4 ? 30 : 126; mask > 0; mask--) {
    const range = canonicalizeRange({ subnet: formatCidr({ family, network: 0n, prefix: mask }) }, 'block');
    if (rangeCapacity(range) >= BigInt(pods)) return mask;
  }
  return bits - 1;
}

function renderPlan(plan: ReturnType<typeof makePlan>): string {
  const rows: [string, string][] = [
    ['pools', `${plan.pools.join(', ')} (${plan.family})`],
    ['block size', `/${plan.maskSize} (${plan.blockAddresses} addresses)`],
    ['blocks (node limit)', String(plan.blocks)],
    ['pods per block', String(plan.usablePerBlock)],
    ['pod capacity', String(plan.podCapacity)],
  ];
  if (plan.maxPods !== null) rows.push(['max pods per node', `${plan.maxPods}: ${plan.maxPodsFits ? 'fits' : 'DOES NOT FIT'}`]);
  if (plan.nodes !== null) rows.push(['nodes', `${plan.nodes}: headroom ${plan.headroom} block(s)`]);
  rows.push(['blocks clear of conflicts', String(plan.blocksClear)]);
  let out = renderTable(['PLAN', 'VALUE'], rows);
  if (plan.conflicts.length > 0) {
    out += renderTable(['CONFLICT', 'SOURCE', 'BLOCKS'], plan.conflicts.map((c) => [c.cidr, c.source === 'avoid' ? '--avoid' : `route dev ${c.device}`, String(c.blocks)]), [2]);
  }
  out += plan.ok ? 'the plan works\n' : plan.problems.map((p) => `problem: ${p}\n`).join('');
  return out;
}
