/**
 * `pod-ipam blocks [show]`: which node owns which block of the cluster pool, and a picture
 * of the pool; `--svg FILE` writes the picture as an SVG. It joins the `blocks` command of
 * blocks.ts (list, release) as its default subcommand, whichever registers first.
 */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { formatCidr } from '../../core/ip';
import type { CliIO, CommandRegistrar } from '../program';
import { cellsOf, legendOf, renderCells, renderSvg } from '../format/pool-picture';
import { renderTable, toJson } from '../format/table';
import { loadPoolView } from '../inspect/pool-view';
import { CliError, dataDirOption, jsonOption } from './common';
import type { JsonOptions } from './common';

interface ShowOptions extends JsonOptions {
  readonly config: string;
  readonly svg?: string;
  readonly dataDir?: string;
}

/** The one `blocks` command, created by whichever registrar runs first. */
export const blocksCommand = (program: Command): Command =>
  program.commands.find((c) => c.name() === 'blocks') ?? program.command('blocks').description('cluster-pool: show or free the blocks nodes own');

export const registerBlocksView: CommandRegistrar = (program: Command, io: CliIO) => {
  const dataDir = dataDirOption();
  dataDir.defaultValue = undefined;
  dataDir.description = "where this host's network state is (default: the config's ipam.dataDir)";
  blocksCommand(program)
    .command('show', { isDefault: true })
    .description('the blocks of the pool: owner, use (blocks this host serves) and a picture; the default')
    .requiredOption('-c, --config <file>', 'the network config (.conflist or .conf) using mode "cluster-pool"')
    .option('--svg <file>', 'also write the picture as an SVG file')
    .addOption(dataDir)
    .addOption(jsonOption())
    .action(async (options: ShowOptions) => {
      const view = await loadPoolView(options.config, io.env, options.dataDir);
      const legend = legendOf(view.blocks);
      const sections = view.grids.map((g) => ({ title: g.describe(), cells: cellsOf(g, view.blocks) }));
      if (options.svg) {
        try {
          fs.writeFileSync(options.svg, renderSvg(sections, legend));
        } catch (e) {
          throw new CliError(`cannot write ${options.svg}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      if (options.json) {
        io.stdout(toJson({ network: view.network, store: view.store, lost: view.lost, pools: view.grids.map((g) => ({ family: `IPv${g.pools.family}`, pools: g.pools.pools.map(formatCidr), maskSize: g.pools.mask, blocks: g.total })), blocks: view.blocks }));
        return;
      }
      let out = `network ${view.network}  store ${view.store}\n`;
      out += view.blocks.length === 0
        ? 'no block is claimed\n'
        : renderTable(['BLOCK', 'NODE', 'USED', 'CAPACITY'], view.blocks.map((b) => [b.block, b.node, b.used === null ? '-' : String(b.used), String(b.capacity)]), [2, 3]);
      for (const s of sections) out += `\n${s.title}  (. free, letter = owner, upper case = at least half used)\n${renderCells(s.cells, legend)}`;
      if (legend.size > 0) out += `\n${[...legend].map(([node, letter]) => `${letter} ${node}`).join('\n')}\n`;
      for (const l of view.lost) out += `\nLOST: this host no longer serves ${l.block}: the store gives it to ${l.owner} (seen ${l.since}); STATUS fails until "pod-ipam blocks forget"\n`;
      if (options.svg) out += `\nwrote ${options.svg}\n`;
      io.stdout(out);
    });
};
