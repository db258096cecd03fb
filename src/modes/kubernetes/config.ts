/**
 * The kubernetes mode's own `ipam` keys, validated once. Loaded on every call in this
 * mode, so it imports nothing heavier than node:os.
 */
import * as os from 'node:os';
import { ConfigError } from '../../core/errors';

export interface KubernetesConfig {
  /** Absolute kubeconfig path; absent means in-cluster settings. */
  readonly kubeconfig?: string;
  readonly nodeName: string;
  readonly podAnnotations: boolean;
  readonly cacheMs: number;
  readonly timeoutMs: number;
}

export const DEFAULT_CACHE_SECONDS = 300;
export const DEFAULT_TIMEOUT_SECONDS = 5;

/** Keys of host-local's range config that make no sense when the Node supplies the ranges. */
const RANGE_KEYS = ['ranges', 'subnet', 'rangeStart', 'rangeEnd', 'gateway'];

/** A Kubernetes object name (DNS-1123 subdomain): also keeps the name safe inside a URL path. */
export const NODE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** @throws ConfigError naming the `ipam.*` key that is wrong. */
export function parseKubernetesConfig(ipam: Readonly<Record<string, unknown>>, env: Readonly<Record<string, string | undefined>>): KubernetesConfig {
  for (const key of RANGE_KEYS) {
    if (ipam[key] !== undefined) throw new ConfigError(`ipam.${key}`, 'is not used in kubernetes mode: the ranges are the Node\'s spec.podCIDRs; remove it');
  }
  const kubeconfig = ipam['kubeconfig'];
  if (kubeconfig !== undefined && (typeof kubeconfig !== 'string' || !kubeconfig.startsWith('/'))) {
    throw new ConfigError('ipam.kubeconfig', 'must be an absolute path to a kubeconfig file');
  }
  const nodeName = ipam['nodeName'] ?? (env['NODE_NAME'] || os.hostname().toLowerCase());
  if (typeof nodeName !== 'string' || !NODE_NAME.test(nodeName)) {
    const from = ipam['nodeName'] !== undefined ? 'ipam.nodeName' : env['NODE_NAME'] ? 'NODE_NAME' : 'the host name';
    throw new ConfigError('ipam.nodeName', `${JSON.stringify(nodeName)} (from ${from}) is not a valid Kubernetes node name; set ipam.nodeName`);
  }
  const podAnnotations = ipam['podAnnotations'] ?? false;
  if (typeof podAnnotations !== 'boolean') throw new ConfigError('ipam.podAnnotations', 'must be true or false');
  return {
    ...(typeof kubeconfig === 'string' && { kubeconfig }),
    nodeName,
    podAnnotations,
    cacheMs: seconds(ipam, 'podCIDRCacheSeconds', DEFAULT_CACHE_SECONDS, 0) * 1000,
    timeoutMs: seconds(ipam, 'apiTimeoutSeconds', DEFAULT_TIMEOUT_SECONDS, 0.001) * 1000,
  };
}

function seconds(ipam: Readonly<Record<string, unknown>>, key: string, fallback: number, min: number): number {
  const value = ipam[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > 86400 * 365) {
    throw new ConfigError(`ipam.${key}`, `must be a number of seconds${min > 0 ? ' greater than 0' : ' (0 or more)'}`);
  }
  return value;
}
