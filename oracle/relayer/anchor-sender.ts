/**
 * Sending anchoring transactions: a queued batch is simulated, signed, persisted (nonce, hash, raw
 * bytes, fees) and only then broadcast; a stuck one is replaced by the same nonce with fees raised by
 * at least 12.5 % (sent again as it is when gas is free: 12.5 % of 0 is 0); transactions are typed
 * and priced by the chain's fee model (../chain/fee-model.ts: EIP-1559, legacy or free); node answers that settle themselves ("already known", "nonce too low",
 * underpriced) are not errors; a root found anchored already is settled by `batchIdOfRoot`,
 * `getBatch` and its `BatchAnchored` event.
 *
 * @module
 */
import { BaseError, encodeFunctionData, getAddress, keccak256, type Hex } from "viem";

import { readAnchorLogs } from "../chain/anchor-log.js";
import { readingAnchorAbi } from "../chain/abis.js";
import { currentFees, maxPricePerGas, nextFees, type TxFees } from "../chain/fee-model.js";
import { revertName } from "../chain/rpc.js";
import { AnchorEventMissingError } from "./anchor-errors.js";
import type { AnchorContext } from "./anchor-options.js";
import type { BatchRow, MinedInfo, TxKind, TxRow } from "./store.js";

const KNOWN_TX = /already known|known transaction|already imported|alreadyknown|already exists/i;
const NONCE_TOO_LOW = /nonce too low|nonce is too low|nonce has already been used|oldnonce|nonce_expired|invalid nonce/i;
const UNDERPRICED = /underpriced|fee too low|replacement/i;

/** All messages and details of an error and its causes, for matching node error texts. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let i = 0; e !== undefined && e !== null && i < 8; i++) {
    const o = e as { message?: unknown; details?: unknown; shortMessage?: unknown; cause?: unknown };
    for (const v of [o.shortMessage, o.message, o.details]) if (typeof v === "string") parts.push(v);
    e = o.cause;
  }
  return parts.join(" | ");
}

export function shortError(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}

export { bumpFee } from "../chain/fee-model.js";

/** The fees a recorded transaction was signed with (a legacy one stores its gas price in both fields). */
function recordedFees(tx: TxRow, txType: "eip1559" | "legacy"): TxFees {
  return txType === "legacy"
    ? { type: "legacy", gasPrice: tx.maxFeePerGas }
    : { type: "eip1559", maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas };
}

/** Where a batch's root stands on chain: anchored by this batch (ours), or under another manifest (foreign). */
export type Anchored = { kind: "ours"; info: MinedInfo } | { kind: "foreign"; anchorBatchId: number; reason: string };

/** Signs, persists and broadcasts a batch's anchoring transactions (one per worker). */
export class AnchorSender {
  readonly #o: AnchorContext;
  /** Consecutive failed attempts per batch, for the retry backoff. */
  #failures = new Map<number, number>();

  constructor(context: AnchorContext) {
    this.#o = context;
  }

  /** First (or renewed) anchoring of a queued batch. Answers whether a transaction was sent. */
  async send(batch: BatchRow): Promise<boolean> {
    const { publicClient, account, anchor, logger } = this.#o;
    const found = await this.findAnchored(batch);
    if (found !== undefined) {
      await this.settleAnchored(batch, found, "before sending");
      return false;
    }
    const request = {
      account,
      address: anchor,
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [batch.root, batch.leafCount, batch.manifestHash],
    } as const;
    try {
      await publicClient.simulateContract(request);
    } catch (error) {
      if (revertName(error) === "ReadingAnchorRootAlreadyAnchored") {
        const again = await this.findAnchored(batch);
        if (again !== undefined) {
          await this.settleAnchored(batch, again, "ReadingAnchorRootAlreadyAnchored");
          return false;
        }
      }
      logger.error({ batch: batch.id, revert: revertName(error), err: shortError(error) }, "anchorBatch would revert; retrying later");
      await this.defer(batch, `anchorBatch would revert: ${revertName(error) ?? shortError(error)}`);
      return false;
    }
    const estimate = await publicClient.estimateGas({ account, to: anchor, data: this.#calldata(batch) });
    const gas = (estimate * 5n) / 4n + 10_000n;
    const fees = await currentFees(publicClient, this.#o.feeModel, this.#o.maxFeePerGasCap);
    const nonce = await this.#nextNonce();
    const kind: TxKind = batch.attempts > 0 ? "resign" : "initial";
    const tx = await this.#signAndRecord(batch, kind, { nonce, gas }, fees);
    this.#failures.delete(batch.id);
    await this.broadcast(batch, tx, kind);
    return true;
  }

  /**
   * Same nonce, same gas, fees raised by ≥ 12.5 % (and to at least the current estimate). When gas is
   * free nothing can be raised: the same signed transaction is sent again (a node that dropped it
   * takes it back; one that holds it answers "already known").
   */
  async bump(batch: BatchRow, old: TxRow): Promise<void> {
    const { logger, maxFeePerGasCap, feeModel, publicClient } = this.#o;
    const now = await currentFees(publicClient, feeModel);
    const fees = nextFees(feeModel, recordedFees(old, feeModel.txType), now);
    if (fees === undefined) {
      logger.warn(
        { batch: batch.id, tx: old.hash, nonce: old.nonce, feeModel: feeModel.kind },
        "transaction stuck on a free-gas chain: sending it again",
      );
      await this.#o.store.touchTx(old.id, this.#o.now());
      await this.broadcast(batch, old, "rebroadcast");
      return;
    }
    if (maxFeePerGasCap !== undefined && maxPricePerGas(fees) > maxFeePerGasCap) {
      logger.warn({ batch: batch.id, tx: old.hash, cap: maxFeePerGasCap.toString() }, "fee cap reached: not bumping");
      await this.#o.store.touchTx(old.id, this.#o.now());
      return;
    }
    const tx = await this.#signAndRecord(batch, "bump", { nonce: old.nonce, gas: old.gas }, fees);
    logger.warn(
      {
        batch: batch.id,
        old: old.hash,
        tx: tx.hash,
        nonce: tx.nonce,
        maxFeePerGas: tx.maxFeePerGas.toString(),
        maxPriorityFeePerGas: tx.maxPriorityFeePerGas.toString(),
      },
      "transaction stuck: fee bump",
    );
    await this.broadcast(batch, tx, "bump");
  }

  /**
   * Is the batch's root anchored already? Ours when the on-chain batch has the same leaf count and
   * manifest hash and its BatchAnchored event carries the root.
   */
  async findAnchored(batch: BatchRow): Promise<Anchored | undefined> {
    const { publicClient, anchor, logger, account } = this.#o;
    const id = await publicClient.readContract({
      address: anchor,
      abi: readingAnchorAbi,
      functionName: "batchIdOfRoot",
      args: [batch.root],
    });
    if (id === 0n) return undefined;
    const onChain = await publicClient.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "getBatch", args: [id] });
    if (onChain.manifestHash.toLowerCase() !== batch.manifestHash || Number(onChain.leafCount) !== batch.leafCount) {
      return {
        kind: "foreign",
        anchorBatchId: Number(id),
        reason: `root anchored as batch ${id} with another manifest hash or leaf count`,
      };
    }
    const at = BigInt(onChain.blockNumber);
    const { batches } = await readAnchorLogs({ client: publicClient, anchor, fromBlock: at, toBlock: at, events: ["BatchAnchored"] });
    const log = batches.find((b) => b.batchId === id && b.root.toLowerCase() === batch.root);
    if (log === undefined) {
      throw new AnchorEventMissingError(`batch ${id} holds root ${batch.root} but its BatchAnchored event was not found`, {
        root: batch.root,
        anchorBatchId: id.toString(),
      });
    }
    if (getAddress(log.relayer) !== account.address)
      logger.warn({ batch: batch.id, anchorBatchId: Number(id), by: log.relayer }, "root anchored by another relayer account");
    return {
      kind: "ours",
      info: {
        anchorBatchId: Number(id),
        txHash: log.txHash,
        blockNumber: Number(log.blockNumber),
        blockHash: log.blockHash,
        gasUsed: null,
      },
    };
  }

  async settleAnchored(batch: BatchRow, found: Anchored, how: string): Promise<void> {
    if (found.kind === "foreign") {
      this.#o.logger.error({ batch: batch.id, anchorBatchId: found.anchorBatchId, reason: found.reason }, "batch failed");
      await this.#o.store.markFailed(batch.id, found.reason);
      return;
    }
    this.#o.logger.info({ batch: batch.id, ...found.info, gasUsed: undefined, how }, "batch root found anchored");
    await this.#o.store.markMined(batch.id, found.info, this.#o.now());
  }

  async defer(batch: BatchRow, error: string): Promise<void> {
    const failures = (this.#failures.get(batch.id) ?? 0) + 1;
    this.#failures.set(batch.id, failures);
    const delay = Math.min(60_000, 500 * 2 ** Math.min(failures, 7));
    await this.#o.store.deferBatch(batch.id, error, this.#o.now() + delay);
  }

  async #nextNonce(): Promise<number> {
    const { publicClient, account, store } = this.#o;
    const chainNonce = await publicClient.getTransactionCount({ address: account.address, blockTag: "pending" });
    const pending = await store.maxPendingNonce();
    return pending === undefined ? chainNonce : Math.max(chainNonce, pending + 1);
  }

  async #signAndRecord(batch: BatchRow, kind: TxKind, tx: { nonce: number; gas: bigint }, fees: TxFees): Promise<TxRow> {
    const base = { chainId: this.#o.chainId, to: this.#o.anchor, data: this.#calldata(batch), value: 0n, nonce: tx.nonce, gas: tx.gas };
    const raw = await this.#o.account.signTransaction({ ...base, ...fees });
    // A legacy transaction's gas price is its max fee and its priority fee at once.
    const priced =
      fees.type === "legacy"
        ? { maxFeePerGas: fees.gasPrice, maxPriorityFeePerGas: fees.gasPrice }
        : { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas };
    // Persisted before it leaves the process.
    return this.#o.store.recordTx(batch.id, { kind, ...tx, ...priced, hash: keccak256(raw), raw }, this.#o.now(), this.#o.lease);
  }

  /** Broadcasts a persisted transaction. Node answers that settle themselves are not errors. */
  async broadcast(batch: BatchRow, tx: TxRow, kind: "initial" | "bump" | "resign" | "rebroadcast"): Promise<void> {
    const { publicClient, logger, metrics } = this.#o;
    try {
      await publicClient.sendRawTransaction({ serializedTransaction: tx.raw });
      metrics.anchorTxs.inc({ kind });
      logger.info(
        { batch: batch.id, tx: tx.hash, nonce: tx.nonce, maxFeePerGas: tx.maxFeePerGas.toString(), kind },
        "anchoring transaction sent",
      );
    } catch (error) {
      const text = errorText(error);
      if (KNOWN_TX.test(text)) return;
      if (NONCE_TOO_LOW.test(text)) {
        // Settled on the next pass: a receipt of ours, the root anchored, or the nonce went elsewhere.
        logger.warn({ batch: batch.id, tx: tx.hash, nonce: tx.nonce }, "nonce too low on broadcast");
        return;
      }
      if (UNDERPRICED.test(text)) {
        logger.warn({ batch: batch.id, tx: tx.hash, nonce: tx.nonce, kind }, "transaction underpriced; will bump again");
        return;
      }
      logger.warn({ batch: batch.id, tx: tx.hash, err: shortError(error) }, "broadcast failed; will re-broadcast");
    }
  }

  #calldata(batch: BatchRow): Hex {
    return encodeFunctionData({
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [batch.root, batch.leafCount, batch.manifestHash],
    });
  }
}
