/**
 * Following the audit chain K blocks behind its head: remembers the unconfirmed tip (a changed hash
 * there is a shallow reorg, harmless), rechecks the blocks already folded into the ledger (a change
 * there is a deep reorg: the member halts), and reads an epoch's anchored batches consistently (a
 * change while reading is {@link ReorgDuringReadError}: read again next tick).
 *
 * @module
 */
import type { Hex } from "viem";

import { readAnchorLogs, type AnchoredBatchLog, type DirectSubmission } from "../chain/anchor-log.js";
import type { CommitteeContext } from "./context.js";
import { ReorgDuringReadError } from "./errors.js";
import type { HaltReport } from "./store.js";

/** An epoch's anchored batches as read, with the hashes of the blocks they came from. */
export interface EpochRead {
  logs: AnchoredBatchLog[];
  /** Readings submitted directly (`ReadingSubmitted`), in chain order. */
  submissions: DirectSubmission[];
  /** Block number → hash of every block read (the epoch's last block and each log's). */
  blocks: Map<bigint, Hex>;
  toHash: Hex;
}

/** The follower of one committee member. */
export interface Follower {
  /** Watches the head; false when a deep reorg halted the member. */
  follow(head: bigint): Promise<boolean>;
  /** Reads `fromBlock..toBlock`; undefined when the block before the range changed (the member halted). */
  readRange(epoch: number, fromBlock: bigint, toBlock: bigint): Promise<EpochRead | undefined>;
  /** Throws {@link ReorgDuringReadError} when `toBlock` is no longer `toHash`. */
  confirmUnchanged(toBlock: bigint, toHash: Hex): Promise<void>;
}

/** Builds the follower over the context's audit client and store. */
export function createFollower(ctx: CommitteeContext): Follower {
  const { store, metrics, logger } = ctx;
  const client = ctx.options.audit.client;
  /** Unconfirmed blocks seen at the head: number → hash (shallow-reorg detection). */
  const tipSeen = new Map<bigint, Hex>();
  const hashOf = async (blockNumber: bigint) => (await client.getBlock({ blockNumber })).hash;

  async function haltOn(block: number, storedHash: Hex, chainHash: Hex | null): Promise<void> {
    const report: HaltReport = {
      reason: "DEEP_REORG",
      message:
        `audit-chain block ${block} was ${storedHash} when it was folded into the ledger (≥ ${ctx.options.confirmations} confirmations) ` +
        `and is now ${chainHash ?? "missing"}: a reorganisation deeper than the confirmation depth. The oracle stopped; ` +
        `an operator must check the chain and rebuild this oracle's store.`,
      block,
      storedHash,
      chainHash,
      confirmations: ctx.options.confirmations,
      detectedAt: new Date().toISOString(),
    };
    ctx.state.halted = report;
    await store.setHalt(report);
    metrics.halted.set(1);
    metrics.reorgs.inc({ depth: "deep" });
    logger.fatal(report, "deep reorg: halted");
  }

  /** Compares the stored hashes of processed blocks with the chain, newest first; halts on a change. */
  async function checkProcessed(): Promise<boolean> {
    const recent = await store.recentBlocks(64);
    if (recent.length === 0) return true;
    const newest = recent[0];
    const block = await client.getBlock({ blockNumber: BigInt(newest.number) }).catch(() => null);
    if (block !== null && block.hash === newest.hash) return true;
    // Find the oldest stored block that changed, for the report.
    let changed = { number: newest.number, stored: newest.hash, now: block?.hash ?? null };
    for (const b of recent.slice(1)) {
      const now = await client.getBlock({ blockNumber: BigInt(b.number) }).catch(() => null);
      if (now !== null && now.hash === b.hash) break;
      changed = { number: b.number, stored: b.hash, now: now?.hash ?? null };
    }
    await haltOn(changed.number, changed.stored, changed.now);
    return false;
  }

  /** Remembers the unconfirmed head; a seen block whose hash changed is a shallow reorg (nothing was built on it). */
  async function watchTip(head: bigint): Promise<void> {
    for (const [number, hash] of tipSeen) {
      if (number > head) {
        // The chain got shorter: a reorg.
        tipSeen.delete(number);
        metrics.reorgs.inc({ depth: "shallow" });
        logger.warn({ block: number.toString() }, "shallow reorg: a seen block is gone; re-reading (nothing was built on it)");
        continue;
      }
      const now = await hashOf(number);
      if (now !== hash) {
        metrics.reorgs.inc({ depth: "shallow" });
        logger.warn({ block: number.toString(), was: hash, now }, "shallow reorg: re-reading (nothing was built on it)");
        tipSeen.delete(number);
      } else if (number <= head - ctx.confirmations) tipSeen.delete(number);
    }
    if (ctx.confirmations > 0n && !tipSeen.has(head)) {
      const hash = await hashOf(head);
      if (hash !== null) tipSeen.set(head, hash);
    }
  }

  async function readRange(epoch: number, fromBlock: bigint, toBlock: bigint): Promise<EpochRead | undefined> {
    const toHeader = await client.getBlock({ blockNumber: toBlock });
    // The registry must be read at least up to the epoch's last block.
    await ctx.options.registry.sync();
    if (ctx.options.registry.syncedTimestamp < Number(toHeader.timestamp))
      throw new ReorgDuringReadError("registry index behind the epoch");
    const { batches: logs, submissions } = await readAnchorLogs({ client, anchor: ctx.anchor, fromBlock, toBlock });
    // Every log must come from the blocks the chain has now (else a reorg raced the read).
    const blocks = new Map<bigint, Hex>([[toBlock, toHeader.hash]]);
    for (const log of [...logs, ...submissions]) {
      if (!blocks.has(log.blockNumber)) blocks.set(log.blockNumber, await hashOf(log.blockNumber));
      if (blocks.get(log.blockNumber) !== log.blockHash) throw new ReorgDuringReadError(`block ${log.blockNumber} changed while reading`);
    }
    if (epoch > 1) {
      const previous = await store.blockHash(fromBlock - 1n);
      if (previous !== undefined) {
        const prevNow = await hashOf(fromBlock - 1n);
        if (prevNow !== previous) {
          await haltOn(Number(fromBlock - 1n), previous, prevNow);
          return undefined;
        }
      }
    }
    return { logs, submissions, blocks, toHash: toHeader.hash };
  }

  return {
    async follow(head) {
      if (!(await checkProcessed())) return false;
      await watchTip(head);
      // Only once the head's hash is remembered: /v1/status `head` = the newest block watched for reorgs.
      ctx.state.lastHead = head;
      metrics.headBlock.set(Number(head));
      return true;
    },
    readRange,
    async confirmUnchanged(toBlock, toHash) {
      if ((await hashOf(toBlock)) !== toHash) throw new ReorgDuringReadError(`block ${toBlock} changed while reading`);
    },
  };
}
