/**
 * Honest time status: a reading that no batch or direct submission holds yet is not a failure while it
 * can still be anchored on time. It is PENDING until the deadline of the device's relayer receipt for
 * it (the relayer's promise), or, without a receipt, until `timestamp + maxAnchorDelay` (after that no
 * anchoring could make it valid, TRUST-MODEL §0 rule 3); then it is NOT_ANCHORED (or CENSORED, when a
 * binding receipt proves it).
 *
 * @module
 */
import type { Hex } from "viem";

import type { ReceiptEvidence } from "./censorship.js";
import { ReadingVerdict, type Problem } from "./types.js";

/** The chain's time as of a verification: its latest block and the anchoring delay in force then. */
export interface ChainClock {
  /** The latest block's timestamp, seconds. */
  latest: bigint;
  /** `maxAnchorDelayAt(latest)`, seconds. */
  maxAnchorDelay: bigint;
}

/**
 * Until when an unanchored reading is in flight: the latest deadline of its receipts (those whose
 * dataHash is the reading's, or all of them when its hash is unknown), else its time plus the delay.
 *
 * @example
 * inFlightUntil({ timestamp: 1_000n, receipts: [], clock: { latest: 1_100n, maxAnchorDelay: 86_400n } });
 * // { until: 87_400n, by: "maxAnchorDelay" }
 */
export function inFlightUntil(p: {
  timestamp: bigint | undefined;
  dataHash?: Hex;
  receipts: readonly ReceiptEvidence[];
  clock: ChainClock;
}): { until: bigint; by: "receipt" | "maxAnchorDelay" } | undefined {
  const matching = p.receipts.filter((e) => p.dataHash === undefined || e.receipt.dataHash.toLowerCase() === p.dataHash.toLowerCase());
  if (matching.length > 0)
    return { until: matching.reduce((max, e) => (BigInt(e.receipt.deadline) > max ? BigInt(e.receipt.deadline) : max), 0n), by: "receipt" };
  if (p.timestamp === undefined) return undefined;
  return { until: p.timestamp + p.clock.maxAnchorDelay, by: "maxAnchorDelay" };
}

/**
 * The PENDING problem of an unanchored reading still in flight at `clock.latest`, or undefined.
 *
 * @example
 * pendingProblem({ timestamp: 1_000n, receipts: [], clock: { latest: 1_100n, maxAnchorDelay: 86_400n } })?.status; // "PENDING"
 */
export function pendingProblem(p: Parameters<typeof inFlightUntil>[0]): Problem | undefined {
  const flight = inFlightUntil(p);
  if (flight === undefined || p.clock.latest > flight.until) return undefined;
  return {
    status: ReadingVerdict.PENDING,
    message: `not anchored yet; in flight until ${flight.until} (${flight.by === "receipt" ? "its relayer receipt's deadline" : "its time + maxAnchorDelay"})`,
    details: { until: Number(flight.until), by: flight.by, latestBlockTimestamp: Number(p.clock.latest) },
  };
}
