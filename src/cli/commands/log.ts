/**
 * `pod-ipam log`: the plugin's audit log (one line per CNI call), filtered, as a table or
 * JSON lines, and followed with --follow. Answers "why did pod X not get an address":
 *   pod-ipam log --pod default/web-1 --errors
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { defaultLogFile } from '../../audit/config';
import type { AuditFields } from '../../audit/fields';
import { matcher, parseSince } from '../../audit/filter';
import type { LogFilter } from '../../audit/filter';
import { followLog } from '../../audit/follow';
import { readLog } from '../../audit/reader';
import { parseIpamCommon } from '../../cni/ipam-config';
import { parseNetConf } from '../../cni/netconf';
import { formatIP, parseIP } from '../../core/ip';
import { podRef } from '../../core/pod';
import { renderTable } from '../format/table';
import { readConfigFile } from '../inspect/config-file';
import { OPERATOR_VERBS } from '../operator-audit';
import type { CliIO, CommandRegistrar } from '../program';
import { CliError, parseNetworkName, withCommon } from './common';
import type { DataDirOptions, JsonOptions } from './common';

interface LogOptions extends DataDirOptions, JsonOptions {
  readonly file?: string;
  readonly config?: string;
  readonly pod?: string;
  readonly container?: string;
  readonly address?: string;
  readonly network?: string;
  readonly verb?: string;
  readonly since?: string;
  readonly errors?: boolean;
  readonly lines: number;
  readonly follow?: boolean;
}

export const registerLog: CommandRegistrar = (program: Command, io: CliIO) => {
  withCommon(
    program
      .command('log')
      .description('show the audit log: one line per CNI call (what was asked, what was given or why not)')
      .addOption(new Option('--file <path>', 'the log file (ipam.logFile); default <data-dir>/pod-ipam.log').conflicts('config'))
      .addOption(new Option('-c, --config <file>', "read logFile (or dataDir) from this network config (.conflist, .conf)"))
      .addOption(new Option('--pod <namespace/name>', 'only calls for this pod (CNI_ARGS K8S_POD_NAMESPACE/K8S_POD_NAME); a bare name matches any namespace'))
      .addOption(new Option('--container <id>', 'only this container ID, or IDs starting with it'))
      .addOption(new Option('--address <ip>', 'only calls that gave, released, asked for or refused this address').argParser(parseAddress))
      .addOption(new Option('--network <name>', 'only this network').argParser(parseNetworkName))
      .addOption(new Option('--verb <verb>', 'only calls of this verb: the plugin\'s ADD, DEL, CHECK, GC, STATUS, or the releases of the operator commands release, gc and reconcile').choices(['ADD', 'DEL', 'CHECK', 'GC', 'STATUS', ...Object.values(OPERATOR_VERBS)]))
      .addOption(new Option('--since <when>', 'only calls since a duration ago (90s, 15m, 2h, 7d) or a time (2026-12-02T03:00:00Z)').argParser(checkSince))
      .option('--errors', 'only failed calls')
      .addOption(new Option('-n, --lines <n>', 'the last N matching calls (0: all)').default(50).argParser(parseCount))
      .option('-f, --follow', 'keep printing matching calls as they are logged (Ctrl-C to stop)'),
  ).action(async (options: LogOptions) => {
    const files = logFilesFor(options);
    const filter: LogFilter = {
      ...(options.pod !== undefined ? { pod: options.pod } : {}),
      ...(options.container !== undefined ? { container: options.container } : {}),
      ...(options.address !== undefined ? { address: options.address } : {}),
      ...(options.network !== undefined ? { network: options.network } : {}),
      ...(options.verb !== undefined ? { verb: options.verb } : {}),
      ...(options.since !== undefined ? { since: parseSince(options.since, new Date())! } : {}),
      ...(options.errors ? { errors: true } : {}),
    };
    const matches = matcher(filter, canonical);
    const contents = files.map((f) => ({ file: f, log: readLog(f) }));
    if (!options.follow && contents.every((c) => c.log.files.length === 0)) {
      throw new CliError(`no audit log at ${files.join(', ')}`, 'the plugin writes it on its first call; check --data-dir or --file (ipam.logFile), or pass the network config with --config ("logFile": "" turns the log off)');
    }
    const all = contents.flatMap((c) => c.log.records).filter(matches);
    if (contents.length > 1) all.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    const shown = options.lines === 0 ? all : all.slice(-options.lines);
    const print = (records: AuditFields[], header: boolean) => io.stdout(options.json ? records.map((r) => `${JSON.stringify(r)}\n`).join('') : renderRecords(records, header));
    if (shown.length > 0) print(shown, true);
    else if (options.follow && !options.json) io.stdout(renderTable(COLUMNS, [])); // the header, for the rows to come
    else if (!options.json) io.stdout(`no call in ${contents.flatMap((c) => c.log.files).join(', ')} matches\n`);
    if (!options.follow) return;
    await Promise.all(contents.map((c) => followLog(c.file, { intervalMs: 200, from: c.log.end, onRecord: (r) => matches(r) && print([r], false) })));
  });
};

/** The log files to read: --file, the logFile of each pod-ipam entry of --config, or the default under --data-dir. */
function logFilesFor(options: LogOptions): string[] {
  if (options.file) return [options.file];
  if (!options.config) return [defaultLogFile(options.dataDir)];
  const files = new Set<string>();
  for (const entry of readConfigFile(options.config).entries) {
    try {
      const file = parseIpamCommon(parseNetConf(JSON.stringify(entry.conf)).ipam).log.file;
      if (file) files.add(file);
    } catch (e) {
      throw new CliError(`${options.config}: ${(e as Error).message}`, 'fix the config (pod-ipam validate FILE), or give the log with --file');
    }
  }
  if (files.size === 0) throw new CliError(`${options.config} has no pod-ipam network with an audit log ("logFile": "" turns it off)`);
  return [...files];
}

const COLUMNS = ['TIME', 'VERB', 'NETWORK', 'POD', 'CONTAINER', 'IF', 'ADDRESSES', 'RESULT'];

function renderRecords(records: AuditFields[], header: boolean): string {
  const table = renderTable(COLUMNS, records.map(row));
  return header ? table : table.slice(table.indexOf('\n') + 1);
}

function row(r: AuditFields): string[] {
  const addresses = r.addresses?.join(',') ?? [r.released?.length ? `released ${r.released.join(',')}` : '', r.reserved?.length && !r.addresses ? `reserved ${r.reserved.join(',')}` : ''].filter(Boolean).join(' ');
  const result = r.error ? `error ${r.error.code}: ${r.error.msg}` : 'ok';
  const skipped = r.skipped ? ` (${r.skipped.count} earlier call(s) not logged${r.skipped.error ? `: ${r.skipped.error}` : ''})` : '';
  return [r.time, r.verb, r.network ?? '-', podRef(r.pod) ?? '-', (r.containerId ?? '-').slice(0, 13), r.ifname ?? '-', addresses || (r.requested?.length ? `asked ${r.requested.join(',')}` : '-'), result + skipped];
}

/** An address as the plugin writes it, so `fd00::0:5` finds `fd00::5`. */
function canonical(text: string): string {
  const ip = parseIP(text);
  return ip ? formatIP(ip) : text;
}

function parseAddress(v: string): string {
  if (!parseIP(v.replace(/\/\d+$/, ''))) throw new InvalidArgumentError('not an IP address');
  return v;
}

function checkSince(v: string): string {
  if (!parseSince(v, new Date())) throw new InvalidArgumentError('not a duration (90s, 15m, 2h, 7d) or a time (2026-12-02T03:00:00Z)');
  return v;
}

function parseCount(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('not a whole number');
  return Number(v);
}

