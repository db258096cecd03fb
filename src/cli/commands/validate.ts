/**
 * `pod-ipam validate FILE`: every problem of a .conf, .conflist or bare ipam object, each
 * with its JSON path. It runs the plugin's own parsers (netconf, common ipam keys, the
 * mode's factory) with a ConfigIssues collector, so it can never disagree with what the
 * plugin accepts; modes that do not collect report their first problem.
 */
import type { Command } from 'commander';
import { parseIpamCommon } from '../../cni/ipam-config';
import { isObject } from '../../cni/json-fields';
import { netConfOf } from '../../cni/netconf';
import { isSupportedVersion, SUPPORTED_VERSIONS } from '../../cni/versions';
import { ConfigIssues } from '../../core/config-issues';
import { ConfigError, PodIpamError } from '../../core/errors';
import { loadMode } from '../../modes';
import { networkDir } from '../../store/network-store';
import type { CliIO, CommandRegistrar } from '../program';
import { renderTable, toJson } from '../format/table';
import { POD_IPAM_TYPE, readConfigFile } from '../inspect/config-file';
import type { ConfigEntry, ConfigKind } from '../inspect/config-file';
import { CliError, jsonOption } from './common';
import type { JsonOptions } from './common';

export interface Problem {
  readonly path: string;
  readonly message: string;
}

export interface ValidatedEntry {
  readonly path: string;
  readonly network: string;
  readonly mode: string;
}

export const registerValidate: CommandRegistrar = (program: Command, io: CliIO) => {
  program
    .command('validate')
    .description('check a .conf, .conflist or ipam object: every problem with its JSON path (exit 1 on any)')
    .argument('<file>', 'the network config file')
    .addOption(jsonOption())
    .action(async (file: string, options: JsonOptions) => {
      const { kind, problems, entries } = await validateFile(file, io.env);
      if (options.json) {
        io.stdout(toJson({ file, kind, valid: problems.length === 0, problems, entries }));
      } else if (problems.length === 0) {
        const what = entries.map((e) => (kind === 'ipam' ? `mode ${e.mode}` : `${e.path ? `${e.path}: ` : ''}network ${e.network}, mode ${e.mode}`));
        io.stdout(`${file}: valid ${kind === 'ipam' ? 'ipam object' : kind} (${what.join('; ')})\n`);
      } else {
        io.stdout(`${file}: ${problems.length} problem(s)\n${renderTable(['PATH', 'PROBLEM'], problems.map((p) => [p.path || '(top)', p.message]))}`);
      }
      if (problems.length > 0) throw new CliError(`${file} is not a valid pod-ipam config`);
    });
};

export async function validateFile(file: string, env: Readonly<Record<string, string | undefined>>): Promise<{ kind: ConfigKind; problems: Problem[]; entries: ValidatedEntry[] }> {
  const config = readConfigFile(file);
  const issues = new ConfigIssues();
  const entries: ValidatedEntry[] = [];
  const rename = (path: string, prefix: string): string => {
    if (config.kind === 'ipam') return path.replace(/^ipam\.?/, '');
    // A conflist's name and cniVersion live at its top, whichever plugin they were copied to.
    return path === 'name' || path === 'cniVersion' ? path : `${prefix}${path}`;
  };
  const problems: Problem[] = [];
  const add = (path: string, message: string) => {
    if (!problems.some((p) => p.path === path && p.message === message)) problems.push({ path, message });
  };
  if (config.kind === 'conflist' && entries.length === 0 && config.entries.length === 0) {
    add('plugins', `no plugin has an ipam of type "${POD_IPAM_TYPE}"`);
  }
  for (const entry of config.entries) {
    const before = issues.errors.length;
    const validated = await validateEntry(entry, config.kind, env, issues);
    for (const e of issues.errors.slice(before)) add(rename(e.path, entry.prefix), renameInText(stripPath(e), config.kind, entry.prefix));
    if (validated && issues.errors.length === before) entries.push({ path: entry.prefix.replace(/\.$/, ''), ...validated });
  }
  return { kind: config.kind, problems, entries };
}

async function validateEntry(entry: ConfigEntry, kind: ConfigKind, env: Readonly<Record<string, string | undefined>>, issues: ConfigIssues): Promise<{ network: string; mode: string } | undefined> {
  try {
    if (kind !== 'ipam' && !isSupportedVersion(entry.conf.cniVersion)) {
      issues.errors.push(new ConfigError('cniVersion', `${JSON.stringify(entry.conf.cniVersion)} is not supported; use one of ${SUPPORTED_VERSIONS.join(', ')}`));
    }
    const conf = netConfOf(entry.conf, issues);
    if (kind === 'conf' && isObject(conf.ipam) && conf.ipam.type !== POD_IPAM_TYPE) {
      issues.errors.push(new ConfigError('ipam.type', `is ${JSON.stringify(conf.ipam.type)}, not "${POD_IPAM_TYPE}": this config does not use pod-ipam`));
    }
    const common = parseIpamCommon(conf.ipam, issues, conf.name);
    const factory = await loadMode(common.mode);
    factory(conf.ipam, {
      network: conf.name,
      stateDir: networkDir(common.dataDir, conf.name || 'network'),
      dataDir: common.dataDir,
      env,
      runtimeConfig: conf.runtimeConfig,
      cniArgs: new Map(),
      log: () => undefined,
      warn: () => undefined,
      issues,
    });
    return { network: conf.name, mode: common.mode };
  } catch (e) {
    if (e instanceof ConfigError) issues.errors.push(e);
    else if (e instanceof PodIpamError) issues.errors.push(new ConfigError('', e.message));
    else throw e;
    return undefined;
  }
}

/** Paths quoted inside a message ("overlaps ipam.ranges[0][0]") get the same prefix as the problem's own. */
const renameInText = (message: string, kind: ConfigKind, prefix: string): string =>
  message.replace(/(^|[\s(])ipam\./g, (_m, before: string) => `${before}${kind === 'ipam' ? '' : prefix}${kind === 'ipam' ? '' : 'ipam.'}`);

const stripPath = (e: ConfigError): string => (e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path.length + 2) : e.message);
