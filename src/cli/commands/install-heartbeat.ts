/**
 * `install --watch --template`: the heartbeat keeper. Away from a node, `blocks release`
 * refuses to free the node's blocks while its heartbeat in the cluster store is valid
 * (HEARTBEAT_TTL_SECONDS). The plugin refreshes it only when it talks to the store on an
 * ADD (STATUS is read only), so a node whose pods run on with no ADD for that long looked
 * gone, and its blocks could be released and handed out again under its pods. The
 * DaemonSet's container lives as long as the node's pods can: for each cluster-pool
 * network it refreshes the node's heartbeat every --heartbeat-every (default a quarter of
 * the TTL), the first time right after the first install round.
 *
 * It does what the plugin does, with what the plugin has: it reads the conflist the round
 * wrote on the host, parses each cluster-pool `ipam` with the plugin's own parser, and
 * heartbeats as storeOwner(nodeName, network) in that store with those credentials (the
 * paths seen under --host-root). A refresh that fails (store down) is reported on stderr,
 * with how long the last one stays valid, and tried again at the next period; it never
 * ends the installer.
 */
import * as path from 'node:path';
import { dataDirOf } from '../../cni/ipam-config';
import { isObject } from '../../cni/json-fields';
import { storeOwner } from '../../modes/cluster-pool/claim';
import { HEARTBEAT_TTL_SECONDS, parseClusterPoolConfig } from '../../modes/cluster-pool/config';
import { openClusterStore } from '../../store/cluster/cluster-store';
import type { ClusterStoreConfig } from '../../store/cluster/cluster-store';
import { readConfigFile } from '../inspect/config-file';
import type { CliIO } from '../program';
import { CliError } from './common';
import { everyPeriod } from './every-period';
import type { InstallOptions } from './install';
import { modeOf, readTemplate } from './install-render';
import { conflistInContainer } from './install-round';

/** A quarter of the heartbeat's lifetime: three refreshes in a row can fail before it lapses. */
export const DEFAULT_HEARTBEAT_EVERY_MS = (HEARTBEAT_TTL_SECONDS * 1000) / 4;

interface Target {
  /** storeOwner(node, network), as the plugin heartbeats. */
  readonly owner: string;
  /** The store as this process reaches it (storeInContainer). */
  readonly store: ClusterStoreConfig;
}

/**
 * Keeps the heartbeats of the installed conflist's cluster-pool networks until `stop`.
 * The template and the conflist are read every period, so a ConfigMap switched to
 * cluster-pool later is followed without restarting the pod; while the template has no
 * cluster-pool network, a period does nothing (and reports nothing).
 */
export async function heartbeatLoop(options: InstallOptions, io: CliIO, stop: AbortSignal): Promise<void> {
  const every = options.heartbeatEvery ?? DEFAULT_HEARTBEAT_EVERY_MS;
  const conflist = conflistInContainer(options);
  const say = (m: string): void => io.stdout(`${new Date().toISOString()} ${m}\n`);
  /** owner + store -> when this process last wrote its heartbeat. */
  const lastGood = new Map<string, number>();
  /** Those whose last refresh failed: a success after a failure is said once. */
  const failing = new Set<string>();
  const refreshAll = async (): Promise<void> => {
    if (!usesClusterPool(options.template!)) return;
    for (const t of heartbeatTargets(conflist, options.hostRoot, io.env)) {
      const key = JSON.stringify([t.owner, storeKey(t.store)]);
      try {
        const description = await refresh(t);
        if (!lastGood.has(key)) say(`heartbeat: keeping ${t.owner} alive in ${description} (valid ${HEARTBEAT_TTL_SECONDS / 60} min, refreshed every ${every / 1000} s)`);
        else if (failing.has(key)) say(`heartbeat: ${t.owner} refreshed again in ${description}`);
        lastGood.set(key, Date.now());
        failing.delete(key);
      } catch (e) {
        failing.add(key);
        const last = lastGood.get(key);
        const until = last === undefined ? undefined : new Date(last + HEARTBEAT_TTL_SECONDS * 1000);
        const valid = until === undefined ? '' : `; the last one written here ${until.getTime() > Date.now() ? 'is valid until' : 'lapsed at'} ${until.toISOString()}`;
        io.stderr(`pod-ipam install: heartbeat: cannot refresh ${t.owner} in its ${t.store.type} cluster store: ${(e as Error).message} (next try in ${every / 1000} s${valid})\n`);
      }
    }
  };
  await everyPeriod(every, stop, refreshAll, (e) => io.stderr(`pod-ipam install: heartbeat: ${e.message} (next try in ${every / 1000} s)\n`));
}

/** Whether the template names a cluster-pool network; a template that cannot be read now counts as yes, so the period says what is wrong. */
function usesClusterPool(template: string): boolean {
  try {
    return readTemplate(template).ipams.some((i) => modeOf(i) === 'cluster-pool');
  } catch {
    return true;
  }
}

/** Writes one heartbeat, exactly as the plugin's store check does; @returns the store's description. */
async function refresh(t: Target): Promise<string> {
  const store = await openClusterStore(t.store);
  try {
    await store.heartbeat(t.owner, HEARTBEAT_TTL_SECONDS);
    return store.description;
  } finally {
    await store.close();
  }
}

/**
 * The cluster-pool networks of the installed conflist: read each time, so the keeper
 * follows what the plugin is given (a changed ConfigMap reaches the host by the rounds).
 * @throws CliError when the conflist cannot be read or an entry does not parse (the
 *   round writes only conflists that pass validate, so only a hand-edited one fails).
 */
export function heartbeatTargets(conflist: string, hostRoot: string, env: Readonly<Record<string, string | undefined>>): Target[] {
  const targets = new Map<string, Target>();
  for (const { conf, prefix } of readConfigFile(conflist).entries) {
    const ipam = conf['ipam'];
    if (!isObject(ipam) || ipam['mode'] !== 'cluster-pool') continue;
    const network = conf['name'];
    if (typeof network !== 'string') throw new CliError(`${conflist} has no network name`);
    const dataDir = dataDirOf(ipam);
    let store: ClusterStoreConfig;
    let nodeName: string;
    try {
      ({ store, nodeName } = parseClusterPoolConfig(ipam, env, dataDir));
    } catch (e) {
      throw new CliError(`${conflist}: ${prefix}${(e as Error).message}`);
    }
    const target = { owner: storeOwner(nodeName, network), store: storeInContainer(store, hostRoot) };
    targets.set(JSON.stringify([target.owner, storeKey(target.store)]), target);
  }
  return [...targets.values()];
}

/**
 * The store as this container reaches it. The conflist is written for the plugin, which
 * runs on the host, so the files its store names are host paths (file store directory,
 * etcd client certificate files, kubeconfig); the container sees the host's / at
 * --host-root, as reconcile sees dataDir. The kubeconfig the installer writes names its
 * CA and token relative to itself (install-credentials.ts), so its own path is enough.
 */
export function storeInContainer(store: ClusterStoreConfig, hostRoot: string): ClusterStoreConfig {
  const seen = (hostPath: string): string => path.join(hostRoot, hostPath);
  switch (store.type) {
    case 'file':
      return { ...store, path: seen(store.path) };
    case 'etcd': {
      if (!store.tls) return store;
      const { ca, cert, key } = store.tls;
      return { ...store, tls: { ...(ca && { ca: seen(ca) }), ...(cert && { cert: seen(cert) }), ...(key && { key: seen(key) }) } };
    }
    case 'kubernetes':
      return store.kubeconfig === undefined ? store : { ...store, kubeconfig: seen(store.kubeconfig) };
  }
}

/** Identifies a store among the conflist's entries (without the environment a kubernetes store carries). */
const storeKey = (store: ClusterStoreConfig): string => JSON.stringify(store.type === 'kubernetes' ? { ...store, env: undefined } : store);
