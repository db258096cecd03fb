/** `pod-ipam status`: per network, its ranges with use and capacity, its reservations, warnings. */
import { Option } from 'commander';
import type { Command } from 'commander';
import type { CliIO, CommandRegistrar } from '../program';
import { podColumn } from '../format/pod';
import { renderTable, toJson, utilizationBar } from '../format/table';
import { inspectNetwork } from '../inspect/network-view';
import type { NetworkView } from '../inspect/network-view';
import { CliError, listNetworks, parseNetworkName, withCommon } from './common';
import type { DataDirOptions, JsonOptions } from './common';

interface StatusOptions extends DataDirOptions, JsonOptions {
  readonly network?: string;
  readonly reservations: boolean;
}

export const registerStatus: CommandRegistrar = (program: Command, io: CliIO) => {
  withCommon(
    program
      .command('status')
      .description('show each network: mode, ranges (used / free / total), reservations and warnings')
      .addOption(new Option('--network <name>', 'only this network').argParser(parseNetworkName))
      .option('--no-reservations', 'leave out the list of reservations (table output)'),
  ).action(async (options: StatusOptions) => {
    const names = options.network ? [options.network] : listNetworks(options.dataDir);
    if (names.length === 0) throw new CliError(`no network has state under ${options.dataDir}`, 'check --data-dir (the plugin\'s ipam.dataDir)');
    const views: NetworkView[] = [];
    for (const name of names) views.push(await inspectNetwork(options.dataDir, name));
    io.stdout(options.json ? toJson({ dataDir: options.dataDir, networks: views }) : views.map((v) => renderNetwork(v, options.reservations)).join('\n'));
  });
};

function renderNetwork(view: NetworkView, withReservations: boolean): string {
  const details = Object.entries(view.details)
    .filter(([, v]) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string')))
    .map(([k, v]) => `${k} ${Array.isArray(v) ? v.join(',') || '-' : String(v)}`);
  let out = `network ${view.name}  mode ${view.mode ?? 'unknown'}${details.length > 0 ? `  ${details.join('  ')}` : ''}\n`;
  if (view.ranges.length > 0) {
    out += renderTable(
      ['SET', 'RANGE', 'GATEWAY', 'USED', 'FREE', 'TOTAL', 'UTILIZATION'],
      view.ranges.map((r) => [String(r.set), `${r.cidr}${r.label ? ` (${r.label})` : ''}`, r.gateway, String(r.used), String(r.free), String(r.total), utilizationBar(BigInt(r.used), r.total)]),
      [0, 3, 4, 5],
    );
  }
  if (withReservations) {
    out += view.reservations.length === 0
      ? 'no reservations\n'
      : renderTable(['ADDRESS', 'POD', 'CONTAINER', 'IFNAME', 'SINCE'], view.reservations.map((r) => [r.address, podColumn(r.pod), r.containerId, r.ifname, r.since]));
  } else {
    out += `${view.reservations.length} reservation(s)\n`;
  }
  for (const w of view.warnings) out += `warning: ${w}\n`;
  return out;
}
