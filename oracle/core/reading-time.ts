/**
 * The one timestamp rule of docs/TRUST-MODEL.md, written once for the verifier, the reward rules and
 * the relayer's intake (the contract's `verifyReading` / `submitReading` apply the same rule).
 *
 * A reading dated `t`, anchored at `A` (its batch's `anchoredAt`, or the block time of its direct
 * submission), is valid only if, in this order:
 * 1. FUTURE_TIMESTAMP: `t ≤ A + MAX_CLOCK_SKEW` (no future readings);
 * 2. ANCHORED_TOO_LATE: `A ≤ t + maxAnchorDelayAt(A)` (bounded delay: old or stolen keys cannot
 *    back-date readings into later batches for long);
 * 3. DEVICE_NOT_ACTIVE: the device was Active at `t` (a compromise makes every `t ≥ since` Revoked);
 * 4. DEVICE_REVOKED: the device was not Revoked at `A`.
 * (The signature check comes before, with the device's registered key.)
 *
 * Pure: the device's status over time is passed in.
 *
 * @module
 */
import { DeviceStatus, deviceStatusName } from "./device-status.js";

/** `ReadingAnchor.MAX_CLOCK_SKEW`: how far a reading's time may be ahead of its anchoring, seconds. */
export const MAX_CLOCK_SKEW_SECONDS = 300n;

/** Why a reading fails the timestamp rule. */
export type ReadingTimeCode = "FUTURE_TIMESTAMP" | "ANCHORED_TOO_LATE" | "DEVICE_NOT_ACTIVE" | "DEVICE_REVOKED";

/** The verdict of {@link judgeReadingTime}. */
export type ReadingTimeVerdict = { ok: true } | { ok: false; code: ReadingTimeCode; message: string; details: Record<string, string> };

/** Parameters of {@link judgeReadingTime}. */
export interface ReadingTimeParameters {
  /** The reading's `timestamp`, seconds. */
  timestamp: bigint;
  /** When it was anchored: the batch's `anchoredAt`, or the direct submission's block time. */
  anchoredAt: bigint;
  /** `ReadingAnchor.maxAnchorDelayAt(anchoredAt)`, seconds. */
  maxAnchorDelay: bigint;
  /** The device's status at a time, compromise included (e.g. `statusAsOf(device, t, block)`). */
  statusAt(timestamp: bigint): DeviceStatus;
}

/**
 * Judges a reading's time against its anchoring (see the module doc for the rule).
 *
 * @example
 * ```ts
 * import { DeviceStatus } from "./device-status.js";
 * const statusAt = () => DeviceStatus.Active;
 * judgeReadingTime({ timestamp: 1_000n, anchoredAt: 1_060n, maxAnchorDelay: 3_600n, statusAt }).ok; // true
 * judgeReadingTime({ timestamp: 9_000n, anchoredAt: 1_060n, maxAnchorDelay: 3_600n, statusAt }); // { ok: false, code: "FUTURE_TIMESTAMP", … }
 * judgeReadingTime({ timestamp: 1_000n, anchoredAt: 9_000n, maxAnchorDelay: 3_600n, statusAt }); // { ok: false, code: "ANCHORED_TOO_LATE", … }
 * ```
 */
export function judgeReadingTime(p: ReadingTimeParameters): ReadingTimeVerdict {
  const times = { timestamp: p.timestamp.toString(), anchoredAt: p.anchoredAt.toString() };
  if (p.timestamp > p.anchoredAt + MAX_CLOCK_SKEW_SECONDS) {
    return refuse("FUTURE_TIMESTAMP", "the reading is dated after its anchoring (beyond the clock skew)", {
      ...times,
      maxClockSkewSeconds: MAX_CLOCK_SKEW_SECONDS.toString(),
    });
  }
  if (p.anchoredAt > p.timestamp + p.maxAnchorDelay) {
    return refuse("ANCHORED_TOO_LATE", "the reading was anchored later than the maximum anchoring delay allows", {
      ...times,
      maxAnchorDelay: p.maxAnchorDelay.toString(),
    });
  }
  const atReading = p.statusAt(p.timestamp);
  if (atReading !== DeviceStatus.Active) {
    return refuse("DEVICE_NOT_ACTIVE", `the device was ${deviceStatusName(atReading)} at the reading's time`, {
      ...times,
      status: deviceStatusName(atReading),
    });
  }
  if (p.statusAt(p.anchoredAt) === DeviceStatus.Revoked) {
    return refuse("DEVICE_REVOKED", "the device was revoked when the reading was anchored", { ...times, status: "revoked" });
  }
  return { ok: true };
}

/** The verdict of {@link checkIntakeTime}. */
export type IntakeTimeVerdict =
  { ok: true } | { ok: false; code: "FUTURE_TIMESTAMP" | "TIMESTAMP_TOO_OLD"; message: string; details: Record<string, string> };

/**
 * What a service taking readings in (the relayer) refuses up front: a reading that could not be
 * valid when it is anchored — dated beyond the clock skew ahead of `now`, or so old that it cannot
 * be anchored within the maximum delay (`marginSeconds`: the service's own batching and confirmation
 * time, so that what it accepts is anchored in time).
 *
 * @example
 * ```ts
 * checkIntakeTime({ timestamp: 1_000n, nowSeconds: 1_030n, maxAnchorDelay: 3_600n, marginSeconds: 120n }).ok; // true
 * checkIntakeTime({ timestamp: 1_000n, nowSeconds: 9_000n, maxAnchorDelay: 3_600n, marginSeconds: 120n }); // { ok: false, code: "TIMESTAMP_TOO_OLD", … }
 * ```
 */
export function checkIntakeTime(p: {
  timestamp: bigint;
  nowSeconds: bigint;
  maxAnchorDelay: bigint;
  marginSeconds: bigint;
  /** The service's allowed skew ahead of its clock (default: the anchor's MAX_CLOCK_SKEW). */
  maxClockSkewSeconds?: bigint;
}): IntakeTimeVerdict {
  const times = { timestamp: p.timestamp.toString(), now: p.nowSeconds.toString() };
  const skew = p.maxClockSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS;
  if (p.timestamp > p.nowSeconds + skew) {
    return refuse("FUTURE_TIMESTAMP", `timestamp is more than ${skew} s ahead of the clock`, {
      ...times,
      maxClockSkewSeconds: skew.toString(),
    });
  }
  if (p.timestamp + p.maxAnchorDelay < p.nowSeconds + p.marginSeconds) {
    return refuse("TIMESTAMP_TOO_OLD", "the reading is too old to be anchored within the maximum anchoring delay", {
      ...times,
      maxAnchorDelay: p.maxAnchorDelay.toString(),
      marginSeconds: p.marginSeconds.toString(),
    });
  }
  return { ok: true };
}

function refuse<C extends string>(code: C, message: string, details: Record<string, string>) {
  return { ok: false as const, code, message, details };
}
