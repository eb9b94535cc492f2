/**
 * `ReadingAnchor.verifyReading` as a verifier status: the chain's own answer, which the verifier's
 * judgement must agree with (the bundle check and the agreement tests use it).
 *
 * @module
 */
import { BaseError, ContractFunctionRevertedError, type Address, type Hex, type PublicClient } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import type { Reading } from "../core/reading.js";
import { ReadingVerdict } from "./types.js";

/** The verifier status of each `verifyReading` revert (others: NOT_ANCHORED). */
const REVERT_STATUS: Record<string, Exclude<ReadingVerdict, "VERIFIED">> = {
  ReadingAnchorUnknownBatch: ReadingVerdict.NOT_ANCHORED,
  ReadingAnchorInvalidProof: ReadingVerdict.NOT_ANCHORED,
  ReadingAnchorInvalidSignature: ReadingVerdict.BAD_SIGNATURE,
  ReadingAnchorDeviceNotActive: ReadingVerdict.DEVICE_NOT_ACTIVE,
  ReadingAnchorFutureTimestamp: ReadingVerdict.INVALID_TIMESTAMP,
  ReadingAnchorAnchoredTooLate: ReadingVerdict.INVALID_TIMESTAMP,
};

/** What {@link verifyReadingOnChain} answers. */
export interface ContractVerdict {
  status: ReadingVerdict;
  /** The revert's error name, when it reverted. */
  error?: string;
}

/**
 * Calls `verifyReading(batchId, reading, signature, proof)` and maps its answer to a status:
 * `true` → VERIFIED; `ReadingAnchorDeviceNotActive(device, at)` with `at` = the anchoring time (rule 5)
 * → DEVICE_REVOKED, with `at` = the reading's time (rule 4) → DEVICE_NOT_ACTIVE; time reverts →
 * INVALID_TIMESTAMP; signature → BAD_SIGNATURE; proof / batch → NOT_ANCHORED.
 *
 * @example
 * const { status } = await verifyReadingOnChain(client, anchor, { batchId: 3n, reading, signature, proof, anchoredAt });
 */
export async function verifyReadingOnChain(
  client: PublicClient,
  anchor: Address,
  p: { batchId: bigint; reading: Reading; signature: Hex; proof: readonly Hex[]; anchoredAt?: bigint; blockNumber?: bigint },
): Promise<ContractVerdict> {
  try {
    const ok = await client.readContract({
      address: anchor,
      abi: readingAnchorAbi,
      functionName: "verifyReading",
      args: [p.batchId, p.reading, p.signature, [...p.proof]],
      ...(p.blockNumber === undefined ? {} : { blockNumber: p.blockNumber }),
    });
    return ok === true ? { status: ReadingVerdict.VERIFIED } : { status: ReadingVerdict.NOT_ANCHORED, error: "returned false" };
  } catch (error) {
    const revert = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
    const name = revert instanceof ContractFunctionRevertedError ? (revert.data?.errorName ?? "unknown") : "call failed";
    const at = revert instanceof ContractFunctionRevertedError ? revert.data?.args?.[1] : undefined;
    const revokedAtAnchoring = name === "ReadingAnchorDeviceNotActive" && at !== p.reading.timestamp && at === p.anchoredAt;
    return {
      status: revokedAtAnchoring ? ReadingVerdict.DEVICE_REVOKED : (REVERT_STATUS[name] ?? ReadingVerdict.NOT_ANCHORED),
      error: name,
    };
  }
}
