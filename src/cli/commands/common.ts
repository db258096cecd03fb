/** Options and checks shared by the operator commands. */
import * as fs from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { DEFAULT_DATA_DIR } from '../../cni/ipam-config';
import { isNetworkName } from '../../cni/netconf';
import { PodIpamError } from '../../core/errors';
import { networkDir } from '../../store/network-store';

export interface DataDirOptions {
  readonly dataDir: string;
}

export interface JsonOptions {
  readonly json?: boolean;
}

export const dataDirOption = (): Option =>
  new Option('--data-dir <dir>', "the plugin's data directory (ipam.dataDir)").default(DEFAULT_DATA_DIR).argParser((v) => {
    if (!v.startsWith('/')) throw new InvalidArgumentError('must be an absolute path');
    return v;
  });

export const jsonOption = (): Option => new Option('--json', 'machine-readable JSON instead of a table');

export function parseNetworkName(v: string): string {
  if (!isNetworkName(v)) throw new InvalidArgumentError('not a network name (letters, digits, "_", "." and "-")');
  return v;
}

/** A failure of the command itself (exit 1 unless the command documents another code), not of its arguments. */
export class CliError extends PodIpamError {
  readonly exitCode: number;
  constructor(message: string, details = '', exitCode = 1) {
    super('CLI', message, details);
    this.exitCode = exitCode;
  }
}

/** The network's state directory; it must exist (commands never create state for a typo). */
export function existingNetworkDir(dataDir: string, network: string): string {
  const dir = networkDir(dataDir, network);
  if (!fs.existsSync(`${dir}/ips`)) {
    const known = listNetworks(dataDir);
    throw new CliError(`no state for network ${JSON.stringify(network)} under ${dataDir}`, known.length > 0 ? `networks there: ${known.join(', ')}` : 'no network has state there yet; check --data-dir');
  }
  return dir;
}

/** Networks with state under `dataDir` (directories holding ips/), sorted. */
export function listNetworks(dataDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dataDir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CliError(`cannot read ${dataDir}: ${(e as Error).message}`);
  }
  return names.filter((n) => isNetworkName(n) && fs.existsSync(`${networkDir(dataDir, n)}/ips`)).sort();
}

/** Registers `cmd` with the shared options applied. */
export const withCommon = (cmd: Command, json = true): Command => {
  cmd.addOption(dataDirOption());
  if (json) cmd.addOption(jsonOption());
  return cmd;
};

/** The longest duration taken: a timer's limit (2^31-1 ms, ~24.8 days); a longer period fired at once, in a loop. */
const MAX_DURATION_MS = 2 ** 31 - 1;

/** `90s`, `5m`, `1h`, or a number of seconds; 0 allowed; the same for every command's --grace and period. */
export function parseDurationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError('must be a duration such as 90s, 5m, 1h (a bare number is seconds)');
  const ms = Math.round(Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 's' | 'm' | 'h']);
  if (ms > MAX_DURATION_MS) throw new InvalidArgumentError('must be at most 596h (about 24 days)');
  return ms;
}
