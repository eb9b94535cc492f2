/**
 * Folding one epoch's anchored readings into the ledger with the reward rules: batches (manifest from
 * the anchoring relayer's registered URL or a peer's copy, by the data-availability rule of ./manifests.ts) and direct
 * submissions (`ReadingSubmitted`, signature from the transaction's calldata), merged in chain order
 * (block, log index), judged with the registry as of the epoch's last block.
 *
 * @module
 */
import { decodeFunctionData, getAddress, type Address, type Hex } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import type { AnchoredBatchLog, DirectSubmission } from "../chain/anchor-log.js";
import type { BatchItem } from "../core/manifest.js";
import type { CommitteeContext } from "./context.js";
import { ManifestUnavailableError } from "./errors.js";
import { createManifestSourcing, fetchManifestFromPeers, fetchManifestOnce } from "./manifests.js";
import {
  checkManifest,
  evaluateBatch,
  evaluateReadings,
  excludedBatch,
  type BatchEvaluation,
  type CheckedManifest,
  type JudgeContext,
} from "./rules.js";
import type { BatchRecord, DirectRecord } from "./store.js";

/** A beneficiary's cumulative reward. */
export type Balance = { beneficiary: Address; cumulative: bigint; readings: number };

/** What an epoch's readings earned. */
export interface FoldResult {
  records: BatchRecord[];
  direct: DirectRecord[];
  /** The keys of the balances the epoch's rewards changed (only their rows are written). */
  changed: Set<string>;
}

/** Builds the folder of one committee member. */
export function createFolder(ctx: CommitteeContext) {
  const client = ctx.options.audit.client;
  const sourcing = createManifestSourcing(client, ctx.anchor);
  const delays = new Map<bigint, bigint>();
  const timestamps = new Map<bigint, bigint>();

  async function maxAnchorDelayAt(anchoredAt: bigint, judgeBlock: bigint): Promise<bigint> {
    let d = delays.get(anchoredAt);
    if (d === undefined) {
      d = BigInt(
        await client.readContract({
          address: ctx.anchor,
          abi: readingAnchorAbi,
          functionName: "maxAnchorDelayAt",
          args: [anchoredAt],
          blockNumber: judgeBlock,
        }),
      );
      delays.set(anchoredAt, d);
    }
    return d;
  }

  async function timestampOf(blockNumber: bigint): Promise<bigint> {
    let t = timestamps.get(blockNumber);
    if (t === undefined) {
      t = (await client.getBlock({ blockNumber })).timestamp;
      timestamps.set(blockNumber, t);
    }
    return t;
  }

  /**
   * A batch's manifest bytes, or undefined once it is EXCLUDED; throws while it may still come. Sources:
   * our own copy, the relayer's registered URL, then the peers' copies (all checked against the anchored hash).
   */
  async function manifestOf(batch: AnchoredBatchLog, head: bigint): Promise<Uint8Array | undefined> {
    const copy = await ctx.manifestCopies.get(batch.manifestHash);
    if (copy !== undefined) return copy;
    const source = await sourcing.sourceOf(batch.relayer, batch.blockNumber);
    const fetcher = (url: string) => ctx.fetch(url);
    let attempt = await fetchManifestOnce(batch, source, fetcher);
    let why = "";
    if (!attempt.ok) {
      why = `relayer: ${attempt.why}`;
      attempt = await fetchManifestFromPeers(batch, ctx.options.peers, fetcher);
      if (attempt.ok) ctx.logger.info({ batchId: batch.batchId.toString(), source, why }, "manifest copied from a peer");
      else why += `; peers: ${attempt.why}`;
    }
    if (attempt.ok) {
      await ctx.manifestCopies.put(batch.manifestHash, batch.blockNumber, attempt.bytes);
      return attempt.bytes;
    }
    const window = await sourcing.availabilityBlocks(batch.blockNumber);
    if (head < batch.blockNumber + window) {
      ctx.metrics.manifestFailures.inc();
      throw new ManifestUnavailableError(`the manifest of batch ${batch.batchId} is not available yet (${why})`, {
        batchId: batch.batchId.toString(),
        source,
        excludedAtBlock: (batch.blockNumber + window).toString(),
      });
    }
    ctx.logger.warn({ batchId: batch.batchId.toString(), source, why }, "batch EXCLUDED: manifest not available within D blocks");
    return undefined;
  }

  /** The direct submission's reading and signature, from its transaction's calldata. */
  async function directItem(s: DirectSubmission): Promise<BatchItem | undefined> {
    const tx = await client.getTransaction({ hash: s.txHash });
    try {
      const call = decodeFunctionData({ abi: readingAnchorAbi, data: tx.input });
      if (call.functionName !== "submitReading") return undefined;
      const [reading, signature] = call.args as readonly [{ device: Address; seq: bigint; timestamp: bigint; dataHash: Hex }, Hex];
      return {
        reading: {
          device: getAddress(reading.device),
          seq: BigInt(reading.seq),
          timestamp: BigInt(reading.timestamp),
          dataHash: reading.dataHash,
        },
        signature,
      };
    } catch {
      // Submitted through another contract: the calldata is not ours to decode.
      return undefined;
    }
  }

  /** Rechecks the epoch's batches and submissions in chain order and folds their rewards into `balances`. */
  async function fold(
    read: { logs: AnchoredBatchLog[]; submissions: DirectSubmission[] },
    judgeBlock: bigint,
    head: bigint,
    balances: Map<string, Balance>,
  ): Promise<FoldResult> {
    // Manifests first: an unavailable one stops the epoch before anything is judged. Each is parsed
    // and checked once; undefined: unavailable within D blocks (EXCLUDED).
    const domain = { chainId: ctx.options.audit.chainId, anchor: ctx.anchor };
    const manifests = new Map<AnchoredBatchLog, CheckedManifest | undefined>();
    for (const batch of read.logs) {
      const bytes = await manifestOf(batch, head);
      manifests.set(batch, bytes === undefined ? undefined : checkManifest(bytes, batch, domain));
    }
    const items = new Map<DirectSubmission, BatchItem | undefined>();
    for (const s of read.submissions) items.set(s, await directItem(s));
    const state = await ctx.store.deviceStates([
      ...[...items.values()].flatMap((item) => (item === undefined ? [] : [item.reading])),
      ...[...manifests.values()].flatMap((checked) =>
        checked !== undefined && "manifest" in checked ? checked.manifest.items.map((item) => item.reading) : [],
      ),
    ]);
    const judge = (anchoredAt: bigint, maxAnchorDelay: bigint): JudgeContext => ({
      anchoredAt,
      maxAnchorDelay,
      judgeBlock,
      digester: ctx.readingDigester,
      registry: ctx.options.registry,
      state,
      rules: ctx.rules,
    });
    const out: FoldResult = { records: [], direct: [], changed: new Set() };
    for (const event of inChainOrder(read.logs, read.submissions)) {
      if ("batchId" in event) {
        const checked = manifests.get(event);
        const evaluation =
          checked === undefined
            ? excludedBatch()
            : evaluateBatch(checked, judge(event.anchoredAt, await maxAnchorDelayAt(event.anchoredAt, judgeBlock)));
        addRewards(balances, evaluation, out.changed);
        out.records.push({ ...recordOf(event), evaluation });
      } else {
        const item = items.get(event);
        if (item === undefined) continue;
        const anchoredAt = await timestampOf(event.blockNumber);
        const evaluation = evaluateReadings([item], judge(anchoredAt, await maxAnchorDelayAt(anchoredAt, judgeBlock)));
        addRewards(balances, evaluation, out.changed);
        out.direct.push({ txHash: event.txHash, logIndex: event.logIndex, evaluation });
      }
    }
    return out;
  }

  return { fold };
}

function inChainOrder(batches: AnchoredBatchLog[], submissions: DirectSubmission[]): (AnchoredBatchLog | DirectSubmission)[] {
  return [...batches, ...submissions].sort((a, b) =>
    a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1,
  );
}

function addRewards(balances: Map<string, Balance>, evaluation: BatchEvaluation, changed: Set<string>): void {
  for (const r of evaluation.rewards) {
    const key = r.beneficiary.toLowerCase();
    changed.add(key);
    const b = balances.get(key) ?? { beneficiary: getAddress(r.beneficiary), cumulative: 0n, readings: 0 };
    b.cumulative += r.amount;
    b.readings += 1;
    balances.set(key, b);
  }
}

function recordOf(b: AnchoredBatchLog): Omit<BatchRecord, "evaluation"> {
  return {
    batchId: b.batchId,
    blockNumber: b.blockNumber,
    logIndex: b.logIndex,
    blockHash: b.blockHash,
    txHash: b.txHash,
    root: b.root,
    manifestHash: b.manifestHash,
    leafCount: b.leafCount,
  };
}
