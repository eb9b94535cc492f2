/**
 * Reorgs deeper than the confirmation depth: a confirmed batch is not final while its block is within
 * `recheckBlocks` of the head. The newest one is rechecked every tick, all of them at start, every
 * {@link RECHECK_SWEEP_TICKS} ticks and as soon as one is found orphaned; an orphaned one moves back
 * (sent with its transaction pending again, or re-mined where the receipt now is).
 *
 * @module
 */
import { BaseError, type Hex } from "viem";

import type { AnchorContext } from "./anchor-options.js";
import type { ConfirmationTracker } from "./confirmations.js";
import type { BatchRow } from "./store.js";

/** Every this many ticks, every recently confirmed batch is rechecked (the newest one is, every tick). */
export const RECHECK_SWEEP_TICKS = 20;

/** Rechecks recently confirmed batches for deep reorgs (one per worker). */
export class ReorgRechecker {
  readonly #o: AnchorContext;
  readonly #tracker: ConfirmationTracker;
  readonly #stopping: () => boolean;
  /** Ticks until the next full recheck of recently confirmed batches (0: this tick, so at start). */
  #sweepIn = 0;

  /** `stopping` answers whether the worker is stopping (a sweep then ends early). */
  constructor(context: AnchorContext, tracker: ConfirmationTracker, stopping: () => boolean) {
    this.#o = context;
    this.#tracker = tracker;
    this.#stopping = stopping;
  }

  /**
   * Reorgs deeper than the confirmation depth: confirmed batches whose block is within
   * `recheckBlocks` of the head are checked like mined ones. A reorg replaces a suffix of the chain,
   * so the newest confirmed batch is checked every tick (one getBlock while nothing changed); all of
   * them at start, every RECHECK_SWEEP_TICKS ticks, and at once when one is found orphaned.
   */
  async recheckConfirmed(headNow: () => Promise<number>): Promise<void> {
    const { store, recheckBlocks } = this.#o;
    if (recheckBlocks <= 0) return;
    const [newest] = await store.recentConfirmed(0, 1);
    if (newest === undefined) return;
    const head = await headNow();
    const minBlock = Math.max(0, head - recheckBlocks);
    if ((newest.blockNumber as number) < minBlock) return;
    const hashes = new Map<number, Hex | undefined>();
    const sweep = this.#sweepIn <= 0;
    this.#sweepIn = sweep ? RECHECK_SWEEP_TICKS : this.#sweepIn - 1;
    const orphaned = await this.#recheckOne(newest, hashes);
    if (!sweep && !orphaned) return;
    for (const batch of await store.recentConfirmed(minBlock)) {
      if (this.#stopping()) return;
      if (batch.id !== newest.id) await this.#recheckOne(batch, hashes);
    }
  }

  /** Answers whether the confirmed batch had left the canonical chain (it is moved back if so). */
  async #recheckOne(batch: BatchRow, hashes: Map<number, Hex | undefined>): Promise<boolean> {
    const { publicClient, store, logger, metrics } = this.#o;
    const blockNumber = batch.blockNumber as number;
    if (!hashes.has(blockNumber)) {
      const block = await publicClient.getBlock({ blockNumber: BigInt(blockNumber) }).catch((error: unknown) => {
        if (error instanceof BaseError && error.name === "BlockNotFoundError") return undefined;
        throw error;
      });
      hashes.set(blockNumber, block?.hash ?? undefined);
    }
    const canonicalHash = hashes.get(blockNumber);
    if (canonicalHash === batch.blockHash) return false;
    // The block at that height changed (or the chain is shorter now): where is the transaction?
    const txHash = batch.txHash as Hex;
    const receipt = await this.#tracker.receipt(txHash);
    if (receipt !== undefined && receipt.blockHash === batch.blockHash) return false; // a node answering from a stale view
    metrics.reorgs.inc();
    metrics.deepReorgs.inc();
    const fields = {
      batch: batch.id,
      anchorBatchId: batch.anchorBatchId,
      tx: txHash,
      block: blockNumber,
      blockHash: batch.blockHash,
      canonicalBlockHash: canonicalHash ?? null,
    };
    if (receipt !== undefined && receipt.status === "success") {
      logger.warn(
        { ...fields, minedIn: receipt.blockHash },
        "reorg deeper than the confirmation depth: confirmed batch re-mined in another block",
      );
      await store.markReorged(batch.id, this.#o.now());
      const tx = (await store.txs(batch.id)).find((t) => t.hash === txHash);
      if (tx !== undefined) await this.#tracker.onReceipt({ ...batch, reorgs: batch.reorgs + 1 }, tx, receipt);
      return true;
    }
    logger.warn(fields, "reorg deeper than the confirmation depth: confirmed anchoring left the canonical chain; re-anchoring");
    await store.markReorged(batch.id, this.#o.now());
    return true;
  }
}
