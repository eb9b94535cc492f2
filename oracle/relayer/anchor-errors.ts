/**
 * Typed errors of the relayer's anchoring worker, its store and its factory. Each is a
 * {@link SensorSealError} with a literal `name` and a machine-readable `code`; none is answered to a
 * client (the worker logs them and retries next tick, the factory fails at start).
 *
 * @module
 */
import { SensorSealError } from "../core/errors.js";

/** The chain holds an anchoring of the batch's root, but its `BatchAnchored` event is not where it must be. */
export class AnchorEventMissingError extends SensorSealError {
  override name = "AnchorEventMissingError" as const;
  declare readonly code: "ANCHOR_EVENT_MISSING";
  constructor(message: string, details: { root: string; anchorBatchId?: string; txHash?: string }) {
    super("ANCHOR_EVENT_MISSING", message, { details });
  }
}

/** The audit chain has no EIP-1559 base fee: the relayer does not price legacy transactions. */
export class NoBaseFeeError extends SensorSealError {
  override name = "NoBaseFeeError" as const;
  declare readonly code: "NO_BASE_FEE";
  constructor(chainId: number) {
    super("NO_BASE_FEE", "the audit chain has no EIP-1559 base fee: legacy gas pricing is not supported", { details: { chainId } });
  }
}

/** `createRelayer` was given no signing account, or one that cannot sign raw transactions locally. */
export class RelayerAccountError extends SensorSealError {
  override name = "RelayerAccountError" as const;
  declare readonly code: "RELAYER_ACCOUNT";
  constructor(problem: "missing" | "not-local") {
    const message =
      problem === "missing"
        ? "createRelayer: chain.account, chain.privateKey or chain.walletClient (local account) is required"
        : "createRelayer: the wallet client's account must be local (raw transactions are persisted before broadcast)";
    super("RELAYER_ACCOUNT", message, { details: { problem } });
  }
}

/** Cutting a batch claimed fewer queued readings than it was built from (another writer took some). */
export class BatchClaimError extends SensorSealError {
  override name = "BatchClaimError" as const;
  declare readonly code: "BATCH_CLAIM_MISMATCH";
  constructor(batchId: number, claimed: number, expected: number) {
    super("BATCH_CLAIM_MISMATCH", `batch ${batchId}: ${claimed} of ${expected} readings claimed`, {
      details: { batchId, claimed, expected },
    });
  }
}

/** The anchoring lease went to another relayer instance (this one stalled past its expiry): nothing is recorded or sent. */
export class LeaseLostError extends SensorSealError {
  override name = "LeaseLostError" as const;
  declare readonly code: "ANCHOR_LEASE_LOST";
  constructor(lease: string, holder: string) {
    super("ANCHOR_LEASE_LOST", `the anchoring lease ${lease} is no longer held by ${holder}`, { details: { lease, holder } });
  }
}
