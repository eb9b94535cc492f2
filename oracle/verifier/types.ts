/**
 * The verifier's statuses and results. A reading's status is derived from the anchored manifest
 * (authenticated by the chain's manifest hash and root) and the chain (roots, registry), never from
 * what the platform or the relayer claim about it.
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { ManifestIssue } from "../core/anchored-batch.js";
import { SensorSealError } from "../core/errors.js";
import type { DirectInfo } from "./direct.js";

/** What the verifier concluded about one reading (or one missing seq). */
export const ReadingVerdict = {
  /** Raw payload hash = anchored dataHash, proof against an anchored root, valid signature, device active. */
  VERIFIED: "VERIFIED",
  /** keccak256(raw payload) differs from the anchored leaf's dataHash (or the payload contradicts the anchored reading). */
  TAMPERED: "TAMPERED",
  /** The device's registered key did not sign this reading (EIP-712 Reading on the anchor's domain). */
  BAD_SIGNATURE: "BAD_SIGNATURE",
  /**
   * The reading's time is outside its anchoring window (TRUST-MODEL §0 rules 2–3): dated more than 300 s
   * after its anchoring (reason FUTURE_TIMESTAMP), or anchored more than `maxAnchorDelayAt(A)` after its
   * time (reason ANCHORED_TOO_LATE).
   */
  INVALID_TIMESTAMP: "INVALID_TIMESTAMP",
  /** The device was not Active at the reading's time (rule 4; a compromise makes every time from `since` on Revoked), or is not registered. */
  DEVICE_NOT_ACTIVE: "DEVICE_NOT_ACTIVE",
  /** The device was Revoked when the reading was anchored (rule 5). */
  DEVICE_REVOKED: "DEVICE_REVOKED",
  /** The platform has the payload but no anchored, authenticated manifest contains (device, seq). */
  NOT_ANCHORED: "NOT_ANCHORED",
  /** An anchored manifest has (device, seq) but the platform has no payload. */
  RAW_MISSING: "RAW_MISSING",
  /** No reading with this seq, while the device has readings around it. */
  SEQUENCE_GAP: "SEQUENCE_GAP",
  /** The device signed two different payloads for one seq. */
  EQUIVOCATION: "EQUIVOCATION",
  /**
   * The only anchored batch holding the reading does not match its manifest: the manifest's
   * keccak256 is not the anchored manifest hash, or the manifest does not rebuild the anchored root
   * and leaf count, or is for another chain / anchor.
   */
  MANIFEST_MISMATCH: "MANIFEST_MISMATCH",
  /**
   * The reading is not in any manifest the verifier could get, and a batch that could hold it (anchored
   * within its time window) has no manifest at its relayer's registered URL (TRUST-MODEL §1: EXCLUDED).
   */
  UNAVAILABLE: "UNAVAILABLE",
  /**
   * A binding relayer receipt (signed by a registered `receiptSigner`) promised the reading by its
   * deadline, the deadline passed, and no batch or direct submission anchored it by then (TRUST-MODEL §6).
   * The receipt and the signer's registration are the evidence. A later anchoring shows beside it.
   */
  CENSORED: "CENSORED",
  /**
   * Not anchored yet but still in flight: the chain's latest block is not past the deadline of the
   * device's relayer receipt for it, or, without a receipt, not past `timestamp + maxAnchorDelay` (the
   * last moment it could still be validly anchored). Not a failure: the report stays `ok`.
   */
  PENDING: "PENDING",
} as const;
export type ReadingVerdict = (typeof ReadingVerdict)[keyof typeof ReadingVerdict];

/** Statuses from most to least severe: a reading with several problems reports the first. */
export const STATUS_PRIORITY: readonly ReadingVerdict[] = [
  ReadingVerdict.EQUIVOCATION,
  ReadingVerdict.TAMPERED,
  ReadingVerdict.BAD_SIGNATURE,
  ReadingVerdict.INVALID_TIMESTAMP,
  ReadingVerdict.DEVICE_NOT_ACTIVE,
  ReadingVerdict.DEVICE_REVOKED,
  ReadingVerdict.MANIFEST_MISMATCH,
  ReadingVerdict.CENSORED,
  ReadingVerdict.UNAVAILABLE,
  ReadingVerdict.RAW_MISSING,
  ReadingVerdict.NOT_ANCHORED,
  ReadingVerdict.SEQUENCE_GAP,
  ReadingVerdict.PENDING,
  ReadingVerdict.VERIFIED,
];

/** Statuses that are not a failure: a report of only these is `ok`. */
export const OK_STATUSES: readonly ReadingVerdict[] = [ReadingVerdict.VERIFIED, ReadingVerdict.PENDING];

/** One thing wrong with a reading. */
export interface Problem {
  status: Exclude<ReadingVerdict, "VERIFIED">;
  message: string;
  details?: Record<string, unknown>;
}

/** Where a reading is anchored (filled when an anchored manifest holds it). */
export interface AnchorInfo {
  batchId: number;
  root: Hex;
  manifestHash: Hex;
  anchoredAt: number;
  blockNumber: number;
  txHash?: Hex;
  leaf: Hex;
}

/** The verdict on one reading. */
export interface ReadingResult {
  device: Address;
  seq: number;
  /** Reading timestamp (from the anchored manifest, else from the payload), when known. */
  timestamp?: number;
  status: ReadingVerdict;
  /** Every problem found, most severe first; empty when VERIFIED. */
  problems: Problem[];
  /** keccak256 of the platform's raw payload, when it has one. */
  payloadHash?: Hex;
  /** The anchored reading's dataHash, when anchored. */
  anchoredDataHash?: Hex;
  anchor?: AnchorInfo;
  /** Where it was submitted directly (`submitReading`), when no batch holds it: the tx is the evidence. */
  direct?: DirectInfo;
}

/** A problem with a whole anchored batch (full-batch audit). */
export const BatchIssue = {
  /** No source serves the batch's manifest. */
  MANIFEST_MISSING: "MANIFEST_MISSING",
  /** The manifest does not authenticate (oracle/core/anchored-batch.ts `authenticateManifest`). */
  ...ManifestIssue,
  /** The BatchAnchored log disagrees with `getBatch`. */
  EVENT_MISMATCH: "EVENT_MISMATCH",
} as const;
export type BatchIssue = (typeof BatchIssue)[keyof typeof BatchIssue];

/** The verdict on one anchored batch. */
export interface BatchResult {
  batchId: number;
  root: Hex;
  manifestHash: Hex;
  leafCount: number;
  anchoredAt: number;
  blockNumber: number;
  txHash?: Hex;
  /** True when the manifest matches the anchored batch and every reading in it is VERIFIED (signature and status). */
  ok: boolean;
  issues: { issue: BatchIssue; message: string; details?: Record<string, unknown> }[];
  /** Per reading of the manifest (signature and device status only: raw payloads are not fetched). */
  readings: ReadingResult[];
  counts: Record<ReadingVerdict, number>;
}

/** A summary of many results. */
export interface Report {
  /** Nothing is wrong: every reading VERIFIED or PENDING (still in flight), every batch ok. */
  ok: boolean;
  /** How many readings are PENDING (`counts.PENDING`): `ok` with `pending > 0` means "not settled yet". */
  pending: number;
  counts: Record<ReadingVerdict, number>;
  readings: ReadingResult[];
  batches?: BatchResult[];
}

/** The verifier could not run (bad argument, unreachable service, unexpected answer). */
export class VerifierError extends SensorSealError {
  override name = "VerifierError" as const;
}

/** A zeroed count per status. */
export function emptyCounts(): Record<ReadingVerdict, number> {
  return Object.fromEntries(Object.values(ReadingVerdict).map((s) => [s, 0])) as Record<ReadingVerdict, number>;
}

/** Counts results by status. */
export function countStatuses(results: readonly ReadingResult[]): Record<ReadingVerdict, number> {
  const counts = emptyCounts();
  for (const r of results) counts[r.status]++;
  return counts;
}

/** Sets `status` from `problems` (most severe first). */
export function finish(result: Omit<ReadingResult, "status"> & { status?: ReadingVerdict }): ReadingResult {
  // Nothing to merge or order (most readings of an audit): the problems as they are.
  if (result.problems.length <= 1)
    return { ...result, problems: [...result.problems], status: result.problems[0]?.status ?? ReadingVerdict.VERIFIED };
  const rank = (s: ReadingVerdict) => STATUS_PRIORITY.indexOf(s);
  const unique = new Map<string, Problem>();
  for (const p of result.problems) unique.set(`${p.status}:${p.message}`, p);
  const problems = [...unique.values()].sort((a, b) => rank(a.status) - rank(b.status));
  return { ...result, problems, status: problems[0]?.status ?? ReadingVerdict.VERIFIED };
}
