/**
 * Typed errors of the oracle committee member. None is answered over HTTP (the routes answer
 * `ServiceError`s); they name why the worker stopped an epoch or why the member cannot start.
 *
 * @module
 */
import { SensorSealError, type SensorSealErrorOptions } from "../core/errors.js";

/** Base of the committee's errors: `code` says which. */
export class CommitteeError extends SensorSealError {
  override name: string = "CommitteeError";
}

/** The options cannot work (e.g. `epochBlocks` < 1). */
export class CommitteeConfigError extends CommitteeError {
  override name = "CommitteeConfigError" as const;
  constructor(message: string, options: SensorSealErrorOptions = {}) {
    super("INVALID_COMMITTEE_CONFIG", message, options);
  }
}

/** An RPC serves another chain than the one configured. */
export class ChainMismatchError extends CommitteeError {
  override name = "ChainMismatchError" as const;
  constructor(chain: "audit" | "reward", actual: number, expected: number) {
    super("CHAIN_MISMATCH", `createOracle: the ${chain} RPC serves chain ${actual}, expected ${expected}`, {
      details: { chain, actual, expected },
    });
  }
}

/** A reorg seen while reading a range: read again on the next tick. */
export class ReorgDuringReadError extends CommitteeError {
  override name = "ReorgDuringReadError" as const;
  constructor(message: string) {
    super("REORG_DURING_READ", message);
  }
}

/** No source served the manifest with the anchored hash: wait for one. */
export class ManifestUnavailableError extends CommitteeError {
  override name = "ManifestUnavailableError" as const;
  constructor(message: string, details: Record<string, unknown>) {
    super("MANIFEST_UNAVAILABLE", message, { details });
  }
}

/** A mined `postRoot` transaction reverted. */
export class PostRevertedError extends CommitteeError {
  override name = "PostRevertedError" as const;
  constructor(txHash: string, epoch: number) {
    super("POST_REVERTED", `postRoot transaction ${txHash} reverted`, { details: { txHash, epoch } });
  }
}
