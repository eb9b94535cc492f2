/**
 * The relayer's typed errors and the HTTP answer of every rejection code.
 *
 * @module
 */
import { SensorSealError } from "../core/errors.js";
import { ServiceError } from "../service/errors.js";

/**
 * Every code a reading can be rejected with, and its HTTP status.
 *
 * - 400: the request is malformed or the reading can never be valid as sent
 * - 403: the registry does not allow this device to submit this reading
 * - 409: the per-device sequence refuses it (resend the same reading for the same receipt)
 * - 413 / 415: request size / media type
 * - 429: rate limit, device quota, queue full or overloaded (load shedding) (with Retry-After)
 * - 503: the relayer is shutting down (with Retry-After)
 */
export const REJECTION_STATUS = {
  INVALID_JSON: 400,
  INVALID_READING: 400,
  INVALID_SIGNATURE: 400,
  FUTURE_TIMESTAMP: 400,
  EMPTY_BULK: 400,
  UNKNOWN_DEVICE: 403,
  DEVICE_NOT_ACTIVE: 403,
  DEVICE_REVOKED: 403,
  STALE_SEQUENCE: 409,
  SEQUENCE_CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_READINGS: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  DEVICE_QUOTA_EXCEEDED: 429,
  QUEUE_FULL: 429,
  OVERLOADED: 429,
  SHUTTING_DOWN: 503,
} as const;

export type RejectionCode = keyof typeof REJECTION_STATUS;

/**
 * A rejected reading or request: its HTTP status comes from {@link REJECTION_STATUS}.
 *
 * @example throw new RejectionError("STALE_SEQUENCE", "seq 3 is not above the last accepted 5", { seq: "3", lastSeq: "5" });
 */
export class RejectionError extends ServiceError {
  declare readonly code: RejectionCode;
  constructor(code: RejectionCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(REJECTION_STATUS[code], code, message, details, options);
  }
}

/** The store was written for another chain or anchor. */
export class RelayerStoreMismatchError extends SensorSealError {
  override name = "RelayerStoreMismatchError" as const;
  declare readonly code: "STORE_MISMATCH";
  constructor(wanted: { chainId: string; anchor: string }, found: { chainId?: string; anchor?: string }) {
    super("STORE_MISMATCH", `The relayer store belongs to chain ${found.chainId} anchor ${found.anchor}, not chain ${wanted.chainId} anchor ${wanted.anchor}.`, {
      details: { wanted, found },
    });
  }
}

/** The RPC endpoint serves another chain than the configured one. */
export class ChainMismatchError extends SensorSealError {
  override name = "ChainMismatchError" as const;
  declare readonly code: "CHAIN_MISMATCH";
  constructor(expected: number, actual: number) {
    super("CHAIN_MISMATCH", `The RPC endpoint serves chain ${actual}, expected ${expected}.`, { details: { expected, actual } });
  }
}

