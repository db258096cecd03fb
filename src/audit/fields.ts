/**
 * What one line of the audit log says about one CNI call. Dispatch fills in what it knows
 * (time, verb, network, attachment, pod, result addresses, error, duration); the verbs add
 * what only they know through `AuditNotes.note()` (see src/cni/request.ts).
 *
 * Field names are part of the log's format (README.md, "Audit log"): add fields, never
 * rename or re-type one, so a reader of old files keeps working.
 */

import type { PodIdentity } from '../core/pod';

export type { PodIdentity };

/** Why a requested (static) address was not given. */
export interface RefusedAddress {
  readonly address: string;
  readonly reason: string;
}

/** The range set that had no free address left (0-based, in config order) and its ranges. */
export interface ExhaustedSet {
  readonly set: number;
  readonly ranges?: readonly string[];
}

/** Calls that could not be logged before this line (disk full, log unwritable). */
export interface SkippedLines {
  readonly count: number;
  readonly first?: string;
  readonly last?: string;
  readonly error?: string;
}

export interface AuditFields {
  readonly time: string;
  readonly level: 'info' | 'error';
  readonly verb: string;
  readonly network?: string;
  readonly mode?: string;
  readonly containerId?: string;
  readonly ifname?: string;
  readonly pod?: PodIdentity;
  /** Addresses of an ADD's result (CIDR notation, as the runtime got them). */
  readonly addresses?: readonly string[];
  /** Addresses the call newly reserved / released (plain addresses). */
  readonly reserved?: readonly string[];
  readonly released?: readonly string[];
  /** Addresses the call asked for (runtimeConfig.ips, args.cni.ips, CNI_ARGS IP=, an annotation). */
  readonly requested?: readonly string[];
  readonly refused?: RefusedAddress;
  readonly exhausted?: ExhaustedSet;
  /** Present only when the call failed: the CNI error it answered. */
  readonly error?: { readonly code: number; readonly msg: string };
  /** Wall time of the call inside the plugin, and its split (reported by the verbs). */
  readonly durationMs?: number;
  readonly lockWaitMs?: number;
  readonly workMs?: number;
  readonly pid?: number;
  readonly skipped?: SkippedLines;
  /** Written without the log's lock (why: its holder was stopped, or busy past the wait), so maybe past logMaxBytes. */
  readonly logLockBypassed?: string;
}

/** What a verb may add to its call's line. */
export type AuditNote = Partial<Pick<AuditFields, 'reserved' | 'released' | 'requested' | 'refused' | 'exhausted' | 'lockWaitMs' | 'workMs' | 'mode'>>;

/**
 * The interface a verb reports to: `req.audit.note({ released: ['10.1.2.3'] })`. Notes
 * accumulate: arrays are appended to, other fields keep the last value given. Noting
 * never throws and never does I/O; the line is written once, by dispatch, at the end.
 */
export interface AuditNotes {
  note(fields: AuditNote): void;
}

const ARRAY_KEYS = ['reserved', 'released', 'requested'] as const;

/** Collects notes for one call. */
export class AuditCollector implements AuditNotes {
  #notes: { -readonly [K in keyof AuditNote]: AuditNote[K] } = {};

  note(fields: AuditNote): void {
    for (const [key, value] of Object.entries(fields) as [keyof AuditNote, unknown][]) {
      if (value === undefined || (Array.isArray(value) && value.length === 0)) continue; // an empty list says nothing
      if ((ARRAY_KEYS as readonly string[]).includes(key) && Array.isArray(value)) {
        const k = key as (typeof ARRAY_KEYS)[number];
        this.#notes[k] = [...(this.#notes[k] ?? []), ...(value as string[])];
      } else {
        (this.#notes as Record<string, unknown>)[key] = value;
      }
    }
  }

  get notes(): AuditNote {
    return this.#notes;
  }
}
