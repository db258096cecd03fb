/**
 * `pod-ipam release --network NAME (--ip ADDR | --container ID [--ifname IF] | --pod NS/NAME)`: frees
 * addresses whose pods are gone but whose DEL never came (a node reboot, a runtime bug).
 * Releasing what is not reserved is a no-op, said on stderr, so a script may repeat it.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import type { Reservation } from '../../core/attachment';
import { parseIP } from '../../core/ip';
import { releaseWhere } from '../../store/network-store';
import { auditOperatorRelease } from '../operator-audit';
import type { CliIO, CommandRegistrar } from '../program';
import { CliError, existingNetworkDir, parseNetworkName, withCommon } from './common';
import type { DataDirOptions, JsonOptions } from './common';
import { printReleased } from './release-report';

interface ReleaseOptions extends DataDirOptions, JsonOptions {
  readonly network: string;
  readonly ip?: string;
  readonly container?: string;
  readonly ifname?: string;
  readonly pod?: PodRefArg;
  readonly dryRun?: boolean;
}

export const registerRelease: CommandRegistrar = (program: Command, io: CliIO) => {
  const cmd = withCommon(
    program
      .command('release')
      .description('free the addresses of one attachment, container or address (a pod that is gone without DEL)')
      .addOption(new Option('--network <name>', 'the network (the config\'s "name")').argParser(parseNetworkName).makeOptionMandatory())
      .addOption(new Option('--ip <address>', 'release this address, whoever holds it').argParser(parseAddress).conflicts(['container', 'ifname']))
      .addOption(new Option('--container <id>', 'release every address of this container ID (CNI_CONTAINERID)'))
      .addOption(new Option('--ifname <name>', 'with --container: only this interface'))
      .addOption(new Option('--pod <namespace/name>', 'release every address of this pod (as the runtime named it in CNI_ARGS K8S_POD_NAMESPACE/K8S_POD_NAME)').argParser(parsePodArg).conflicts(['ip', 'container', 'ifname']))
      .option('--dry-run', 'show what would be released; change nothing'),
  );
  cmd.action(async (options: ReleaseOptions) => {
    if (options.ifname !== undefined && options.container === undefined) cmd.error('error: --ifname needs --container', { exitCode: 2 });
    if (options.ip === undefined && options.container === undefined && options.pod === undefined) cmd.error('error: give --ip ADDR, --container ID or --pod NAMESPACE/NAME', { exitCode: 2 });
    existingNetworkDir(options.dataDir, options.network);
    const { picked, released, failures } = await releaseWhere(
      { dataDir: options.dataDir, network: options.network },
      (all) => all.filter((r) => matches(r, options)),
      options.dryRun === true,
    );
    auditOperatorRelease(options.dataDir, options.network, 'release', released);
    if (failures.length > 0) throw new CliError(`could not release ${failures.length} reservation(s): ${failures.slice(0, 5).join('; ')}`);
    if (picked.length === 0) io.stderr(`pod-ipam: nothing to release: no reservation in network ${options.network} matches ${describe(options)}\n`);
    printReleased(io, options.network, picked, { dryRun: options.dryRun === true, json: options.json === true });
  });
};

function parseAddress(v: string): string {
  if (!parseIP(v)) throw new InvalidArgumentError('not an IP address');
  return v;
}

function matches(r: Reservation, o: ReleaseOptions): boolean {
  if (o.pod !== undefined) return r.pod?.namespace === o.pod.namespace && r.pod?.name === o.pod.name;
  if (o.ip !== undefined) {
    const ip = parseIP(o.ip)!;
    return r.ip.family === ip.family && r.ip.value === ip.value;
  }
  return r.owner.containerId === o.container && (o.ifname === undefined || r.owner.ifname === o.ifname);
}

const describe = (o: ReleaseOptions): string =>
  o.pod !== undefined ? `pod ${o.pod.namespace}/${o.pod.name} (reservations made without pod names in CNI_ARGS never match)` : o.ip !== undefined ? `address ${o.ip}` : `container ${o.container}${o.ifname ? ` interface ${o.ifname}` : ''}`;

interface PodRefArg {
  readonly namespace: string;
  readonly name: string;
}

function parsePodArg(v: string): PodRefArg {
  const [namespace, name, ...rest] = v.split('/');
  if (!namespace || !name || rest.length > 0) throw new InvalidArgumentError('must be NAMESPACE/NAME');
  return { namespace, name };
}
