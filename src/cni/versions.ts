/** CNI spec versions pod-ipam accepts, and the minimum each verb needs. */
import { VersionError } from '../core/errors';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export const LATEST_VERSION = '1.1.0';

export type Verb = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

const MINIMUM: Record<Verb, string> = { ADD: '0.3.0', DEL: '0.3.0', CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0', VERSION: '0.3.0' };

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export const isSupportedVersion = (v: unknown): v is string => typeof v === 'string' && (SUPPORTED_VERSIONS as readonly string[]).includes(v);

/** @throws VersionError (CNI code 1) when `version` is unknown or too old for `verb`. */
export function requireVersion(verb: Verb, version: unknown): string {
  if (!isSupportedVersion(version)) {
    throw new VersionError(`cniVersion ${JSON.stringify(version)} is not supported`, `supported versions: ${SUPPORTED_VERSIONS.join(', ')}`);
  }
  if (compareVersions(version, MINIMUM[verb]) < 0) {
    throw new VersionError(`${verb} needs cniVersion ${MINIMUM[verb]} or later, the config says ${version}`, 'raise cniVersion in the network config');
  }
  return version;
}
