/**
 * Posting roots: follow `RootPosted` for our unposted epochs, and once we hold the threshold of
 * signatures for the newest signed epoch, wait our turn (rank × postDelayMs, so one oracle posts)
 * and send `postRoot`. Another oracle's post racing ours reverts with a known error: not a failure.
 *
 * @module
 */
import { getAddress, type Address, type Hex } from "viem";

import { rewardDistributorAbi } from "../chain/abis.js";
import { revertName } from "../chain/rpc.js";
import { oracleMessageFromJson, sortOracleSignatures } from "../core/oracle-message.js";
import type { CommitteeContext } from "./context.js";
import { PostRevertedError } from "./errors.js";
import type { EpochRow } from "./store.js";

/** Reverts that mean another oracle posted this epoch (or a later one) first. */
const POSTED_BY_ANOTHER = new Set(["RewardDistributorStaleEpoch", "RootAlreadyPosted"]);

/** The poster of one committee member. */
export interface Poster {
  /** Records the outcome of our signed epochs up to the distributor's `lastEpoch`, and answers it. */
  syncPosted(): Promise<bigint>;
  /** Posts the newest signed epoch after `lastEpoch` that holds the threshold, when it is our turn. */
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
      args: { epoch: BigInt(row.epoch) },
      fromBlock: BigInt(ctx.options.reward.deployBlock),
      strict: true,
    });
    const event = events[0];
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
    for (const row of await store.epochsWithStatus("signed")) if (BigInt(row.epoch) <= lastEpoch) await recordOutcome(row);
    return lastEpoch;
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
      const hash = await ctx.wallet.writeContract({ ...request, abi: rewardDistributorAbi });
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
    const signed = await store.epochsWithStatus("signed");
    const set = ctx.state.oracleSet ?? (await ctx.loadOracleSet());
    for (const row of signed.reverse()) {
      if (BigInt(row.epoch) <= lastEpoch || row.digest === null || row.message === null) continue;
      const signatures = (await store.signatures(row.epoch, row.digest)).filter((s) => set.oracles.includes(getAddress(s.signer)));
      if (signatures.length < set.threshold || row.oracleSetVersion !== set.version) continue;
      const since = thresholdSince.get(row.epoch) ?? Date.now();
      thresholdSince.set(row.epoch, since);
      const rank = Math.max(0, set.oracles.indexOf(ctx.address));
      if (Date.now() - since < rank * (ctx.options.postDelayMs ?? 2000)) return;
      await post(row, signatures);
      return; // only the newest ready epoch matters
    }
  }

  return { syncPosted, tryPost };
}
