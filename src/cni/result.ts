/**
 * The abbreviated IPAM result (no interfaces), written in the input's cniVersion:
 * 0.3.x and 0.4.0 carry `version` on each IP; 1.1.0 adds route attributes.
 */
import { cidrLast, formatIP } from '../core/ip';
import type { IP } from '../core/ip';
import type { Range } from '../core/range';
import { compareVersions } from './versions';
import type { Route } from './ipam-config';
import type { Dns } from './resolv-conf';

export interface AllocatedIP {
  readonly ip: IP;
  readonly range: Range;
}

export function formatResult(version: string, ips: readonly AllocatedIP[], routes: readonly Route[], dns: Dns | undefined): Record<string, unknown> {
  const legacy = compareVersions(version, '1.0.0') < 0;
  const withRouteAttributes = compareVersions(version, '1.1.0') >= 0;
  return {
    cniVersion: version,
    ips: ips.map(({ ip, range }) => ({
      ...(legacy ? { version: String(ip.family) } : {}),
      address: `${formatIP(ip)}/${range.subnet.prefix}`,
      ...(gatewayInSubnet(range) ? { gateway: formatIP(range.gateway) } : {}),
    })),
    ...(routes.length > 0 ? { routes: routes.map((r) => ({ dst: r.dst, ...(r.gw ? { gw: r.gw } : {}), ...(withRouteAttributes ? r.extra : {}) })) } : {}),
    dns: dns ?? {},
  };
}

const gatewayInSubnet = (range: Range): boolean => range.gateway.value >= range.subnet.network && range.gateway.value <= cidrLast(range.subnet);
