/**
 * `pod-ipam blocks forget --config FILE`: run on a node whose STATUS fails because the
 * cluster store gives one of its blocks to another node (a "lost" block, see
 * modes/cluster-pool/store-check.ts). The node already stopped handing out the block's
 * addresses; this drops it from the node's record once no pod of this node uses it any
 * more, which ends the STATUS failure. It refuses while reservations remain (those pods
 * may share addresses with pods of the block's owner: move them first) unless --force.
 */
import type { Command } from 'commander';
import { cidrContains, formatIP, parseCidr } from '../../core/ip';
import { readLocalBlocks, writeLocalBlocks } from '../../modes/cluster-pool/local-blocks';
import { networkDir, withNetworkState } from '../../store/network-store';
import type { CliIO } from '../program';
import { CliError } from './common';

interface ForgetOptions {
  readonly config: string;
  readonly block?: string;
  readonly force: boolean;
}

export function registerBlocksForget(blocks: Command, io: CliIO, load: (file: string) => { network: string; dataDir: string }): void {
  blocks
    .command('forget')
    .description("on a node: drop blocks the store gives to another node from this node's record, once no pod uses them")
    .requiredOption('-c, --config <file>', 'the network config (.conflist or .conf) using mode "cluster-pool"')
    .option('--block <cidr>', 'only this block (default: every lost block)')
    .option('--force', 'drop them even though pods of this node still hold addresses in them', false)
    .action(async (opts: ForgetOptions) => {
      const { network, dataDir } = load(opts.config);
      const stateDir = networkDir(dataDir, network);
      await withNetworkState({ dataDir, network }, (state) => {
        const local = readLocalBlocks(stateDir);
        const lost = (local?.lost ?? []).filter((l) => opts.block === undefined || l.block === opts.block);
        if (!local || lost.length === 0) {
          io.stdout(`network ${network}: no lost block${opts.block ? ` ${opts.block}` : ''} is recorded under ${dataDir}\n`);
          return;
        }
        const reservations = state.reservations();
        const dropped = new Set<string>();
        for (const l of lost) {
          const cidr = parseCidr(l.block)!.cidr;
          const live = reservations.filter((r) => cidrContains(cidr, r.ip));
          if (live.length > 0 && !opts.force) {
            const sample = live.slice(0, 5).map((r) => `${formatIP(r.ip)} (${r.owner.containerId})`).join(', ');
            throw new CliError(`block ${l.block} (owned by ${l.owner} in the store) still has ${live.length} reservation(s) on this node: ${sample}; delete or move those pods first, or pass --force`);
          }
          dropped.add(l.block);
          io.stdout(`forgot ${l.block} (owned by ${l.owner})${live.length > 0 ? `; ${live.length} reservation(s) remain until their DEL` : ''}\n`);
        }
        writeLocalBlocks(stateDir, { ...local, lost: (local.lost ?? []).filter((l) => !dropped.has(l.block)) });
      });
    });
}
