/**
 * Epochs: cut the audit chain into block ranges, recheck each anchored batch of a range from its
 * manifest with the reward rules, fold the rewards into the cumulative ledger, and sign the epoch's
 * oracle message when the ledger changed. With a market, the epoch's sale splits join the same root
 * (settlement-token leaves and `tokenTotals`, docs/MARKET.md §5–6). One epoch is committed to the store
 * at once, or not at all.
 *
 * @module
 */
import type { Hex } from "viem";

import { oracleMessageToJson, signOracleMessage, type OracleMessage } from "../core/oracle-message.js";
import { buildRewardTree } from "../core/reward.js";
import { SalesNotReadyError, type EpochSales } from "../market/committee-sales.js";
import { epochLeaves } from "../market/root-entries.js";
import type { CommitteeContext } from "./context.js";
import { ManifestUnavailableError, ReorgDuringReadError } from "./errors.js";
import type { Follower } from "./follower.js";
import { createFolder, type Balance } from "./fold.js";
import { epochRange } from "./rules.js";
import { postedEpochOf, type BatchRecord, type EpochCommit } from "./store.js";

/** Most epochs one tick processes (the rest wait for the next tick). */
const EPOCHS_PER_TICK = 50;

/** The epochs of one committee member. */
export interface Epochs {
  /**
   * Processes every epoch whose last block has K confirmations at `head` (up to 50 per call).
   * Answers false when the tick should stop here: the chain changed while reading, a manifest is
   * missing, or the member halted.
   */
  processReady(head: bigint): Promise<boolean>;
}

/** Builds the epoch processor over the context and the follower. */
export function createEpochs(ctx: CommitteeContext, follower: Follower): Epochs {
  const { store, metrics, logger } = ctx;
  const folder = createFolder(ctx);

  /**
   * The epoch's row: signed (with our signature) when the reward ledger or the sale book changed, else
   * empty. The root holds the reward leaves and the settlement cumulatives (`sales.entries`).
   */
  async function signEpoch(
    epoch: number,
    range: { fromBlock: bigint; toBlock: bigint },
    rewards: Balance[],
    before: bigint,
    sales: EpochSales | undefined,
  ) {
    const { toBlock } = range;
    const leaves = epochLeaves(ctx.rewardToken, rewards, sales?.entries ?? []);
    const row: EpochCommit["epoch"] = {
      epoch,
      fromBlock: Number(range.fromBlock),
      toBlock: Number(toBlock),
      status: "empty",
      root: null,
      cumulativeTotal: leaves.rewardTotal,
      entries: leaves.entries.length,
      rulesVersion: ctx.rules.version,
      oracleSetVersion: null,
      digest: null,
      message: null,
    };
    // A sale split changes the root even in an epoch with no new readings.
    const changed = leaves.rewardTotal !== before || sales?.changed === true;
    if (leaves.entries.length === 0 || !changed) return { row, ownSignature: undefined };
    const tree = buildRewardTree(leaves.entries);
    const set = await ctx.loadOracleSet();
    // The distributor takes only contiguous epochs and block ranges: number the roots, and chain each
    // message's range to the previous root's (empty ranges join the next posted one).
    const previous = await store.latestEpoch();
    const postedEpoch = previous === undefined ? 1n : postedEpochOf(previous) + 1n;
    const messageFrom = previous === undefined ? ctx.cut.startBlock : BigInt(previous.toBlock) + 1n;
    const message: OracleMessage = {
      sourceChainId: BigInt(ctx.options.audit.chainId),
      destinationChainId: BigInt(ctx.options.reward.chainId),
      distributor: ctx.distributor,
      epoch: postedEpoch,
      root: tree.root,
      cumulativeTotal: leaves.rewardTotal,
      fromBlock: messageFrom,
      toBlock,
      rulesVersion: ctx.rules.version,
      oracleSetVersion: set.version,
      // Every settlement token with a non-zero total, ascending (docs/MARKET.md §6): oracles agree on the list.
      tokenTotals: leaves.tokenTotals,
    };
    const ownSignature = signOracleMessage(ctx.options.privateKey, ctx.messageDigester, message);
    ctx.treeCache.set(epoch, tree);
    Object.assign(row, {
      status: "signed",
      root: tree.root,
      oracleSetVersion: set.version,
      digest: ctx.messageDigester.digestHex(message).toLowerCase() as Hex,
      message: JSON.stringify(oracleMessageToJson(message)),
    });
    return { row, ownSignature };
  }

  function countBatches(records: BatchRecord[]): void {
    for (const r of records) {
      metrics.batches.inc({ status: r.evaluation.status, ...(r.evaluation.reason ? { reason: r.evaluation.reason } : {}) });
      if (r.evaluation.rewards.length > 0) metrics.readings.inc({ result: "rewarded" }, r.evaluation.rewards.length);
      for (const j of r.evaluation.rejected) metrics.readings.inc({ result: "rejected", reason: j.reason });
      if (r.evaluation.status === "rejected")
        metrics.readings.inc({ result: "rejected", reason: r.evaluation.reason ?? "INVALID_BATCH" }, r.leafCount);
      if (r.evaluation.status === "rejected" || r.evaluation.rejected.length > 0)
        logger.warn(
          {
            batchId: r.batchId.toString(),
            reason: r.evaluation.reason,
            rejected: r.evaluation.rejected.map((j) => ({ device: j.device, seq: j.seq.toString(), reason: j.reason })),
          },
          "readings not rewarded",
        );
    }
  }

  async function processEpoch(epoch: number, head: bigint): Promise<void> {
    const { fromBlock, toBlock } = epochRange(BigInt(epoch), ctx.cut);
    const read = await follower.readRange(epoch, fromBlock, toBlock);
    if (read === undefined) return; // halted
    const balances = await store.balances();
    const before = [...balances.values()].reduce((sum, b) => sum + b.cumulative, 0n);
    // Only the changed balance rows are written: an epoch rewards a fraction of a large fleet's beneficiaries.
    const { records, direct, changed } = await folder.fold(read, toBlock, head, balances);
    // Sales due by the epoch's end, split over readings verified in earlier epochs (oracle/market/committee-sales.ts).
    const sales = await ctx.sales?.prepare(epoch, (await ctx.options.audit.client.getBlock({ blockNumber: toBlock })).timestamp);
    // The chain must still be the one read.
    await follower.confirmUnchanged(toBlock, read.toHash);
    const entries = [...balances.values()].filter((b) => b.cumulative > 0n);
    const { row, ownSignature } = await signEpoch(epoch, { fromBlock, toBlock }, entries, before, sales);
    await store.commitEpoch({
      epoch: row,
      batches: records,
      direct,
      balances,
      changed,
      blocks: [...read.blocks].map(([number, hash]) => ({ number, hash })),
      ...(ownSignature === undefined ? {} : { ownSignature }),
      ...(sales === undefined ? {} : { extra: (tx) => ctx.sales!.store.commit(tx, sales.commit) }),
    });
    countBatches(records);
    metrics.epochs.inc({ status: row.status });
    metrics.processedBlock.set(Number(toBlock));
    logger.info(
      {
        epoch,
        fromBlock: fromBlock.toString(),
        toBlock: toBlock.toString(),
        batches: records.length,
        status: row.status,
        root: row.root,
        total: row.cumulativeTotal.toString(),
      },
      "epoch processed",
    );
  }

  return {
    async processReady(head) {
      for (let n = 0; n < EPOCHS_PER_TICK; n++) {
        const next = (await store.lastProcessedEpoch()) + 1;
        const { toBlock } = epochRange(BigInt(next), ctx.cut);
        if (toBlock + ctx.confirmations > head) return true;
        try {
          await processEpoch(next, head);
        } catch (error) {
          if (error instanceof ReorgDuringReadError) {
            metrics.reorgs.inc({ depth: "shallow" });
            logger.warn({ epoch: next, err: error.message }, "chain changed while reading an epoch; re-reading");
            return false;
          }
          if (error instanceof SalesNotReadyError) {
            logger.info({ epoch: next, details: error.details }, "waiting for the reward chain (market sales)");
            return false;
          }
          if (error instanceof ManifestUnavailableError) {
            logger.warn({ epoch: next, err: error.message }, "waiting for a manifest");
            return false;
          }
          throw error;
        }
        if (ctx.state.halted) return false;
      }
      return true;
    },
  };
}
