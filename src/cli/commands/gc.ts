/**
 * `pod-ipam gc --network NAME --keep-file FILE`: releases every reservation whose
 * container is not in FILE (IDs of containers still alive, one per line). With a CRI
 * runtime the attachment's owner is the pod sandbox: list them with
 * `crictl pods -q --no-trunc`; `podman ps -aq --no-trunc` for podman. A line of at least
 * 12 characters also keeps IDs it is a prefix of, so truncated listings keep, never free.
 * An empty file would free everything: refused unless --allow-empty.
 *
 * A pod the listing missed because it was still starting is alive, not leaked: its ADD ran
 * before the runtime listed it (containerd registers a sandbox after its network is set
 * up), so every reservation made after the keep file was written, or less than --grace
 * seconds before, is kept.
 */
import * as fs from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { Reservation } from '../../core/attachment';
import { releaseWhere } from '../../store/network-store';
import { auditOperatorRelease } from '../operator-audit';
import type { CliIO, CommandRegistrar } from '../program';
import { CliError, existingNetworkDir, parseDurationMs, parseNetworkName, withCommon } from './common';
import type { DataDirOptions, JsonOptions } from './common';
import { printReleased } from './release-report';

interface GcOptions extends DataDirOptions, JsonOptions {
  readonly network: string;
  readonly keepFile: string;
  readonly dryRun?: boolean;
  readonly allowEmpty?: boolean;
  readonly grace: number;
}

/** Default --grace: longer than a pod sandbox takes from its ADD to appearing in a listing. */
export const DEFAULT_GRACE_MS = 120_000;


/** Shortest line that keeps by prefix (crictl prints 13 characters without --no-trunc). */
export const MIN_PREFIX = 12;

export const registerGc: CommandRegistrar = (program: Command, io: CliIO) => {
  withCommon(
    program
      .command('gc')
      .description('release every reservation whose container is not listed in --keep-file')
      .addOption(new Option('--network <name>', 'the network (the config\'s "name")').argParser(parseNetworkName).makeOptionMandatory())
      .requiredOption('--keep-file <file>', 'container IDs still alive, one per line (as printed by crictl pods -q --no-trunc or podman ps -aq --no-trunc)')
      .option('--dry-run', 'show what would be released; change nothing')
      .option('--allow-empty', 'accept an empty keep file (releases every reservation of the network)')
      .addOption(new Option('--grace <duration>', 'also keep reservations made up to this long before the keep file was written, pods still starting when it was listed (90s, 2m; a number is seconds)').argParser(parseDurationMs).default(DEFAULT_GRACE_MS, '2m')),
  ).action(async (options: GcOptions) => {
    const keep = readKeepFile(options.keepFile);
    if (keep.length === 0 && !options.allowEmpty) {
      throw new CliError(`${options.keepFile} lists no container, which would release every address of network ${options.network}`, 'if that is what you want, pass --allow-empty; otherwise check the command that wrote the file');
    }
    existingNetworkDir(options.dataDir, options.network);
    const isKept = (id: string) => keep.some((k) => k === id || (k.length >= MIN_PREFIX && id.startsWith(k)));
    // A pod started after the keep file was written, or while it was being listed, is not
    // in it but is alive: every reservation made since (mtime - grace) is kept.
    const keepFrom = new Date(fs.statSync(options.keepFile).mtimeMs - options.grace).toISOString();
    const isNewer = (r: Reservation) => r.since !== '' && r.since >= keepFrom;
    const { picked, released, total, failures } = await releaseWhere(
      { dataDir: options.dataDir, network: options.network },
      (all) => all.filter((r) => !isKept(r.owner.containerId) && !isNewer(r)),
      options.dryRun === true,
    );
    auditOperatorRelease(options.dataDir, options.network, 'gc', released);
    if (failures.length > 0) throw new CliError(`could not release ${failures.length} reservation(s): ${failures.slice(0, 5).join('; ')}`);
    printReleased(io, options.network, picked, { dryRun: options.dryRun === true, json: options.json === true, kept: total - picked.length });
  });
};

function readKeepFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(`cannot read the keep file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
