/**
 * The continuous auditor: follows the audit chain K confirmations behind its head, checks every new
 * batch and direct submission with the verifier library, stores each verdict, raises alerts, and
 * flags devices that went silent. Work is persistent (oracle/auditor/store.ts): a restart resumes
 * at the cursor and the queued items, and never re-verifies what is done unless asked.
 *
 * @module
 */
import type { Address, PublicClient } from "viem";

import type { Logger } from "../service/logger.js";
import { eachLimit } from "../verifier/batch-verdicts.js";
import { exportBundleSet, Verifier, type BundleRef } from "../verifier/index.js";
import { deliverAlerts, type WebhookOptions } from "./alerts.js";
import { checkItem } from "./checker.js";
import { followChain } from "./follower.js";
import type { AuditorMetrics } from "./metrics.js";
import { PrefetchingPlatform } from "./platform-cache.js";
import type { AuditorStore, NewAlert, WorkItem } from "./store.js";

/** A verifier and the items using it: retired (no longer handed out) when full or stale, closed once its last item is done. */
interface VerifierLease {
  verifier: Promise<Verifier>;
  users: number;
  items: number;
  readings: number;
  retired: boolean;
  closed?: Promise<void>;
}

/** Options of {@link Auditor}. */
export interface AuditorOptions {
  store: AuditorStore;
  client: PublicClient;
  anchor: Address;
  deployBlock: number;
  platform: { url: string; apiKey: string };
  confirmations: number;
  pollMs: number;
  /** Retry of an item that could not be checked: first delay, doubling, capped; after `maxAttempts` transient verdicts are recorded as final. */
  retry: { baseMs: number; maxMs: number; maxAttempts: number };
  /** A device with no verified reading for this long is flagged (alert DEVICE_SILENT). */
  silenceSeconds: number;
  webhook?: WebhookOptions;
  /** Platform requests in flight while a batch's payloads are fetched. */
  concurrency?: number;
  /** Signature worker threads of the verifier. */
  threads?: number;
  /**
   * Work items checked at once (default 2): one item's signature checks run while the next one's
   * manifest and payloads are on the wire, instead of the main thread waiting on each fetch in turn.
   */
  parallelItems?: number;
  /** A new verifier after this many items (bounds its in-memory caches). */
  rotateAfter?: number;
  /**
   * A new verifier after this many readings checked on it (default 100,000): its caches hold every
   * audited batch's readings, so an item count alone let them grow with the batch size (5,000-reading
   * batches: ~1.5 GB after 140 items in a soak).
   */
  rotateAfterReadings?: number;
  metrics: AuditorMetrics;
  logger: Logger;
}

/** The auditor's view of its own freshness (the API's `/v1/status`). */
export interface AuditorProgress {
  head: number;
  cursor: number;
  lastPollAt: number | null;
  lastError: string | null;
  checkedItems: number;
  checkedReadings: number;
}

/**
 * @example
 * const auditor = new Auditor({ store, client, anchor, deployBlock: 0, platform, confirmations: 2, pollMs: 1000, … });
 * auditor.start();
 * await auditor.idle(); // every queued item checked
 * await auditor.stop();
 */
export class Auditor {
  readonly progress: AuditorProgress = { head: 0, cursor: 0, lastPollAt: null, lastError: null, checkedItems: 0, checkedReadings: 0 };
  readonly #o: AuditorOptions;
  #lease: VerifierLease | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(options: AuditorOptions) {
    this.#o = options;
  }

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.#retire(this.#lease);
  }

  /** One poll: follow the chain, check what is due, deliver alerts, flag silent devices. */
  async tick(): Promise<void> {
    const { store, metrics, logger } = this.#o;
    try {
      const followed = await followChain({
        client: this.#o.client,
        anchor: this.#o.anchor,
        store,
        deployBlock: this.#o.deployBlock,
        confirmations: this.#o.confirmations,
      });
      if (followed.rewound !== undefined) {
        logger.warn(followed.rewound, "reorg below the cursor: blocks read again");
        await this.#retire(this.#lease);
      }
      await this.#raise(followed.alerts);
      Object.assign(this.progress, { head: followed.head, cursor: followed.cursor, lastPollAt: Date.now(), lastError: null });
      metrics.head.set(followed.head);
      metrics.cursor.set(followed.cursor);
      while (!this.#stopped && (await this.#checkDue()) > 0);
      await this.#flagSilent();
    } catch (error) {
      this.progress.lastError = `${(error as { code?: string }).code ?? "ERROR"}: ${(error as Error).message}`.slice(0, 300);
      logger.warn({ err: (error as Error).message }, "auditor poll failed; retrying");
    }
    if (this.#o.webhook !== undefined) await deliverAlerts(store, this.#o.webhook, logger).catch(() => 0);
    // Work counts only: counting every verdict on each poll would grow with the store.
    const work = await store.workCounts().catch(() => undefined);
    if (work !== undefined) metrics.backlog.set((work.pending ?? 0) + (work.unchecked ?? 0));
  }

  /** The proof bundles of `refs` (JSON Lines, oracle/core/bundle.ts formats), from the auditor's verifier. */
  async exportBundles(refs: readonly BundleRef[]): Promise<string> {
    return this.#withLease(async (_lease, verifier) => exportBundleSet(verifier, refs));
  }

  /** Resolves when nothing is due (tests, the benchmark). */
  async idle(): Promise<void> {
    await this.tick();
  }

  async #checkDue(): Promise<number> {
    const due = await this.#o.store.dueWork(Date.now(), 16);
    await eachLimit(due, this.#o.parallelItems ?? 2, async (item) => {
      if (!this.#stopped) await this.#checkOne(item);
    });
    return due.length;
  }

  async #checkOne(item: WorkItem): Promise<void> {
    await this.#withLease((lease, verifier) => this.#checkOn(lease, verifier, item));
  }

  async #checkOn(lease: VerifierLease, verifier: Verifier, item: WorkItem): Promise<void> {
    const { store, metrics, retry } = this.#o;
    const outcome = await checkItem(verifier, this.#o.platform, item, this.#o.concurrency ?? 8);
    lease.items++;
    if (outcome.kind === "checked") lease.readings += outcome.readings;
    const backoff = Math.min(retry.maxMs, retry.baseMs * 2 ** item.attempts);
    if (outcome.kind === "unchecked") {
      metrics.unchecked.inc({ kind: outcome.reason.split(":")[0] });
      // Raised when the failure repeats: a one-off (a relayer restarting, a proxy before the wrong instance) is no finding.
      if (item.attempts > 0) await this.#raise(outcome.alerts);
      await store.complete(item, [], [], { nextAt: Date.now() + backoff, reason: outcome.reason });
      if (outcome.staleVerifier || outcome.reason.startsWith("SERVICE") || outcome.reason.startsWith("ERROR")) lease.retired = true;
      return;
    }
    const lastTry = item.attempts + 1 >= retry.maxAttempts;
    // A TAMPERED finding is confirmed by a second fetch before it is recorded (flaky bytes are not tampering).
    const unconfirmed = item.attempts === 0 && outcome.verdicts.some((v) => v.status === "TAMPERED");
    const waiting = outcome.transient.length > 0 && !lastTry;
    const verdicts = lastTry ? [...outcome.verdicts, ...outcome.transient] : outcome.verdicts;
    if (unconfirmed) {
      await store.complete(item, [], [], { nextAt: Date.now() + retry.baseMs, reason: "TAMPERED: confirming with a second fetch" });
      lease.retired = true;
      return;
    }
    const raised = await store.complete(
      item,
      verdicts,
      outcome.alerts,
      waiting
        ? { nextAt: Date.now() + backoff, reason: `${outcome.transient[0].status}: ${outcome.transient.length} reading(s) not final yet` }
        : undefined,
    );
    for (const kind of raised) metrics.alerts.inc({ kind });
    for (const v of verdicts) metrics.verdicts.inc({ status: v.status });
    this.progress.checkedItems++;
    this.progress.checkedReadings += verdicts.length;
    if (waiting) lease.retired = true;
  }

  async #raise(alerts: readonly NewAlert[]): Promise<void> {
    if (alerts.length === 0) return;
    for (const kind of await this.#o.store.raise(alerts)) this.#o.metrics.alerts.inc({ kind });
  }

  /** Alerts once per silence: the key carries the last reading's seq, so a device that resumes and stops again alerts again. */
  async #flagSilent(): Promise<void> {
    const latest = (await this.#o.client.getBlock({ blockTag: "latest" })).timestamp;
    const silent = (await this.#o.store.latestByDevice()).filter((d) => Number(latest) - d.ts > this.#o.silenceSeconds);
    await this.#raise(
      silent.map((d) => ({
        key: `silent:${d.device}:${d.seq}`,
        kind: "DEVICE_SILENT",
        device: d.device,
        seq: d.seq,
        message: `${d.device} has sent no verified reading since ${new Date(d.ts * 1000).toISOString()}`,
        details: { lastTimestamp: d.ts, silenceSeconds: this.#o.silenceSeconds },
      })),
    );
  }

  /** Runs `fn` on the current verifier under its lease: one retired meanwhile is closed by its last user, after `fn`. */
  async #withLease<T>(fn: (lease: VerifierLease, verifier: Verifier) => Promise<T>): Promise<T> {
    const lease = this.#acquire();
    try {
      return await fn(lease, await lease.verifier);
    } finally {
      lease.users--;
      if (lease.retired && lease.users === 0) await this.#retire(lease);
    }
  }

  /** The current verifier, for one more user; a full or retired one is replaced (its caches hold every audited batch). */
  #acquire(): VerifierLease {
    let lease = this.#lease;
    if (lease !== undefined && (lease.retired || this.#full(lease))) {
      void this.#retire(lease);
      lease = undefined;
    }
    if (lease === undefined) {
      const verifier = Verifier.create({
        rpc: this.#o.client,
        anchor: this.#o.anchor,
        deployBlock: this.#o.deployBlock,
        platform: new PrefetchingPlatform(this.#o.platform.url, this.#o.platform.apiKey),
        threads: this.#o.threads ?? 1,
      });
      const created: VerifierLease = { verifier, users: 0, items: 0, readings: 0, retired: false };
      verifier.catch(() => void this.#retire(created));
      this.#lease = lease = created;
    }
    lease.users++;
    return lease;
  }

  #full(lease: VerifierLease): boolean {
    return lease.items >= (this.#o.rotateAfter ?? 500) || lease.readings >= (this.#o.rotateAfterReadings ?? 100_000);
  }

  /** Hands `lease` out no more; closes it once no item uses it (an item still checking on it finishes first). */
  async #retire(lease: VerifierLease | undefined): Promise<void> {
    if (lease === undefined) return;
    lease.retired = true;
    if (this.#lease === lease) this.#lease = undefined;
    if (lease.users > 0) return;
    lease.closed ??= lease.verifier.then((v) => v.close()).catch(() => undefined);
    await lease.closed;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.tick().finally(() => this.#schedule(this.#o.pollMs));
    }, ms);
  }
}
