/**
 * Reading submissions (POST /v1/readings): one reading or a bulk array, checked (intake.ts), held to
 * the hard queue bound and the per-device quota, committed with their receipts and answered
 * 202 / 207 / the rejection's status. Tracks submissions in flight so a stop can drain them.
 *
 * @module
 */
import type { Request, Response } from "express";

import type { SignedReceiptJson } from "../core/receipt.js";
import { retryAfterSeconds, type Consumed, type Limiter } from "../service/limiter.js";
import type { SignatureBudget } from "../service/signature-budget.js";
import type { Anchorer } from "./anchorer.js";
import { RejectionError } from "./errors.js";
import type { IntakeWriter, ReadingChecker } from "./intake.js";
import type { RelayerMetrics } from "./metrics.js";
import { UNSIGNED, type ReceiptSigner } from "./receipts.js";
import type { RelayerLimits } from "./relayer-options.js";
import type { AcceptOutcome, Candidate, RelayerStore } from "./store.js";

/** What {@link Submissions} works with. */
export interface SubmissionsOptions {
  store: RelayerStore;
  checker: ReadingChecker;
  writer: IntakeWriter;
  deviceQuota: Limiter | undefined;
  /** Charges the readings refused to their client address, and bounds its readings in their checks. */
  budget: SignatureBudget;
  metrics: RelayerMetrics;
  anchorer: Anchorer;
  limits: RelayerLimits;
  batch: { maxSize: number; maxAgeMs: number };
  /** Answers receipts, and signs a bulk's receipt root. */
  receipts: Pick<ReceiptSigner, "json" | "deadline" | "signRoot">;
}

/** The preference (RFC 7240) of a bulk asking for one receipt root instead of one receipt per reading. */
const ROOT_PREFERENCE = /(?:^|,)\s*receipt\s*=\s*"?root"?\s*(?:[;,]|$)/i;

/** Whether a bulk submission asked for one signed receipt root (`Prefer: receipt=root`). */
export const wantsReceiptRoot = (req: Request): boolean => {
  const prefer = req.headers.prefer;
  return prefer !== undefined && ROOT_PREFERENCE.test(String(prefer));
};

type Queued = { status: "queued"; duplicate: boolean; receipt?: SignedReceiptJson };
/** An accepted reading of a submission (new or an identical resend) and its answer. */
type Admitted = { candidate: Candidate; body: Queued };

/** The client address a submission is charged to (behind a trusted proxy, the forwarded one). */
export const clientAddress = (req: Request): string => req.ip ?? req.socket.remoteAddress ?? "unknown";

/** Handles reading submissions; `drain()` refuses new ones (503) and waits for those in flight. */
export class Submissions {
  readonly #o: SubmissionsOptions;
  #draining = false;
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Queue room held by submissions between their bound check and their commit (hard queue bound). */
  #reserved = 0;

  constructor(options: SubmissionsOptions) {
    this.#o = options;
  }

  /** True once {@link drain} was called. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Handles one POST /v1/readings (throws its rejection, answered by the service kit). */
  async handle(req: Request, res: Response): Promise<void> {
    const work = this.#submit(req, res);
    this.#inFlight.add(work);
    try {
      await work;
    } finally {
      this.#inFlight.delete(work);
    }
  }

  /** Refuses new submissions and waits until those in flight are answered. */
  async drain(): Promise<void> {
    this.#draining = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async #submit(req: Request, res: Response): Promise<void> {
    const o = this.#o;
    if (this.#draining) {
      res.setHeader("Retry-After", "5");
      throw new RejectionError("SHUTTING_DOWN", "the relayer is shutting down; retry on another instance or later");
    }
    if (!req.is("application/json")) throw new RejectionError("UNSUPPORTED_MEDIA_TYPE", "send application/json");
    const body: unknown = req.body;
    const bulk = Array.isArray(body);
    const items: unknown[] = bulk ? body : [body];
    if (bulk && items.length === 0) throw new RejectionError("EMPTY_BULK", "an array of readings must not be empty");
    if (items.length > o.limits.maxBulk)
      throw new RejectionError("TOO_MANY_READINGS", `at most ${o.limits.maxBulk} readings per request`, {
        max: o.limits.maxBulk,
        got: items.length,
      });
    // Hard bound: the room is reserved before anything is awaited, and released once the readings
    // are committed (then counted in queueDepth) or refused.
    if (o.store.queueDepth + this.#reserved + items.length > o.limits.maxQueueDepth) {
      const retryAfterSeconds = Math.max(1, Math.ceil(o.batch.maxAgeMs / 1000));
      throw new RejectionError("QUEUE_FULL", "the relayer's queue is full; retry later", { retryAfterSeconds });
    }
    let held = items.length;
    this.#reserved += held;
    try {
      await this.#admit(clientAddress(req), res, bulk, bulk && wantsReceiptRoot(req), items, (keep) => {
        this.#reserved -= held - keep;
        held = keep;
      });
    } finally {
      this.#reserved -= held;
    }
  }

  /**
   * The rest of a submission, once it holds room for its readings in the queue (`hold` shrinks it).
   * With `root`, the accepted readings are receipted by one signed root: every one with the same
   * deadline (the earliest of theirs), no receipt signed per reading.
   */
  async #admit(client: string, res: Response, bulk: boolean, root: boolean, items: unknown[], hold: (keep: number) => void): Promise<void> {
    const o = this.#o;
    const errors = new Array<RejectionError | undefined>(items.length);
    const results = new Array<Admitted | undefined>(items.length);
    const candidates: Candidate[] = [];
    const slots: number[] = [];
    // Every reading's check at once (the signature pool checks them together on its worker threads);
    // only refused ones cost the client address (carrier NAT: honest readings from one address are free).
    const verdicts = (await o.budget.checkEach(client, items, (item) => o.checker.verify(item, { signReceipt: !root }))).map((c) =>
      c.ok ? { verdict: c.value } : { error: c.error },
    );
    // The device quotas of the authentic, admissible readings, charged together (one take per device).
    const charged = verdicts.flatMap((v) =>
      v.verdict !== undefined && v.verdict.refusal === undefined ? [v.verdict.candidate.device] : [],
    );
    const quotas: IterableIterator<Consumed> = (o.deviceQuota ? await o.deviceQuota.consumeEach(charged) : []).values();
    for (let i = 0; i < items.length; i++) {
      try {
        const checked = verdicts[i];
        if ("error" in checked) throw checked.error;
        const { candidate, refusal } = checked.verdict;
        let blocked = refusal;
        if (blocked === undefined && o.deviceQuota !== undefined) {
          const quota = quotas.next().value as Consumed;
          if (!quota.allowed)
            blocked = new RejectionError("DEVICE_QUOTA_EXCEEDED", "this device sent too many readings; retry later", {
              device: candidate.device,
              retryAfterSeconds: retryAfterSeconds(quota.retryAfterMs),
            });
        }
        if (blocked !== undefined) {
          // Idempotent even now: an authentic resend of an accepted reading gets its receipt back.
          const existing = await o.store.reading(candidate.device, candidate.seq);
          if (existing === undefined || existing.timestamp !== candidate.timestamp || existing.dataHash !== candidate.dataHash)
            throw blocked;
          const receipt = root ? undefined : o.receipts.json(existing, existing.receipt);
          results[i] = { candidate, body: { status: "queued", duplicate: true, ...(receipt === undefined ? {} : { receipt }) } };
          o.metrics.readingsDuplicate.inc();
          continue;
        }
        candidates.push(candidate);
        slots.push(i);
      } catch (error) {
        if (!(error instanceof RejectionError)) throw error;
        errors[i] = error;
      }
    }
    if (!bulk && errors[0] !== undefined) throw errors[0];
    hold(candidates.length);
    // One deadline for the whole root, stored with each new reading (its own receipt, if ever asked for, says the same).
    let deadline = Infinity;
    if (root) {
      for (const c of [...candidates, ...results.map((r) => r?.candidate)])
        if (c !== undefined) deadline = Math.min(deadline, o.receipts.deadline(c));
      for (const c of candidates) c.receipt = { deadline, signature: UNSIGNED };
    }

    const outcomes = await o.writer.submit(candidates);
    outcomes.forEach((outcome, k) => {
      const candidate = candidates[k];
      const answer = this.#outcomeAnswer(candidate, outcome, root);
      if (answer instanceof RejectionError) errors[slots[k]] = answer;
      else {
        results[slots[k]] = { candidate, body: answer };
        if (outcome.kind === "accepted") o.metrics.readingsAccepted.inc();
        else o.metrics.readingsDuplicate.inc();
      }
    });
    o.metrics.queueDepth.set(o.store.queueDepth);
    if (o.store.queueDepth >= o.batch.maxSize) o.anchorer.kick();

    if (!bulk) {
      if (errors[0] !== undefined) throw errors[0];
      res.status(202).json(results[0]!.body);
      return;
    }
    this.#answerBulk(res, errors, results, root ? deadline : undefined);
  }

  /** A bulk's answer: 202 when every reading was accepted, else 207; a result per reading, and the root when asked for. */
  #answerBulk(
    res: Response,
    errors: readonly (RejectionError | undefined)[],
    results: readonly (Admitted | undefined)[],
    rootDeadline?: number,
  ): void {
    let rejected = 0;
    const list = Array.from(results, (result, i) => {
      const error = errors[i];
      if (error === undefined) {
        const { duplicate, receipt } = result!.body;
        return { index: i, status: 202, duplicate, ...(receipt === undefined ? {} : { receipt }) };
      }
      rejected++;
      this.#o.metrics.readingsRejected.inc({ code: error.code });
      return { index: i, status: error.status, error: error.toJSON() };
    });
    const accepted = list.length - rejected;
    const body: Record<string, unknown> = { accepted, rejected, results: list };
    if (rootDeadline !== undefined) {
      res.setHeader("Preference-Applied", "receipt=root");
      if (accepted > 0)
        body.receipt = this.#o.receipts.signRoot(
          results.flatMap((r) => (r === undefined ? [] : [r.candidate])),
          rootDeadline,
        );
    }
    res.status(rejected === 0 ? 202 : 207).json(body);
  }

  /** A committed candidate's answer: its receipt, or none when the bulk is receipted under a root. */
  #outcomeAnswer(candidate: Candidate, outcome: AcceptOutcome, root: boolean): Queued | RejectionError {
    switch (outcome.kind) {
      case "accepted":
      case "duplicate":
        return {
          status: "queued",
          duplicate: outcome.kind === "duplicate",
          ...(root ? {} : { receipt: this.#o.receipts.json(candidate, outcome.receipt) }),
        };
      case "conflict":
        return new RejectionError("SEQUENCE_CONFLICT", `another reading was accepted for seq ${candidate.seq} of this device`, {
          device: candidate.device,
          seq: String(candidate.seq),
          acceptedDataHash: outcome.existing.dataHash,
          acceptedTimestamp: String(outcome.existing.timestamp),
        });
    }
  }
}
