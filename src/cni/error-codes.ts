/**
 * The one mapping from pod-ipam's errors to CNI error codes. Codes 1-11 and 50 are the
 * spec's; 100 and up are pod-ipam's own, documented in README.md ("Error codes").
 */
import { PodIpamError } from '../core/errors';

export const CNI_CODES: Readonly<Record<string, number>> = {
  INCOMPATIBLE_VERSION: 1,
  UNKNOWN_CONTAINER: 3,
  INVALID_ENV: 4,
  IO: 5,
  DECODE: 6,
  INVALID_CONFIG: 7,
  TRY_AGAIN: 11,
  NOT_AVAILABLE: 50,
  RANGE_EXHAUSTED: 100,
  ADDRESS_TAKEN: 101,
  ADDRESS_NOT_ALLOWED: 102,
  CORRUPT_STATE: 103,
  STORE_WRITE: 104,
  CHECK_FAILED: 105,
  POOL_EXHAUSTED: 106,
  CLUSTER_STORE: 107,
  INTERNAL: 199,
};

export interface CniError {
  cniVersion: string;
  code: number;
  msg: string;
  details: string;
}

/** Any thrown value becomes exactly one CNI error object; a stack trace never reaches stdout. */
export function toCniError(error: unknown, cniVersion: string): CniError {
  if (error instanceof PodIpamError) {
    return { cniVersion, code: CNI_CODES[error.code] ?? CNI_CODES.INTERNAL!, msg: error.message, details: error.details };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { cniVersion, code: CNI_CODES.INTERNAL!, msg: `internal error: ${message}`, details: 'this is a bug in pod-ipam; please report it with POD_IPAM_LOG=debug output' };
}
