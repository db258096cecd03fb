/**
 * Domain errors. Every failure pod-ipam reports is one of these; each carries a stable
 * `code` string so the CNI layer can map it to a CNI error code in exactly one place
 * (src/cni/error-codes.ts). Messages say what went wrong and what to do about it.
 */
export class PodIpamError extends Error {
  readonly code: string;
  readonly details: string;
  constructor(code: string, message: string, details = '') {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** The configuration is invalid; `path` is the JSON path of the offending field. */
export class ConfigError extends PodIpamError {
  readonly path: string;
  constructor(path: string, message: string, details = '') {
    super('INVALID_CONFIG', `${path}: ${message}`, details);
    this.path = path;
  }
}

/** The input is not decodable (stdin is not JSON, or not an object). */
export class DecodeError extends PodIpamError {
  constructor(message: string, details = '') {
    super('DECODE', message, details);
  }
}

/** The cniVersion is unknown, or too old for the requested verb. */
export class VersionError extends PodIpamError {
  constructor(message: string, details = '') {
    super('INCOMPATIBLE_VERSION', message, details);
  }
}

/** A CNI_* environment variable is missing or malformed; `variables` names them. */
export class EnvError extends PodIpamError {
  readonly variables: readonly string[];
  constructor(variables: readonly string[], message: string) {
    super('INVALID_ENV', message);
    this.variables = variables;
  }
}

/** Reading input or state failed at the operating-system level. */
export class IoError extends PodIpamError {
  constructor(message: string, details = '') {
    super('IO', message, details);
  }
}

/** A transient condition (lock busy, remote store unreachable): the caller should retry. */
export class TryAgainError extends PodIpamError {
  constructor(message: string, details = '') {
    super('TRY_AGAIN', message, details);
  }
}

/** No free address is left in a range set; `setIndex` says which one. */
export class RangeExhaustedError extends PodIpamError {
  readonly setIndex: number;
  constructor(message: string, details = '', setIndex = 0) {
    super('RANGE_EXHAUSTED', message, details);
    this.setIndex = setIndex;
  }
}

/** A requested (static) address is held by another attachment. */
export class AddressTakenError extends PodIpamError {
  constructor(message: string, details = '') {
    super('ADDRESS_TAKEN', message, details);
  }
}

/** A requested address is outside every range set, or is a gateway, network or excluded address. */
export class AddressNotAllowedError extends PodIpamError {
  constructor(message: string, details = '') {
    super('ADDRESS_NOT_ALLOWED', message, details);
  }
}

/** Persisted state cannot be parsed or contradicts itself. Never reset silently. */
export class CorruptStateError extends PodIpamError {
  constructor(message: string, details = '') {
    super('CORRUPT_STATE', message, details);
  }
}

/** The state store cannot be written (read-only, full disk, permissions). */
export class StoreWriteError extends PodIpamError {
  constructor(message: string, details = '') {
    super('STORE_WRITE', message, details);
  }
}

/** CHECK or another verb names an attachment that holds nothing. */
export class UnknownContainerError extends PodIpamError {
  constructor(message: string, details = '') {
    super('UNKNOWN_CONTAINER', message, details);
  }
}

/** CHECK found an address of prevResult that is not reserved for this attachment. */
export class CheckFailedError extends PodIpamError {
  constructor(message: string, details = '') {
    super('CHECK_FAILED', message, details);
  }
}

/** STATUS: the plugin cannot serve an ADD right now. */
export class NotAvailableError extends PodIpamError {
  constructor(message: string, details = '') {
    super('NOT_AVAILABLE', message, details);
  }
}

/** cluster-pool: every block of a pool (at the configured mask) is owned by some node. */
export class PoolExhaustedError extends PodIpamError {
  constructor(message: string, details = '') {
    super('POOL_EXHAUSTED', message, details);
  }
}

/** cluster-pool: the cluster store refused a request (bad request, permission), not a transient outage. */
export class ClusterStoreError extends PodIpamError {
  constructor(message: string, details = '') {
    super('CLUSTER_STORE', message, details);
  }
}
