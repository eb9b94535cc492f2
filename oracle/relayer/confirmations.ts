/**
 * Following sent and mined batches: a receipt moves a sent batch to mined (or, reverted, back to
 * queued unless its root is anchored); a nonce taken by another transaction re-queues it; a stuck
 * transaction gets a fee bump and a forgotten one is re-broadcast; a mined batch is confirmed after K
 * blocks, or moved back to sent when its block leaves the canonical chain.
 *
 * @module
 */
import { BaseError, getAddress, parseEventLogs, type Hex, type TransactionReceipt } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import { AnchorEventMissingError } from "./anchor-errors.js";
import type { AnchorContext } from "./anchor-options.js";
import type { AnchorSender } from "./anchor-sender.js";
import type { BatchRow, MinedInfo, TxRow } from "./store.js";

/** Drives batches from sent to mined to confirmed (one per worker). */
export class ConfirmationTracker {
  readonly #o: AnchorContext;
  readonly #sender: AnchorSender;

  constructor(context: AnchorContext, sender: AnchorSender) {
    this.#o = context;
    this.#sender = sender;
  }

  async checkSent(batch: BatchRow): Promise<void> {
    const { publicClient, account, store, logger, stuckTimeoutMs } = this.#o;
    const pending = (await store.txs(batch.id)).filter((t) => t.status === "pending").reverse(); // newest first
    if (pending.length === 0) {
      await store.requeueBatch(batch.id, "dropped", "no pending transaction", this.#o.now());
      return;
    }
    // The nonce first: a transaction mined after this read still shows its receipt below.
    const latestNonce = await publicClient.getTransactionCount({ address: account.address, blockTag: "latest" });
    for (const tx of pending) {
      const receipt = await this.receipt(tx.hash);
      if (receipt !== undefined) return this.onReceipt(batch, tx, receipt);
    }
    const newest = pending[0];
    if (latestNonce > newest.nonce) {
      const found = await this.#sender.findAnchored(batch);
      if (found !== undefined) return this.#sender.settleAnchored(batch, found, "nonce used");
      logger.warn({ batch: batch.id, nonce: newest.nonce }, "nonce taken by another transaction; signing the batch again");
      await store.requeueBatch(batch.id, "dropped", `nonce ${newest.nonce} used by another transaction`, this.#o.now());
      return;
    }
    if (this.#o.now() - newest.sentAt >= stuckTimeoutMs) return this.#sender.bump(batch, newest);
    const known = await publicClient.getTransaction({ hash: newest.hash }).catch(() => undefined);
    if (known === undefined) await this.#sender.broadcast(batch, newest, "rebroadcast");
  }

  async checkMined(batch: BatchRow, head: number): Promise<void> {
    const { publicClient, store, logger, metrics, confirmations } = this.#o;
    const txHash = batch.txHash as Hex;
    const receipt = await this.receipt(txHash);
    let canonical = receipt !== undefined && receipt.blockHash === batch.blockHash;
    if (canonical) {
      const block = await publicClient.getBlock({ blockNumber: BigInt(batch.blockNumber as number) }).catch(() => undefined);
      canonical = block?.hash === batch.blockHash;
    }
    if (!canonical) {
      // The receipt still names the recorded block while the block read after it does not (or could
      // not be read): the reorg landed between the two reads, or the node answers from a stale view.
      // Counting it now and re-recording that stale receipt would count the same reorg again next
      // tick; look again next tick instead (as #recheckOne does).
      if (receipt !== undefined && receipt.blockHash === batch.blockHash) return;
      metrics.reorgs.inc();
      if (receipt !== undefined && receipt.status === "success") {
        // Re-mined in another block of the new canonical chain: record where.
        logger.warn(
          { batch: batch.id, tx: txHash, from: batch.blockHash, to: receipt.blockHash },
          "reorg: batch re-mined in another block",
        );
        await store.markReorged(batch.id, this.#o.now());
        const tx = (await store.txs(batch.id)).find((t) => t.hash === txHash);
        if (tx !== undefined) await this.onReceipt({ ...batch, reorgs: batch.reorgs + 1 }, tx, receipt);
        return;
      }
      logger.warn(
        { batch: batch.id, tx: txHash, block: batch.blockNumber, blockHash: batch.blockHash },
        "reorg: anchoring left the canonical chain; re-anchoring",
      );
      await store.markReorged(batch.id, this.#o.now());
      return;
    }
    if (head - (batch.blockNumber as number) + 1 >= confirmations) {
      await store.markConfirmed(batch.id, this.#o.now());
      logger.info({ batch: batch.id, anchorBatchId: batch.anchorBatchId, block: batch.blockNumber }, "batch confirmed");
    }
  }

  async onReceipt(batch: BatchRow, tx: TxRow, receipt: TransactionReceipt): Promise<void> {
    const { store, metrics, logger, anchor } = this.#o;
    metrics.gasUsed.inc({}, Number(receipt.gasUsed));
    if (receipt.status === "success") {
      const event = parseEventLogs({ abi: readingAnchorAbi, logs: receipt.logs, eventName: "BatchAnchored" }).find(
        (l) => getAddress(l.address) === getAddress(anchor) && l.args.root.toLowerCase() === batch.root,
      );
      if (event === undefined)
        throw new AnchorEventMissingError(`transaction ${tx.hash} succeeded without a BatchAnchored event for ${batch.root}`, {
          root: batch.root,
          txHash: tx.hash,
        });
      const info: MinedInfo = {
        anchorBatchId: Number(event.args.batchId),
        txHash: tx.hash,
        blockNumber: Number(receipt.blockNumber),
        blockHash: receipt.blockHash,
        gasUsed: receipt.gasUsed,
      };
      await store.markMined(batch.id, info, this.#o.now());
      if (batch.reorgs === 0) metrics.anchorLatency.observe((this.#o.now() - batch.createdAt) / 1000);
      const overdue = await store.overdueReadings(batch.id, Math.floor(this.#o.now() / 1000));
      if (overdue > 0) {
        metrics.deadlinesMissed.inc({}, overdue);
        logger.error({ batch: batch.id, overdue }, "readings anchored after their receipt deadline");
      }
      logger.info(
        { batch: batch.id, anchorBatchId: info.anchorBatchId, tx: tx.hash, block: info.blockNumber, gasUsed: Number(receipt.gasUsed) },
        "batch anchored",
      );
      return;
    }
    await store.setTxStatus(tx.id, "reverted");
    const found = await this.#sender.findAnchored(batch);
    if (found !== undefined) return this.#sender.settleAnchored(batch, found, "after a reverted transaction");
    logger.error({ batch: batch.id, tx: tx.hash }, "anchoring transaction reverted; signing again later");
    await store.requeueBatch(batch.id, "dropped", `transaction ${tx.hash} reverted`, this.#o.now() + 1000);
  }

  async receipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.#o.publicClient.getTransactionReceipt({ hash });
    } catch (error) {
      if (error instanceof BaseError && error.name === "TransactionReceiptNotFoundError") return undefined;
      throw error;
    }
  }
}
