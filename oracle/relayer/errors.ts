/**
 * The relayer's typed errors. Every rejection's HTTP status comes from the one code table,
 * `ERROR_STATUS` in oracle/core/error-codes.ts.
 *
 * @module
 */
import type { ErrorCode } from "../core/error-codes.js";
import { SensorSealError } from "../core/errors.js";
import { ServiceError } from "../service/errors.js";

/**
 * A rejected reading or request: the relayer's name for a {@link ServiceError} (status from the one code table).
 *
 * @example throw new RejectionError("STALE_SEQUENCE", "seq 3 is not above the last accepted 5", { seq: "3", lastSeq: "5" });
 */
export const RejectionError = ServiceError;
export type RejectionError<C extends ErrorCode = ErrorCode> = ServiceError<C>;

/** The store was written for another chain or anchor. */
export class RelayerStoreMismatchError extends SensorSealError {
  override name = "RelayerStoreMismatchError" as const;
  declare readonly code: "STORE_MISMATCH";
  constructor(wanted: { chainId: string; anchor: string }, found: { chainId?: string; anchor?: string }) {
    super(
      "STORE_MISMATCH",
      `The relayer store belongs to chain ${found.chainId} anchor ${found.anchor}, not chain ${wanted.chainId} anchor ${wanted.anchor}.`,
      {
        details: { wanted, found },
      },
    );
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
