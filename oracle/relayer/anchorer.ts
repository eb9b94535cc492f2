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
import { AnchorSender, shortError } from "./anchor-sender.js";
import type { AnchorContext, AnchorerOptions } from "./anchor-options.js";
import type { BatchRow } from "./store-schema.js";
import { ConfirmationTracker } from "./confirmations.js";
import { ReorgRechecker } from "./reorg-recheck.js";

export type { AnchorerOptions } from "./anchor-options.js";
export { bumpFee } from "./anchor-sender.js";
export { RECHECK_SWEEP_TICKS } from "./reorg-recheck.js";

/**
 * The anchoring worker. `start()` runs `tick()` every `pollMs`; when `kick()`ed in between it at once
 * cuts the full batches and sends the queued ones, leaving the chain to the next `tick()` (a relayer
 * under load is kicked after every commit: polling the chain each time cost it RPCs, not progress).
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
  readonly #o: AnchorContext;
  readonly #sender: AnchorSender;
  readonly #tracker: ConfirmationTracker;
  readonly #rechecker: ReorgRechecker;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #kicked = false;
  #healthy = true;
  #lastTickAt = 0;
  /** When the last full tick (the one that polls the chain) started. */
  #lastPollAt = Number.NEGATIVE_INFINITY;
  #leader = false;

  constructor(options: AnchorerOptions) {
    this.#o = { now: Date.now, ...options, recheckBlocks: options.recheckBlocks ?? 256 };
    this.#sender = new AnchorSender(this.#o);
    this.#tracker = new ConfirmationTracker(this.#o, this.#sender);
    this.#rechecker = new ReorgRechecker(this.#o, this.#tracker, () => !this.#running && this.#loop !== undefined);
  }

  /** False after a tick failed to reach the chain or the store (until one succeeds). */
  get healthy(): boolean {
    return this.#healthy;
  }

  get lastTickAt(): number {
    return this.#lastTickAt;
  }

  /** True while this process anchors (always without a lease; with one, while it holds it). */
  get leader(): boolean {
    return this.#o.lease === undefined || this.#leader;
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
    const lease = this.#o.lease;
    if (lease !== undefined && this.#leader) {
      this.#leader = false;
      await this.#o.store.releaseLease(lease.name, lease.holder).catch(() => undefined);
    }
  }

  /** Runs a tick soon (the queue reached a full batch). */
  kick(): void {
    this.#kicked = true;
    this.#wake?.();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const kicked = this.#kicked;
      this.#kicked = false;
      if (kicked && this.#o.now() - this.#lastPollAt < this.#o.pollMs) await this.#cutAndSend();
      else await this.tick();
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
    this.#lastPollAt = this.#o.now();
    let ok = true;
    let head: number | undefined;
    const headNow = async () => (head ??= Number(await this.#o.publicClient.getBlockNumber()));
    const held = await this.#holdLease().catch((error: unknown) => {
      logger.error({ err: error }, "renewing the anchoring lease failed");
      return undefined;
    });
    if (held !== true) {
      // Standing by is healthy; a store that cannot be reached is not. The queue depth this process
      // answers its hard bound from is made exact again (the anchoring instance takes readings out).
      if (held === false) await store.countQueued().catch(() => undefined);
      this.#healthy = held === false;
      this.#lastTickAt = this.#o.now();
      return;
    }
    try {
      await this.#cutBatches();
    } catch (error) {
      ok = false;
      logger.error({ err: error }, "cutting a batch failed");
    }
    try {
      await this.#rechecker.recheckConfirmed(headNow);
    } catch (error) {
      ok = false;
      logger.warn({ err: error }, "rechecking confirmed batches failed; retrying next tick");
    }
    try {
      const active = await store.activeBatches();
      if (active.length > 0 && !(await this.#advance(active, await headNow()))) ok = false;
    } catch (error) {
      ok = false;
      logger.error({ err: error }, "anchoring pass failed");
    }
    this.#healthy = ok;
    this.#lastTickAt = this.#o.now();
  }

  /** A kicked pass between ticks: cut the due batches and send the queued ones; no chain polling. Never throws. */
  async #cutAndSend(): Promise<void> {
    try {
      if ((await this.#holdLease()) !== true) return;
      await this.#cutBatches();
      await this.#advance(await this.#o.store.activeBatches());
    } catch (error) {
      this.#o.logger.warn({ err: error }, "cutting or sending batches failed; retrying next tick");
    }
  }

  /**
   * Advances the active batches: checks sent and mined ones against the chain when given its `head`,
   * sends queued ones while fewer than `maxInFlight` are in flight. False when a step failed.
   */
  async #advance(active: readonly BatchRow[], head?: number): Promise<boolean> {
    let ok = true;
    let inFlight = active.filter((b) => b.status === "sent").length;
    for (const batch of active) {
      if (!this.#running && this.#loop !== undefined) break;
      try {
        if (batch.status === "mined") {
          if (head !== undefined) await this.#tracker.checkMined(batch, head);
        } else if (batch.status === "sent") {
          if (head !== undefined) await this.#tracker.checkSent(batch);
        } else if (batch.status === "queued" && inFlight < this.#o.maxInFlight && batch.nextAttemptAt <= this.#o.now()) {
          if (await this.#sender.send(batch)) inFlight++;
        }
      } catch (error) {
        ok = false;
        this.#o.logger.warn({ err: error, batch: batch.id, status: batch.status }, "batch step failed; retrying next tick");
        if (batch.status === "queued") await this.#sender.defer(batch, shortError(error)).catch(() => undefined);
      }
    }
    return ok;
  }

  /** Takes or renews the lease (true without one); logs when this process starts or stops anchoring. */
  async #holdLease(): Promise<boolean> {
    const { lease, store, logger } = this.#o;
    if (lease === undefined) return true;
    let held: boolean;
    try {
      held = await store.acquireLease(lease.name, lease.holder, lease.ttlMs, this.#o.now());
    } catch (error) {
      this.#leader = false;
      throw error;
    }
    if (held !== this.#leader)
      logger.info({ lease: lease.name, holder: lease.holder }, held ? "anchoring lease taken" : "anchoring lease lost");
    this.#leader = held;
    return held;
  }

  async #cutBatches(): Promise<void> {
    const { store, batch: limits, logger } = this.#o;
    // Readings other instances accepted count too.
    if (this.#o.lease !== undefined) await store.countQueued();
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
}
