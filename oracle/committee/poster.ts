/**
 * Posting roots: follow `RootPosted` for our unposted epochs, and once we hold the threshold of
 * signatures for the distributor's next epoch (`lastEpoch + 1`, contiguous), wait our turn (rank ×
 * postDelayMs, so one oracle posts) and for any root's challenge period to end, and send `postRoot`.
 * A vetoed root (the distributor fell back below it) is posted again. Another oracle's post racing ours reverts with a known error: not a failure.
 *
 * @module
 */
import { getAddress, type Address, type Hex } from "viem";

import { rewardDistributorAbi } from "../chain/abis.js";
import { currentFees } from "../chain/fee-model.js";
import { revertName } from "../chain/rpc.js";
import { oracleMessageFromJson, sortOracleSignatures } from "../core/oracle-message.js";
import type { CommitteeContext } from "./context.js";
import { PostRevertedError } from "./errors.js";
import { postedEpochOf, type EpochRow } from "./store.js";

/** Reverts that mean another oracle posted this epoch first, or that a root is still in its challenge period. */
const POSTED_BY_ANOTHER = new Set(["RewardDistributorStaleEpoch", "RewardDistributorRootPending", "RootAlreadyPosted"]);

/** The poster of one committee member. */
export interface Poster {
  /**
   * Records the outcome of our signed epochs up to the distributor's `lastEpoch`, sets vetoed ones
   * (above `lastEpoch` again) back to signed, and answers `lastEpoch`.
   */
  syncPosted(): Promise<bigint>;
  /**
   * Posts our signed epoch `lastEpoch + 1` once it holds the threshold, it is our turn, and no root is
   * in its challenge period (the distributor takes only contiguous epochs, one pending root at a time).
   */
  tryPost(lastEpoch: bigint): Promise<void>;
}

/** Builds the poster over the context. */
export function createPoster(ctx: CommitteeContext): Poster {
  const { store, metrics, logger, rewardClient, distributor } = ctx;
  /** When we first held the threshold for an epoch (ms). */
  const thresholdSince = new Map<number, number>();

  async function recordOutcome(row: EpochRow): Promise<void> {
    const events = await rewardClient.getContractEvents({
      address: distributor,
      abi: rewardDistributorAbi,
      eventName: "RootPosted",
      args: { epoch: postedEpochOf(row) },
      fromBlock: BigInt(ctx.options.reward.deployBlock),
      strict: true,
    });
    // After a veto the epoch is posted again: the last post is the one that stands.
    const event = events.at(-1);
    if (event === undefined) {
      await store.setEpochOutcome(row.epoch, "superseded", null, null);
      return;
    }
    const ours = event.args.root.toLowerCase() === row.root?.toLowerCase();
    const byUs =
      ours && (await rewardClient.getTransaction({ hash: event.transactionHash })).from.toLowerCase() === ctx.address.toLowerCase();
    await store.setEpochOutcome(row.epoch, ours ? "posted" : "posted_other", event.args.root, event.transactionHash, byUs);
    if (ours) await store.pruneSnapshots(row.epoch);
    else
      logger.error(
        { epoch: row.epoch, ours: row.root, posted: event.args.root },
        "the committee posted another root than ours for this epoch",
      );
  }

  async function syncPosted(): Promise<bigint> {
    const lastEpoch = await rewardClient.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "lastEpoch" });
    for (const row of await store.epochsWithStatus("posted", "posted_other")) {
      if (postedEpochOf(row) <= lastEpoch) continue;
      // A guardian vetoed this root: the distributor fell back below it, so our root goes up again.
      logger.warn({ epoch: row.epoch, postedEpoch: postedEpochOf(row).toString() }, "posted root was vetoed; re-posting ours");
      await store.setEpochOutcome(row.epoch, "signed", null, null);
    }
    for (const row of await store.epochsWithStatus("signed")) if (postedEpochOf(row) <= lastEpoch) await recordOutcome(row);
    return lastEpoch;
  }

  /** True while a posted root waits out its challenge period (a new post would revert RootPending). */
  async function rootPending(): Promise<boolean> {
    const pending = await rewardClient.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "pendingRoot" });
    if (pending.epoch === 0n) return false;
    const { timestamp } = await rewardClient.getBlock({ blockTag: "latest" });
    return BigInt(pending.validAt) > timestamp;
  }
  async function post(row: EpochRow, signatures: { signer: Address; signature: Hex }[]): Promise<void> {
    const message = oracleMessageFromJson(JSON.parse(row.message!));
    try {
      const { request } = await rewardClient.simulateContract({
        account: ctx.account,
        address: distributor,
        abi: rewardDistributorAbi,
        functionName: "postRoot",
        args: [message, sortOracleSignatures(signatures)],
      });
      // The full ABI, not the simulation's one-function request ABI: a revert at gas estimation (e.g.
      // another oracle's postRoot for this epoch waiting in the mempool) must decode to its error name.
      // Typed and priced by the chain's fee model: zero fees when gas is free, legacy where type 2 is refused.
      const fees = await currentFees(rewardClient, ctx.feeModel);
      const hash = await ctx.wallet.writeContract({ ...request, abi: rewardDistributorAbi, ...fees } as Parameters<
        typeof ctx.wallet.writeContract
      >[0]);
      const receipt = await rewardClient.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new PostRevertedError(hash, row.epoch);
      await store.setEpochOutcome(row.epoch, "posted", row.root, hash, true);
      await store.pruneSnapshots(row.epoch);
      metrics.rootsPosted.inc();
      logger.info({ epoch: row.epoch, root: row.root, txHash: hash, signatures: signatures.length }, "root posted");
    } catch (error) {
      const name = revertName(error);
      if (name !== undefined && POSTED_BY_ANOTHER.has(name)) {
        logger.info({ epoch: row.epoch }, "another oracle posted first");
      } else {
        metrics.postFailures.inc({ error: name ?? "ERROR" });
        logger.warn({ epoch: row.epoch, err: error, revert: name }, "postRoot failed; will retry");
      }
    }
  }

  async function tryPost(lastEpoch: bigint): Promise<void> {
    const row = (await store.epochsWithStatus("signed")).find((r) => postedEpochOf(r) === lastEpoch + 1n);
    if (row === undefined || row.digest === null || row.message === null) return;
    const set = ctx.state.oracleSet ?? (await ctx.loadOracleSet());
    const signatures = (await store.signatures(Number(postedEpochOf(row)), row.digest)).filter((s) =>
      set.oracles.includes(getAddress(s.signer)),
    );
    if (signatures.length < set.threshold || row.oracleSetVersion !== set.version) return;
    const since = thresholdSince.get(row.epoch) ?? Date.now();
    thresholdSince.set(row.epoch, since);
    const rank = Math.max(0, set.oracles.indexOf(ctx.address));
    if (Date.now() - since < rank * (ctx.options.postDelayMs ?? 2000)) return;
    if (await rootPending()) return;
    await post(row, signatures);
  }

  return { syncPosted, tryPost };
}
