/**
 * `pod-ipam metrics`: Prometheus text format for node_exporter's textfile collector.
 * Names follow the Prometheus conventions: a `pod_ipam_` prefix, base units (addresses,
 * blocks), no `_total` on gauges. With --config (a cluster-pool network) the pool's
 * blocks per node and capacity are added. --output writes the file atomically (temp and
 * rename), as the textfile collector requires.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliIO, CommandRegistrar } from '../program';
import { inspectNetwork } from '../inspect/network-view';
import { loadPoolView } from '../inspect/pool-view';
import { CliError, listNetworks, withCommon } from './common';
import type { DataDirOptions } from './common';

interface MetricsOptions extends DataDirOptions {
  readonly config?: string;
  readonly output?: string;
}

type Labels = Record<string, string>;

class Exposition {
  readonly #families = new Map<string, { help: string; samples: string[] }>();

  gauge(name: string, help: string, labels: Labels, value: bigint | number): void {
    const family = this.#families.get(name) ?? { help, samples: [] };
    this.#families.set(name, family);
    const l = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
    family.samples.push(`${name}${l.length > 0 ? `{${l.join(',')}}` : ''} ${value.toString()}`);
  }

  text(): string {
    return [...this.#families].map(([name, f]) => `# HELP ${name} ${f.help}\n# TYPE ${name} gauge\n${f.samples.join('\n')}\n`).join('');
  }
}

export const registerMetrics: CommandRegistrar = (program: Command, io: CliIO) => {
  withCommon(
    program
      .command('metrics')
      .description("Prometheus text format (node_exporter textfile collector): addresses in use and capacity, cluster-pool blocks")
      .option('-c, --config <file>', 'a cluster-pool network config: add blocks per node and pool capacity')
      .option('-o, --output <file>', 'write to this file atomically (e.g. /var/lib/node_exporter/textfile/pod_ipam.prom)'),
    false,
  ).action(async (options: MetricsOptions) => {
    const m = new Exposition();
    for (const name of listNetworks(options.dataDir)) {
      const view = await inspectNetwork(options.dataDir, name);
      m.gauge('pod_ipam_reservations', 'Addresses reserved in the network.', { network: name, mode: view.mode ?? 'unknown' }, view.reservations.length);
      for (const r of view.ranges) {
        const labels = { network: name, range_set: String(r.set), range: r.cidr };
        m.gauge('pod_ipam_range_addresses_used', 'Addresses in use in the range.', labels, r.used);
        m.gauge('pod_ipam_range_addresses_capacity', 'Addresses the range can hand out (gateway and excluded addresses left out).', labels, r.total);
      }
      // One series per reservation (a node holds at most a few hundred), in the style of
      // kube-state-metrics' *_info gauges: join on `namespace`/`pod` to find who holds what.
      for (const r of view.reservations) {
        const pod = r.pod ? { namespace: r.pod.namespace ?? '', pod: r.pod.name ?? '', uid: r.pod.uid ?? '' } : { namespace: '', pod: '', uid: '' };
        m.gauge('pod_ipam_reservation_info', 'A reserved address and the pod holding it (empty pod labels: the runtime named no pod).', { network: name, address: r.address, ...pod, container_id: r.containerId, ifname: r.ifname }, 1);
      }
      m.gauge('pod_ipam_reservations_without_pod', 'Reservations whose runtime named no pod in CNI_ARGS; pod-ipam reconcile never releases them.', { network: name, mode: view.mode ?? 'unknown' }, view.reservations.filter((r) => r.pod === null).length);
      m.gauge('pod_ipam_network_warnings', 'Warnings pod-ipam status reports for the network (exhaustion, changed CIDRs).', { network: name }, view.warnings.length);
    }
    if (options.config) {
      const pool = await loadPoolView(options.config, io.env);
      for (const grid of pool.grids) {
        const family = `ipv${grid.pools.family}`;
        const inGrid = pool.blocks.filter((b) => b.index !== null && (b.block.includes(':') ? 6 : 4) === grid.pools.family);
        m.gauge('pod_ipam_pool_blocks_capacity', 'Blocks the cluster pool can hand to nodes.', { network: pool.network, family }, grid.total);
        m.gauge('pod_ipam_pool_blocks_claimed', 'Blocks of the cluster pool owned by a node.', { network: pool.network, family }, inGrid.length);
      }
      const perNode = new Map<string, number>();
      for (const b of pool.blocks) perNode.set(b.node, (perNode.get(b.node) ?? 0) + 1);
      for (const [node, n] of [...perNode].sort()) m.gauge('pod_ipam_node_blocks', 'Cluster-pool blocks owned by the node.', { network: pool.network, node }, n);
    }
    const text = m.text();
    if (!options.output) {
      io.stdout(text);
      return;
    }
    // Not the store's writeFileDurable: that makes 0600 files, and node_exporter usually
    // reads the textfile directory as another user; the rename alone keeps reads whole.
    const tmp = path.join(path.dirname(options.output), `.${path.basename(options.output)}.tmp-${process.pid}`);
    try {
      fs.writeFileSync(tmp, text);
      fs.renameSync(tmp, options.output);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw new CliError(`cannot write ${options.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  });
};
