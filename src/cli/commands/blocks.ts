/**
 * `pod-ipam blocks list|release|forget`: operator commands for cluster-pool block ownership.
 * `release --node NAME` frees the blocks of a node that is gone. Unless --force it refuses
 * a node that may still have pods in them:
 * - on a host holding that node's local state (the node itself, or simulated nodes):
 *   when the state has live reservations in those blocks; --force also drops the blocks
 *   from that local record, so the node stops handing out their addresses;
 * - anywhere else: when the node's heartbeat in the store is valid, i.e. it was refreshed
 *   within HEARTBEAT_TTL_SECONDS: by the plugin on every claim and store check (ADD), and
 *   every --heartbeat-every by the node's installer (`install --watch`, install-heartbeat.ts),
 *   so a node whose pods run on without ADDs still counts as alive.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors';
import { cidrContains, formatCidr, formatIP, parseCidr } from '../../core/ip';
import type { Cidr } from '../../core/ip';
import { HEARTBEAT_TTL_SECONDS, parseClusterPoolConfig } from '../../modes/cluster-pool/config';
import type { ClusterPoolConfig } from '../../modes/cluster-pool/config';
import { storeOwner } from '../../modes/cluster-pool/claim';
import { readLocalBlocks, writeLocalBlocks } from '../../modes/cluster-pool/local-blocks';
import { openClusterStore } from '../../store/cluster/cluster-store';
import type { ClusterStore } from '../../store/cluster/cluster-store';
import { networkDir, withNetworkState } from '../../store/network-store';
import { DEFAULT_DATA_DIR } from '../../cni/ipam-config';
import { isObject } from '../../cni/json-fields';
import { isNetworkName } from '../../cni/netconf';
import { readConfigFile } from '../inspect/config-file';
import type { CliIO, CommandRegistrar } from '../program';
import { registerBlocksForget } from './blocks-forget';
import { blocksCommand } from './blocks-view';
import { CliError } from './common';


export const registerBlocks: CommandRegistrar = (program: Command, io: CliIO) => {
  const blocks = blocksCommand(program);
  blocks
    .command('list')
    .description('print every claimed block and its node')
    .requiredOption('-c, --config <file>', 'the network config (.conflist or .conf) using mode "cluster-pool"')
    .action(async (opts: { config: string }) => {
      const { config } = loadConfig(opts.config, undefined, io.env);
      const store = await openClusterStore(config.store);
      try {
        for (const o of await store.list()) io.stdout(`${o.block}\t${o.node}\n`);
      } finally {
        await store.close();
      }
    });
  blocks
    .command('release')
    .description('free every block of a node that is gone')
    .requiredOption('-c, --config <file>', 'the network config (.conflist or .conf) using mode "cluster-pool"')
    .requiredOption('--node <name>', 'the node whose blocks to free')
    .option('--force', 'free them even though the node looks alive (a valid heartbeat, or reservations in its local state on this host): its pods may then share addresses with pods of the next owner', false)
    .action(async (opts: { config: string; node: string; force: boolean }) => {
      const { config, network, dataDir } = loadConfig(opts.config, opts.node, io.env);
      await release(config, network, dataDir, opts.force, io);
    });
  registerBlocksForget(blocks, io, (file) => loadConfig(file, undefined, io.env));
};

async function release(config: ClusterPoolConfig, network: string, dataDir: string, force: boolean, io: CliIO): Promise<void> {
  const node = config.nodeName;
  const owner = storeOwner(node, network);
  const store = await openClusterStore(config.store);
  try {
    const owned = (await store.list()).filter((o) => o.node === owner).flatMap((o) => {
      const c = parseCidr(o.block);
      return c ? [{ text: o.block, cidr: c.cidr }] : [];
    });
    if (owned.length === 0) {
      io.stdout(`node ${node} owns no blocks in ${store.description}\n`);
      return;
    }
    if (!fs.existsSync(path.join(networkDir(dataDir, network), 'cluster-pool.json'))) await checkHeartbeat(store, owner, node, force, io);
    await checkLocalState(dataDir, network, node, owned.map((o) => o.cidr), force, io);
    for (const o of owned) {
      const freed = await store.release(o.text, owner);
      io.stdout(`${freed ? 'released' : 'already free'} ${o.text} (node ${node})\n`);
    }
  } finally {
    await store.close();
  }
}

/** Away from the node, its heartbeat is the only sign of life the store can show. */
async function checkHeartbeat(store: ClusterStore, owner: string, node: string, force: boolean, io: CliIO): Promise<void> {
  const seen = await store.lastHeartbeat(owner);
  if (seen === undefined) {
    io.stderr(`pod-ipam: node ${node} has sent no heartbeat to ${store.description} in the last ${HEARTBEAT_TTL_SECONDS / 60} minutes (neither its pod-ipam DaemonSet pod nor an ADD)\n`);
    return;
  }
  const risk = `another node may then claim these blocks while pods of ${node} still use their addresses, and both hand out the same ones (${node} stops serving the blocks at its next store check, but its running pods keep their addresses)`;
  if (!force) {
    throw new CliError(`node ${node} looks alive: its heartbeat in ${store.description} is from ${seen} (valid ${HEARTBEAT_TTL_SECONDS / 60} minutes; the node's pod-ipam DaemonSet pod refreshes it every few minutes, and its plugin on ADDs). Release its blocks on ${node} itself, where its pods can be checked, or wait until it has been gone ${HEARTBEAT_TTL_SECONDS / 60} minutes; --force releases anyway: ${risk}`);
  }
  io.stderr(`pod-ipam: --force: node ${node} sent a heartbeat at ${seen}; if it is still running, ${risk}\n`);
}

/**
 * When this host holds the node's local state (it is the node, or a test host with
 * simulated nodes), refuse if it still has reservations in the blocks; with force, drop
 * the blocks from its record. Runs under the network lock, like any CNI call.
 */
async function checkLocalState(dataDir: string, network: string, node: string, blocks: Cidr[], force: boolean, io: CliIO): Promise<void> {
  const stateDir = networkDir(dataDir, network);
  if (!fs.existsSync(path.join(stateDir, 'cluster-pool.json'))) {
    io.stderr(`pod-ipam: no local state of network ${network} under ${dataDir} on this host; releasing on the word that node ${node} is gone\n`);
    return;
  }
  await withNetworkState({ dataDir, network }, (state) => {
    const local = readLocalBlocks(stateDir);
    if (!local || local.node !== node) return;
    const live = state.reservations().filter((r) => blocks.some((b) => cidrContains(b, r.ip)));
    if (live.length > 0 && !force) {
      const sample = live.slice(0, 5).map((r) => `${formatIP(r.ip)} (${r.owner.containerId}/${r.owner.ifname})`).join(', ');
      throw new ConfigError('--node', `node ${node} still holds ${live.length} reservation(s) in its blocks on this host: ${sample}; delete those pods first, or pass --force`);
    }
    const keep = local.blocks.filter((b) => !blocks.some((r) => formatCidr(r) === formatCidr(b)));
    writeLocalBlocks(stateDir, { node: local.node, blocks: keep });
    if (live.length > 0) io.stderr(`pod-ipam: --force: released blocks still hold ${live.length} reservation(s) on this host\n`);
  });
}

/** Finds the cluster-pool ipam section of a .conflist or .conf file. */
export function loadConfig(file: string, node: string | undefined, env: Readonly<Record<string, string | undefined>> = {}): { config: ClusterPoolConfig; network: string; dataDir: string } {
  const entry = readConfigFile(file).entries.find((e) => isObject(e.conf.ipam) && e.conf.ipam.mode === 'cluster-pool');
  if (!entry) throw new ConfigError('ipam.mode', `${file} has no plugin whose ipam.mode is "cluster-pool"`);
  const ipam = entry.conf.ipam as Record<string, unknown>;
  const network = entry.conf.name;
  if (typeof network !== 'string' || !isNetworkName(network)) throw new ConfigError('name', `${file}: the network name is missing or not a plain name`);
  const dataDir = ipam['dataDir'] ?? DEFAULT_DATA_DIR;
  if (typeof dataDir !== 'string' || !dataDir.startsWith('/')) throw new ConfigError('ipam.dataDir', 'must be an absolute path');
  // --node names the node to act on; the config's own nodeName (this host) is beside the point.
  // The environment reaches the kubernetes store (in-cluster settings, exec credential plugins).
  const config = parseClusterPoolConfig(node === undefined ? ipam : { ...ipam, nodeName: node }, { ...env, NODE_NAME: 'operator' }, dataDir);
  return { config, network, dataDir };
}
