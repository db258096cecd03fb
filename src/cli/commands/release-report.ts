/** What release and gc print: the reservations freed (or, with --dry-run, that would be). */
import type { Reservation } from '../../core/attachment';
import { compareIP, formatIP } from '../../core/ip';
import type { CliIO } from '../program';
import { renderTable, toJson } from '../format/table';
import { podColumn } from '../format/pod';

export function printReleased(io: CliIO, network: string, released: readonly Reservation[], options: { dryRun: boolean; json: boolean; kept?: number }): void {
  const rows = [...released].sort((a, b) => compareIP(a.ip, b.ip)).map((r) => ({ address: formatIP(r.ip), pod: r.pod ?? null, containerId: r.owner.containerId, ifname: r.owner.ifname, since: r.since }));
  if (options.json) {
    io.stdout(toJson({ network, dryRun: options.dryRun, released: rows, ...(options.kept === undefined ? {} : { kept: options.kept }) }));
    return;
  }
  const verb = options.dryRun ? 'would release' : 'released';
  let out = `${verb} ${rows.length} address(es) in network ${network}${options.kept === undefined ? '' : `; ${options.kept} kept`}${options.dryRun ? ' (dry run: nothing changed)' : ''}\n`;
  if (rows.length > 0) out += renderTable(['ADDRESS', 'POD', 'CONTAINER', 'IFNAME', 'SINCE'], rows.map((r) => [r.address, podColumn(r.pod), r.containerId, r.ifname, r.since]));
  io.stdout(out);
}
