/**
 * Charge before check (platform and relayer): the signature-check work one client address can cause is bounded. Each reading
 * costs one token of its client address's bucket *before* it is checked; a reading that verifies gets
 * its token back, a refused one keeps it spent. Honest devices behind one carrier address therefore
 * never run the bucket down (each holds a token only while its own reading is checked), while a
 * client sending bad signatures gets `readingCheckBurst` checks per window of
 * `readingCheckBurst / readingChecksPerSecond` seconds, then 429 RATE_LIMITED with Retry-After (the
 * rest of the window) — for every reading of a bulk request, not once per request. The budget lives
 * where oracle/service/limiter.ts keeps quotas: shared by every instance on PostgreSQL.
 *
 * @module
 */
import type { Request, RequestHandler } from "express";

import { ServiceError } from "./errors.js";
import { quotaOf, retryAfterSeconds, type Limiter, type Limiters } from "./limiter.js";

/** Sizes of the per-address check budget; a rate of 0 turns charging off. */
export interface SignatureBudgetLimits {
  /** Refused readings an address may cost per second in the long run (window = burst / rate; 0: no charge). */
  readingChecksPerSecond: number;
  /** Readings an address may have checked before any refund (the points of its window). */
  readingCheckBurst: number;
}

/** One item's outcome of {@link SignatureBudget.checkEach}. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The per-address check budget, and the signature checks in flight on the whole platform. */
export class SignatureBudget {
  readonly #bucket: Limiter | undefined;
  #checksInFlight = 0;

  /** `limiters`: where the budget is kept (shared across instances on PostgreSQL, oracle/service/limiter.ts). */
  constructor(limits: SignatureBudgetLimits, limiters: Limiters) {
    this.#bucket =
      limits.readingChecksPerSecond > 0
        ? limiters.limiter("checks", quotaOf({ ratePerSecond: limits.readingChecksPerSecond, burst: limits.readingCheckBurst }))
        : undefined;
  }

  /** Readings of admitted requests waiting for or in their check, all addresses together (what the platform's load shedder watches). */
  get checksInFlight(): number {
    return this.#checksInFlight;
  }

  /**
   * Checks `items` at `client`'s expense. Each takes a token first (none left: that item is refused
   * with 429 RATE_LIMITED, its check not run), then runs `check`; the token is given back unless the
   * item was refused for something the client sent (a 4xx). A fault of the service's own (5xx) costs
   * the client nothing. The items holding a token are checked together (the signature pool runs them
   * on its worker threads); items that found no token try again once those refunds are in, so an
   * honest bulk larger than the burst is not refused. Answers each item's value or error, in order.
   */
  async checkEach<I, T>(client: string, items: readonly I[], check: (item: I) => Promise<T>): Promise<Checked<T>[]> {
    const bucket = this.#bucket;
    const results = new Array<Checked<T>>(items.length);
    let waiting = items.map((_, i) => i);
    this.#checksInFlight += items.length;
    try {
      while (waiting.length > 0) {
        // One take for the whole wave: the first items get what is left, in order.
        const { granted, retryAfterMs } = bucket ? await bucket.take(client, waiting.length) : { granted: waiting.length, retryAfterMs: 0 };
        const wave = waiting.slice(0, granted);
        const later = waiting.slice(granted);
        if (wave.length === 0) {
          for (const i of later) results[i] = { ok: false, error: rateLimited(retryAfterSeconds(retryAfterMs)) };
          this.#checksInFlight -= later.length;
          waiting = [];
          break;
        }
        let refunds = 0;
        await Promise.all(
          wave.map(async (i) => {
            try {
              results[i] = { ok: true, value: await check(items[i] as I) };
              refunds++;
            } catch (error) {
              if (error instanceof ServiceError && error.status >= 500) refunds++;
              results[i] = { ok: false, error };
            }
          }),
        );
        // One refund for the wave (one store write on PostgreSQL).
        await bucket?.refund(client, refunds);
        // A request's readings count as in flight until its whole wave is checked (what load shedding watches).
        this.#checksInFlight -= wave.length;
        waiting = later;
      }
    } finally {
      this.#checksInFlight -= waiting.length;
    }
    return results;
  }

  /**
   * Refuses a submission before its body is read when its address has no token left (cheap 429
   * RATE_LIMITED with Retry-After), so an address that spent its budget cannot even make the
   * service parse megabytes of readings it would refuse.
   */
  middleware(client: (req: Request) => string): RequestHandler {
    return (req, res, next) => {
      const bucket = this.#bucket;
      if (bucket === undefined || req.method !== "POST" || req.path !== "/v1/readings") return next();
      bucket.peek(client(req)).then(({ allowed, retryAfterMs }) => {
        if (allowed) return next();
        const wait = retryAfterSeconds(retryAfterMs);
        const error = rateLimited(wait);
        res.setHeader("Retry-After", String(wait));
        res.status(error.status).json(error.body());
      }, next);
    };
  }
}

function rateLimited(wait: number): ServiceError {
  return new ServiceError("RATE_LIMITED", "this address sent too many readings that were refused; retry later", {
    retryAfterSeconds: wait,
  });
}
