/**
 * The requested-address annotation on a Pod: `ipam.kubernetes.io/address`, one address
 * or a comma list (one per family) for dual-stack.
 */
import { AddressNotAllowedError, TryAgainError } from '../../core/errors';
import { formatIP, parseIPWithOptionalPrefix } from '../../core/ip';
import { getJson } from './api-client';
import type { Connection } from './connection';

export const ADDRESS_ANNOTATION = 'ipam.kubernetes.io/address';

/**
 * @returns the annotated addresses (canonical form), or [] when the pod has no annotation.
 * @throws TryAgainError when the pod is not (yet) visible or the server fails;
 *   AddressNotAllowedError when the annotation is malformed.
 */
export async function fetchPodAddresses(conn: Connection, namespace: string, name: string, timeoutMs: number): Promise<string[]> {
  const apiPath = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
  const pod = await getJson(conn, apiPath, { timeoutMs, permission: 'get on pods' }).catch((e: unknown) => {
    // A static pod's mirror can lag behind its sandbox: retrying is right, a dynamic
    // address in place of the annotated one would not be.
    if ((e as { status?: number }).status === 404) throw new TryAgainError(`pod ${namespace}/${name} is not in the API server at ${conn.server} (yet); cannot read its ${ADDRESS_ANNOTATION} annotation`);
    throw e;
  });
  const metadata = typeof pod['metadata'] === 'object' && pod['metadata'] !== null ? (pod['metadata'] as Record<string, unknown>) : {};
  const annotations = typeof metadata['annotations'] === 'object' && metadata['annotations'] !== null ? (metadata['annotations'] as Record<string, unknown>) : {};
  const value = annotations[ADDRESS_ANNOTATION];
  if (value === undefined) return [];
  return parseAddressAnnotation(value, `pod ${namespace}/${name}`);
}

/** Parses the annotation value. Exported for tests. @throws AddressNotAllowedError */
export function parseAddressAnnotation(value: unknown, owner: string): string[] {
  const bad = (why: string): AddressNotAllowedError =>
    new AddressNotAllowedError(`${owner}: annotation ${ADDRESS_ANNOTATION}=${JSON.stringify(value)} ${why}; use one address or "IPv4,IPv6"`);
  if (typeof value !== 'string' || value.trim() === '') throw bad('is empty');
  const families = new Set<number>();
  return value.split(',').map((part) => {
    const ip = parseIPWithOptionalPrefix(part.trim());
    if (!ip) throw bad(`holds ${JSON.stringify(part.trim())}, which is not an IP address`);
    if (families.has(ip.family)) throw bad(`names two IPv${ip.family} addresses`);
    families.add(ip.family);
    return formatIP(ip);
  });
}
