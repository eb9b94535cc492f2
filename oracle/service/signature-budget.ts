/**
 * Charge before check (platform and relayer): the signature-check work one client address can cause is bounded. Each reading
 * costs one token of its client address's bucket *before* it is checked; a reading that verifies gets
 * its token back, a refused one keeps it spent. Honest devices behind one carrier address therefore
 * never run the bucket down (each holds a token only while its own reading is checked), while a
 * client sending bad signatures gets `readingChecksPerSecond` checks a second after its burst, then
 * 429 RATE_LIMITED with Retry-After — for every reading of a bulk request, not once per request.
 *
 * @module
 */
import type { Request, RequestHandler } from "express";

import { ServiceError } from "./errors.js";
import { RateLimiter } from "./rate-limit.js";

/** Sizes of the per-address check budget; a rate of 0 turns charging off. */
export interface SignatureBudgetLimits {
  /** Refused readings an address may cost per second, after its burst (bucket refill; 0: no charge). */
  readingChecksPerSecond: number;
  /** Readings an address may have checked before any refund (bucket capacity). */
  readingCheckBurst: number;
}

/** One item's outcome of {@link SignatureBudget.checkEach}. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The per-address check budget, and the signature checks in flight on the whole platform. */
export class SignatureBudget {
  readonly #bucket: RateLimiter | undefined;
  readonly #now: () => number;
  #checksInFlight = 0;

  constructor(limits: SignatureBudgetLimits, now: () => number) {
    this.#bucket =
      limits.readingChecksPerSecond > 0
        ? new RateLimiter({ ratePerSecond: limits.readingChecksPerSecond, burst: limits.readingCheckBurst })
        : undefined;
    this.#now = now;
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
        const wave: number[] = [];
        const later: number[] = [];
        let lastWait = 0;
        for (const i of waiting) {
          const wait = bucket?.take(client, 1, this.#now()) ?? 0;
          if (wait === 0) wave.push(i);
          else {
            later.push(i);
            lastWait = wait;
          }
        }
        if (wave.length === 0) {
          for (const i of later) results[i] = { ok: false, error: rateLimited(lastWait) };
          this.#checksInFlight -= later.length;
          waiting = [];
          break;
        }
        await Promise.all(
          wave.map(async (i) => {
            try {
              results[i] = { ok: true, value: await check(items[i] as I) };
              bucket?.refund(client, 1, this.#now());
            } catch (error) {
              if (error instanceof ServiceError && error.status >= 500) bucket?.refund(client, 1, this.#now());
              results[i] = { ok: false, error };
            }
          }),
        );
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
      const wait = bucket.peek(client(req), 1, this.#now());
      if (wait === 0) return next();
      const error = rateLimited(wait);
      res.setHeader("Retry-After", String(wait));
      res.status(error.status).json(error.body());
    };
  }
}

function rateLimited(wait: number): ServiceError {
  return new ServiceError("RATE_LIMITED", "this address sent too many readings that were refused; retry later", {
    retryAfterSeconds: wait,
  });
}
