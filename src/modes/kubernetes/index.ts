/**
 * mode "kubernetes": the node's ranges are the pod CIDRs Kubernetes assigned to its Node
 * object, one range set per family, gateway = first usable address, exactly as if they
 * had been written in a node-local config.
 *
 * The CIDRs are cached in the network's state directory (the caller holds the network's
 * lock, so the read-modify-write of the cache cannot race). A warm cache younger than
 * podCIDRCacheSeconds answers without any API call and without loading the HTTPS client;
 * a stale one is refreshed, and if the API server cannot be reached it keeps serving,
 * with a warning. When the Node's CIDRs change, the ones it lost are "retired": nothing
 * new is allocated from them, reservations already in them are left alone (never
 * re-numbered), and warnings() reports them.
 */
import { AddressNotAllowedError, PodIpamError } from '../../core/errors';
import { cidrContains, parseCidr, parseIP } from '../../core/ip';
import { podIdentity } from '../../core/pod';
import { canonicalizeRange } from '../../core/range';
import type { RangeSet } from '../../core/range-set';
import type { IpamMode, ModeContext, ModeFactory } from '../mode';
import { readCache, writeCache } from './cache';
import type { PodCidrCache } from './cache';
import { parseKubernetesConfig } from './config';
import type { KubernetesConfig } from './config';

type Remote = typeof import('./remote');

export const createKubernetesMode: ModeFactory = (ipam, ctx) => new KubernetesMode(parseKubernetesConfig(ipam, ctx.env), ctx);

class KubernetesMode implements IpamMode {
  readonly #config: KubernetesConfig;
  readonly #ctx: ModeContext;
  #cidrs: Promise<readonly string[]> | undefined;
  #conn: Promise<import('./remote').Connection> | undefined;
  /** Problems seen by this process (stale cache served), for warnings(). */
  readonly #notes: string[] = [];

  constructor(config: KubernetesConfig, ctx: ModeContext) {
    this.#config = config;
    this.#ctx = ctx;
  }

  async rangeSets(): Promise<RangeSet[]> {
    const cidrs = await this.#podCidrs();
    return cidrs.map((cidr, i) => [canonicalizeRange({ subnet: cidr }, `node ${this.#config.nodeName} spec.podCIDRs[${i}]`)]);
  }

  /**
   * STATUS: the cached CIDRs, fresh or expired, with no API call; the Node is read (and
   * the cache not written: STATUS writes nothing) only when there is no usable cache.
   * Why not refresh an expired one: runtimes ask STATUS every few seconds, so on a node
   * with no ADD for podCIDRCacheSeconds every STATUS was a GET of the Node (a thousand
   * idle nodes: ~200 requests a second to the API server), and it would learn nothing
   * an ADD would not: a Node's podCIDRs never change once assigned (only a re-registered
   * Node gets new ones, which the next ADD reads), and with the server unreachable ADD
   * serves the cache anyway. Throws only when an ADD could not be served (no usable cache
   * and the server cannot be read).
   */
  async statusRangeSets(): Promise<RangeSet[]> {
    this.#cidrs = this.#load(false, false, true);
    return this.rangeSets();
  }

  async requestedAddresses(): Promise<string[]> {
    if (!this.#config.podAnnotations) return [];
    const { namespace, name } = podIdentity(this.#ctx.cniArgs) ?? {};
    if (!namespace || !name) {
      this.#ctx.log('podAnnotations: CNI_ARGS has no K8S_POD_NAMESPACE/K8S_POD_NAME; no annotation to read');
      return [];
    }
    const cidrs = await this.#podCidrs();
    const remote = await loadRemote();
    const addresses = await remote.fetchPodAddresses(await this.#connection(remote), namespace, name, this.#config.timeoutMs);
    for (const address of addresses) {
      const ip = parseIP(address);
      if (!ip || !cidrs.some((c) => { const p = parseCidr(c); return p !== undefined && cidrContains(p.cidr, ip); })) {
        throw new AddressNotAllowedError(
          `pod ${namespace}/${name}: annotated address ${address} is outside node ${this.#config.nodeName}'s podCIDRs (${cidrs.join(', ')}); fix the ipam.kubernetes.io/address annotation`,
        );
      }
    }
    return addresses;
  }

  warnings(): string[] {
    const cache = readCache(this.#ctx.stateDir, () => undefined);
    const retired = cache?.node === this.#config.nodeName ? cache.retired : [];
    return [...retired.map((r) => retiredMessage(this.#config.nodeName, r.cidr, r.since)), ...this.#notes];
  }

  #podCidrs(): Promise<readonly string[]> {
    this.#cidrs ??= this.#load(false);
    return this.#cidrs;
  }

  async #load(force: boolean, write = true, acceptExpired = false): Promise<readonly string[]> {
    const { nodeName, cacheMs } = this.#config;
    const cache = readCache(this.#ctx.stateDir, this.#ctx.warn);
    const usable = cache?.node === nodeName ? cache : undefined;
    const age = usable ? Date.now() - usable.fetchedAt : Infinity;
    // A negative age means the clock went back: treat the cache as stale, not as fresh for ever.
    if (!force && usable && age >= 0 && (age < cacheMs || acceptExpired)) return usable.podCIDRs;

    let fresh: string[];
    try {
      const remote = await loadRemote();
      fresh = await remote.fetchNodePodCidrs(await this.#connection(remote), nodeName, this.#config.timeoutMs);
    } catch (e) {
      if (!usable || !(e instanceof PodIpamError)) throw e;
      const note = `serving node ${nodeName}'s cached podCIDRs (${usable.podCIDRs.join(', ')}, read ${Math.round(age / 1000)} s ago): cannot refresh them: ${e.message}`;
      this.#ctx.warn(note);
      this.#notes.push(note);
      return usable.podCIDRs;
    }
    const next = this.#reconcile(usable, fresh);
    if (write) writeCache(this.#ctx.stateDir, next);
    return fresh;
  }

  /** The new cache: CIDRs the Node lost become retired; one it got back is active again. */
  #reconcile(previous: PodCidrCache | undefined, fresh: readonly string[]): PodCidrCache {
    const now = Date.now();
    const lost = (previous?.podCIDRs ?? []).filter((c) => !fresh.includes(c));
    const retired = [
      ...(previous?.retired ?? []).filter((r) => !fresh.includes(r.cidr) && !lost.includes(r.cidr)),
      ...lost.map((cidr) => ({ cidr, since: now })),
    ];
    if (previous && (lost.length > 0 || fresh.some((c) => !previous.podCIDRs.includes(c)))) {
      this.#ctx.warn(`node ${this.#config.nodeName}'s podCIDRs changed from ${previous.podCIDRs.join(', ')} to ${fresh.join(', ')}`);
      for (const cidr of lost) this.#ctx.warn(retiredMessage(this.#config.nodeName, cidr, now));
    }
    return { node: this.#config.nodeName, podCIDRs: fresh, fetchedAt: now, retired };
  }

  /** One connection (token read, kubeconfig parsed) per process, shared by the Node and Pod reads. */
  #connection(remote: Remote): Promise<import('./remote').Connection> {
    this.#conn ??= Promise.resolve().then(() => remote.connect(this.#config, this.#ctx));
    return this.#conn;
  }
}

const loadRemote = (): Promise<Remote> => import('./remote');

const retiredMessage = (node: string, cidr: string, since: number): string =>
  `node ${node} no longer has podCIDR ${cidr} (since ${new Date(since).toISOString()}): its existing reservations are kept, no new address comes from it`;
