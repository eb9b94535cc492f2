/**
 * The relayer's anchoring worker: cuts batches from the queue (by size or age) and drives each
 * through queued → sent → mined → confirmed with persisted, re-broadcastable transactions.
 *
 * Rules it keeps:
 * - a transaction is signed, then persisted (nonce, hash, raw bytes, fees), then broadcast; after a
 *   restart a pending transaction the node does not know is re-broadcast byte for byte;
 * - a batch gets a new nonce only when its old nonce was taken by a transaction that is not one of
 *   its own (and its root is not anchored);
 * - a transaction pending longer than `stuckTimeoutMs` is replaced by the same nonce with
 *   maxFeePerGas and maxPriorityFeePerGas raised by at least 12.5 %;
 * - a mined batch is confirmed after K blocks; if its block leaves the canonical chain (receipt gone
 *   or block hash changed) the batch goes back to sent and its transaction is re-broadcast;
 * - a confirmed batch is not final: while its block is within `recheckBlocks` of the head it is
 *   rechecked (the newest one every tick, all of them at start, every `RECHECK_SWEEP_TICKS` ticks and
 *   as soon as one is found orphaned); a reorg deeper than K that orphans it moves it back the same
 *   way (sent with its transaction pending again, or re-mined where the receipt now is);
 * - "already known" is success, "nonce too low" is settled by receipts, the nonce and the root;
 *   `ReadingAnchorRootAlreadyAnchored` is success once `batchIdOfRoot`, `getBatch` and the
 *   `BatchAnchored` event show the same root, leaf count and manifest hash.
 *
 * @module
 */
import {
  BaseError,
  encodeFunctionData,
  getAddress,
  keccak256,
  parseEventLogs,
  type Address,
  type Hex,
  type LocalAccount,
  type PublicClient,
  type TransactionReceipt,
} from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import { revertName } from "../chain/rpc.js";
import type { Logger } from "../service/logger.js";
import { AnchorEventMissingError, NoBaseFeeError } from "./anchor-errors.js";
import type { RelayerMetrics } from "./metrics.js";
import type { BatchRow, BuiltBatchRecord, Candidate, MinedInfo, RelayerStore, TxKind, TxRow } from "./store.js";

/** Options of {@link Anchorer}. */
export interface AnchorerOptions {
  store: RelayerStore;
  publicClient: PublicClient;
  /** Signs anchoring transactions locally (the raw bytes are persisted before broadcast). */
  account: LocalAccount;
  anchor: Address;
  chainId: number;
  /** Builds a batch record (root, manifest…) from queued readings: the core's buildBatch. */
  buildBatch: (readings: Candidate[]) => BuiltBatchRecord;
  batch: { maxSize: number; maxAgeMs: number };
  /** Blocks (the mined one included) before a batch is confirmed. */
  confirmations: number;
  /** A pending transaction older than this gets a fee bump. */
  stuckTimeoutMs: number;
  /** Batches sent and not yet mined at the same time (consecutive nonces). */
  maxInFlight: number;
  /** Worker period. */
  pollMs: number;
  /** Never sign a maxFeePerGas above this (wei). */
  maxFeePerGasCap?: bigint;
  /**
   * Confirmed batches whose block is at most this many blocks below the head are rechecked for a
   * reorg deeper than `confirmations` (0: confirmed is final). Default 256.
   */
  recheckBlocks?: number;
  logger: Logger;
  metrics: RelayerMetrics;
  now?: () => number;
}

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

function shortError(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The fee of a replacement transaction: ceil(x × 1.125), and at least x + 1 (nodes want ≥ 10 %).
 *
 * @example
 * bumpFee(1_000_000_000n); // 1_125_000_000n
 */
export function bumpFee(x: bigint): bigint {
  const bumped = x + (x + 7n) / 8n;
  return bumped > x ? bumped : x + 1n;
}

const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);

type Anchored = { kind: "ours"; info: MinedInfo } | { kind: "foreign"; anchorBatchId: number; reason: string };

/** Every this many ticks, every recently confirmed batch is rechecked (the newest one is, every tick). */
export const RECHECK_SWEEP_TICKS = 20;

/**
 * The anchoring worker. `start()` runs `tick()` every `pollMs` (and at once when `kick()`ed);
 * `stop()` finishes the current tick and returns.
 *
 * @example
 * const anchorer = new Anchorer({ store, publicClient, account, anchor, chainId: 31337, buildBatch,
 *   batch: { maxSize: 1000, maxAgeMs: 10_000 }, confirmations: 2, stuckTimeoutMs: 60_000, maxInFlight: 4,
 *   pollMs: 1000, logger, metrics });
 * anchorer.start();
 * await anchorer.stop();
 */
export class Anchorer {
  readonly #o: AnchorerOptions & { now: () => number; recheckBlocks: number };
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #kicked = false;
  #failures = new Map<number, number>();
  #healthy = true;
  #lastTickAt = 0;
  /** Ticks until the next full recheck of recently confirmed batches (0: this tick, so at start). */
  #sweepIn = 0;

  constructor(options: AnchorerOptions) {
    this.#o = { now: Date.now, ...options, recheckBlocks: options.recheckBlocks ?? 256 };
  }

  /** False after a tick failed to reach the chain or the store (until one succeeds). */
  get healthy(): boolean {
    return this.#healthy;
  }

  get lastTickAt(): number {
    return this.#lastTickAt;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Finishes the tick in progress (never leaves a half-made batch: batches are cut in one transaction). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    this.#loop = undefined;
  }

  /** Runs a tick soon (the queue reached a full batch). */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      this.#kicked = false;
      await this.tick();
      if (!this.#running) break;
      if (this.#kicked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#o.pollMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /** One pass: cut due batches, recheck recently confirmed ones, then advance every active batch. Never throws. */
  async tick(): Promise<void> {
    const { store, logger } = this.#o;
    let ok = true;
    let head: number | undefined;
    const headNow = async () => (head ??= Number(await this.#o.publicClient.getBlockNumber()));
    try {
      await this.#cutBatches();
    } catch (error) {
      ok = false;
      logger.error({ err: error }, "cutting a batch failed");
    }
    try {
      await this.#recheckConfirmed(headNow);
    } catch (error) {
      ok = false;
      logger.warn({ err: error }, "rechecking confirmed batches failed; retrying next tick");
    }
    try {
      const active = await store.activeBatches();
      if (active.length > 0) {
        const head = await headNow();
        let inFlight = active.filter((b) => b.status === "sent").length;
        for (const batch of active) {
          if (!this.#running && this.#loop !== undefined) break;
          try {
            if (batch.status === "mined") await this.#checkMined(batch, head);
            else if (batch.status === "sent") await this.#checkSent(batch);
            else if (batch.status === "queued" && inFlight < this.#o.maxInFlight && batch.nextAttemptAt <= this.#o.now()) {
              if (await this.#send(batch)) inFlight++;
            }
          } catch (error) {
            ok = false;
            logger.warn({ err: error, batch: batch.id, status: batch.status }, "batch step failed; retrying next tick");
            if (batch.status === "queued") await this.#defer(batch, shortError(error)).catch(() => undefined);
          }
        }
      }
    } catch (error) {
      ok = false;
      logger.error({ err: error }, "anchoring pass failed");
    }
    this.#healthy = ok;
    this.#lastTickAt = this.#o.now();
  }

  async #cutBatches(): Promise<void> {
    const { store, batch: limits, logger } = this.#o;
    for (;;) {
      const depth = store.queueDepth;
      if (depth === 0) return;
      if (depth < limits.maxSize) {
        const oldest = await store.oldestQueuedAt();
        if (oldest === undefined || this.#o.now() - oldest < limits.maxAgeMs) return;
      }
      const batch = await store.createBatch(limits.maxSize, this.#o.buildBatch, this.#o.now());
      if (batch === undefined) return;
      logger.info({ batch: batch.id, root: batch.root, leafCount: batch.leafCount, manifestHash: batch.manifestHash }, "batch cut");
      if (!this.#running && this.#loop !== undefined) return;
    }
  }

  async #defer(batch: BatchRow, error: string): Promise<void> {
    const failures = (this.#failures.get(batch.id) ?? 0) + 1;
    this.#failures.set(batch.id, failures);
    const delay = Math.min(60_000, 500 * 2 ** Math.min(failures, 7));
    await this.#o.store.deferBatch(batch.id, error, this.#o.now() + delay);
  }

  #calldata(batch: BatchRow): Hex {
    return encodeFunctionData({
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [batch.root, batch.leafCount, batch.manifestHash],
    });
  }

  /**
   * Is the batch's root anchored already? Ours when the on-chain batch has the same leaf count and
   * manifest hash and its BatchAnchored event carries the root.
   */
  async #findAnchored(batch: BatchRow): Promise<Anchored | undefined> {
    const { publicClient, anchor, logger, account } = this.#o;
    const id = await publicClient.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "batchIdOfRoot", args: [batch.root] });
    if (id === 0n) return undefined;
    const onChain = await publicClient.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "getBatch", args: [id] });
    if (onChain.manifestHash.toLowerCase() !== batch.manifestHash || Number(onChain.leafCount) !== batch.leafCount) {
      return { kind: "foreign", anchorBatchId: Number(id), reason: `root anchored as batch ${id} with another manifest hash or leaf count` };
    }
    const logs = await publicClient.getContractEvents({
      address: anchor,
      abi: readingAnchorAbi,
      eventName: "BatchAnchored",
      args: { batchId: id },
      fromBlock: BigInt(onChain.blockNumber),
      toBlock: BigInt(onChain.blockNumber),
    });
    const log = logs.find((l) => l.args.root?.toLowerCase() === batch.root);
    if (log === undefined || log.blockHash === null || log.transactionHash === null || log.blockNumber === null) {
      throw new AnchorEventMissingError(`batch ${id} holds root ${batch.root} but its BatchAnchored event was not found`, { root: batch.root, anchorBatchId: id.toString() });
    }
    if (log.args.relayer !== undefined && getAddress(log.args.relayer) !== account.address)
      logger.warn({ batch: batch.id, anchorBatchId: Number(id), by: log.args.relayer }, "root anchored by another relayer account");
    return {
      kind: "ours",
      info: { anchorBatchId: Number(id), txHash: log.transactionHash, blockNumber: Number(log.blockNumber), blockHash: log.blockHash, gasUsed: null },
    };
  }

  async #settleAnchored(batch: BatchRow, found: Anchored, how: string): Promise<void> {
    if (found.kind === "foreign") {
      this.#o.logger.error({ batch: batch.id, anchorBatchId: found.anchorBatchId, reason: found.reason }, "batch failed");
      await this.#o.store.markFailed(batch.id, found.reason);
      return;
    }
    this.#o.logger.info({ batch: batch.id, ...found.info, gasUsed: undefined, how }, "batch root found anchored");
    await this.#o.store.markMined(batch.id, found.info, this.#o.now());
  }

  async #fees(): Promise<{ maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }> {
    const { publicClient } = this.#o;
    const [block, priority] = await Promise.all([publicClient.getBlock({ blockTag: "latest" }), publicClient.estimateMaxPriorityFeePerGas()]);
    if (block.baseFeePerGas === null) throw new NoBaseFeeError();
    // Room for the base fee to double before the transaction is priced out.
    let maxPriorityFeePerGas = priority;
    let maxFeePerGas = block.baseFeePerGas * 2n + priority;
    const cap = this.#o.maxFeePerGasCap;
    if (cap !== undefined && maxFeePerGas > cap) {
      maxFeePerGas = cap;
      if (maxPriorityFeePerGas > cap) maxPriorityFeePerGas = cap;
    }
    return { maxFeePerGas, maxPriorityFeePerGas };
  }

  async #nextNonce(): Promise<number> {
    const { publicClient, account, store } = this.#o;
    const chainNonce = await publicClient.getTransactionCount({ address: account.address, blockTag: "pending" });
    const pending = await store.maxPendingNonce();
    return pending === undefined ? chainNonce : Math.max(chainNonce, pending + 1);
  }

  async #signAndRecord(
    batch: BatchRow,
    kind: TxKind,
    tx: { nonce: number; gas: bigint; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
  ): Promise<TxRow> {
    const raw = await this.#o.account.signTransaction({
      type: "eip1559",
      chainId: this.#o.chainId,
      to: this.#o.anchor,
      data: this.#calldata(batch),
      value: 0n,
      nonce: tx.nonce,
      gas: tx.gas,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
    });
    // Persisted before it leaves the process.
    return this.#o.store.recordTx(batch.id, { kind, ...tx, hash: keccak256(raw), raw }, this.#o.now());
  }

  /** Broadcasts a persisted transaction. Node answers that settle themselves are not errors. */
  async #broadcast(batch: BatchRow, tx: TxRow, kind: "initial" | "bump" | "resign" | "rebroadcast"): Promise<void> {
    const { publicClient, logger, metrics } = this.#o;
    try {
      await publicClient.sendRawTransaction({ serializedTransaction: tx.raw });
      metrics.anchorTxs.inc({ kind });
      logger.info({ batch: batch.id, tx: tx.hash, nonce: tx.nonce, maxFeePerGas: tx.maxFeePerGas.toString(), kind }, "anchoring transaction sent");
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

  /** First (or renewed) anchoring of a queued batch. Answers whether a transaction was sent. */
  async #send(batch: BatchRow): Promise<boolean> {
    const { publicClient, account, anchor, logger } = this.#o;
    const found = await this.#findAnchored(batch);
    if (found !== undefined) {
      await this.#settleAnchored(batch, found, "before sending");
      return false;
    }
    const request = { account, address: anchor, abi: readingAnchorAbi, functionName: "anchorBatch", args: [batch.root, batch.leafCount, batch.manifestHash] } as const;
    try {
      await publicClient.simulateContract(request);
    } catch (error) {
      if (revertName(error) === "ReadingAnchorRootAlreadyAnchored") {
        const again = await this.#findAnchored(batch);
        if (again !== undefined) {
          await this.#settleAnchored(batch, again, "ReadingAnchorRootAlreadyAnchored");
          return false;
        }
      }
      logger.error({ batch: batch.id, revert: revertName(error), err: shortError(error) }, "anchorBatch would revert; retrying later");
      await this.#defer(batch, `anchorBatch would revert: ${revertName(error) ?? shortError(error)}`);
      return false;
    }
    const estimate = await publicClient.estimateGas({ account, to: anchor, data: this.#calldata(batch) });
    const gas = (estimate * 5n) / 4n + 10_000n;
    const fees = await this.#fees();
    const nonce = await this.#nextNonce();
    const kind: TxKind = batch.attempts > 0 ? "resign" : "initial";
    const tx = await this.#signAndRecord(batch, kind, { nonce, gas, ...fees });
    this.#failures.delete(batch.id);
    await this.#broadcast(batch, tx, kind);
    return true;
  }

  async #receipt(hash: Hex): Promise<TransactionReceipt | undefined> {
    try {
      return await this.#o.publicClient.getTransactionReceipt({ hash });
    } catch (error) {
      if (error instanceof BaseError && error.name === "TransactionReceiptNotFoundError") return undefined;
      throw error;
    }
  }

  async #onReceipt(batch: BatchRow, tx: TxRow, receipt: TransactionReceipt): Promise<void> {
    const { store, metrics, logger, anchor } = this.#o;
    metrics.gasUsed.inc({}, Number(receipt.gasUsed));
    if (receipt.status === "success") {
      const event = parseEventLogs({ abi: readingAnchorAbi, logs: receipt.logs, eventName: "BatchAnchored" }).find(
        (l) => getAddress(l.address) === getAddress(anchor) && l.args.root.toLowerCase() === batch.root,
      );
      if (event === undefined)
        throw new AnchorEventMissingError(`transaction ${tx.hash} succeeded without a BatchAnchored event for ${batch.root}`, { root: batch.root, txHash: tx.hash });
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
      logger.info({ batch: batch.id, anchorBatchId: info.anchorBatchId, tx: tx.hash, block: info.blockNumber, gasUsed: Number(receipt.gasUsed) }, "batch anchored");
      return;
    }
    await store.setTxStatus(tx.id, "reverted");
    const found = await this.#findAnchored(batch);
    if (found !== undefined) return this.#settleAnchored(batch, found, "after a reverted transaction");
    logger.error({ batch: batch.id, tx: tx.hash }, "anchoring transaction reverted; signing again later");
    await store.requeueBatch(batch.id, "dropped", `transaction ${tx.hash} reverted`, this.#o.now() + 1000);
  }

  async #checkSent(batch: BatchRow): Promise<void> {
    const { publicClient, account, store, logger, stuckTimeoutMs } = this.#o;
    const pending = (await store.txs(batch.id)).filter((t) => t.status === "pending").reverse(); // newest first
    if (pending.length === 0) {
      await store.requeueBatch(batch.id, "dropped", "no pending transaction", this.#o.now());
      return;
    }
    // The nonce first: a transaction mined after this read still shows its receipt below.
    const latestNonce = await publicClient.getTransactionCount({ address: account.address, blockTag: "latest" });
    for (const tx of pending) {
      const receipt = await this.#receipt(tx.hash);
      if (receipt !== undefined) return this.#onReceipt(batch, tx, receipt);
    }
    const newest = pending[0];
    if (latestNonce > newest.nonce) {
      const found = await this.#findAnchored(batch);
      if (found !== undefined) return this.#settleAnchored(batch, found, "nonce used");
      logger.warn({ batch: batch.id, nonce: newest.nonce }, "nonce taken by another transaction; signing the batch again");
      await store.requeueBatch(batch.id, "dropped", `nonce ${newest.nonce} used by another transaction`, this.#o.now());
      return;
    }
    if (this.#o.now() - newest.sentAt >= stuckTimeoutMs) return this.#bump(batch, newest);
    const known = await publicClient.getTransaction({ hash: newest.hash }).catch(() => undefined);
    if (known === undefined) await this.#broadcast(batch, newest, "rebroadcast");
  }

  /** Same nonce, same gas, fees raised by ≥ 12.5 % (and to at least the current estimate). */
  async #bump(batch: BatchRow, old: TxRow): Promise<void> {
    const { logger, maxFeePerGasCap } = this.#o;
    const fees = await this.#fees();
    const maxPriorityFeePerGas = maxBig(bumpFee(old.maxPriorityFeePerGas), fees.maxPriorityFeePerGas);
    const maxFeePerGas = maxBig(maxBig(bumpFee(old.maxFeePerGas), fees.maxFeePerGas), maxPriorityFeePerGas);
    if (maxFeePerGasCap !== undefined && maxFeePerGas > maxFeePerGasCap) {
      logger.warn({ batch: batch.id, tx: old.hash, cap: maxFeePerGasCap.toString() }, "fee cap reached: not bumping");
      await this.#o.store.touchTx(old.id, this.#o.now());
      return;
    }
    const tx = await this.#signAndRecord(batch, "bump", { nonce: old.nonce, gas: old.gas, maxFeePerGas, maxPriorityFeePerGas });
    logger.warn(
      { batch: batch.id, old: old.hash, tx: tx.hash, nonce: tx.nonce, maxFeePerGas: maxFeePerGas.toString(), maxPriorityFeePerGas: maxPriorityFeePerGas.toString() },
      "transaction stuck: fee bump",
    );
    await this.#broadcast(batch, tx, "bump");
  }

  /**
   * Reorgs deeper than the confirmation depth: confirmed batches whose block is within
   * `recheckBlocks` of the head are checked like mined ones. A reorg replaces a suffix of the chain,
   * so the newest confirmed batch is checked every tick (one getBlock while nothing changed); all of
   * them at start, every RECHECK_SWEEP_TICKS ticks, and at once when one is found orphaned.
   */
  async #recheckConfirmed(headNow: () => Promise<number>): Promise<void> {
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
      if (!this.#running && this.#loop !== undefined) return;
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
    const receipt = await this.#receipt(txHash);
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
      logger.warn({ ...fields, minedIn: receipt.blockHash }, "reorg deeper than the confirmation depth: confirmed batch re-mined in another block");
      await store.markReorged(batch.id, this.#o.now());
      const tx = (await store.txs(batch.id)).find((t) => t.hash === txHash);
      if (tx !== undefined) await this.#onReceipt({ ...batch, reorgs: batch.reorgs + 1 }, tx, receipt);
      return true;
    }
    logger.warn(fields, "reorg deeper than the confirmation depth: confirmed anchoring left the canonical chain; re-anchoring");
    await store.markReorged(batch.id, this.#o.now());
    return true;
  }

  async #checkMined(batch: BatchRow, head: number): Promise<void> {
    const { publicClient, store, logger, metrics, confirmations } = this.#o;
    const txHash = batch.txHash as Hex;
    const receipt = await this.#receipt(txHash);
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
        logger.warn({ batch: batch.id, tx: txHash, from: batch.blockHash, to: receipt.blockHash }, "reorg: batch re-mined in another block");
        await store.markReorged(batch.id, this.#o.now());
        const tx = (await store.txs(batch.id)).find((t) => t.hash === txHash);
        if (tx !== undefined) await this.#onReceipt({ ...batch, reorgs: batch.reorgs + 1 }, tx, receipt);
        return;
      }
      logger.warn({ batch: batch.id, tx: txHash, block: batch.blockNumber, blockHash: batch.blockHash }, "reorg: anchoring left the canonical chain; re-anchoring");
      await store.markReorged(batch.id, this.#o.now());
      return;
    }
    if (head - (batch.blockNumber as number) + 1 >= confirmations) {
      await store.markConfirmed(batch.id, this.#o.now());
      logger.info({ batch: batch.id, anchorBatchId: batch.anchorBatchId, block: batch.blockNumber }, "batch confirmed");
    }
  }
}
