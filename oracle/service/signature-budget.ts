/**
 * The signature-check work one client address can cause is bounded (platform and relayer), while
 * honest readings from one address — a gateway, many devices behind one carrier NAT — are never
 * charged to it:
 *
 * - each reading *refused* for what the client sent (bad signature, unknown device: a 4xx) costs
 *   one point of its address's window, `readingCheckBurst` points per `readingCheckBurst /
 *   readingChecksPerSecond` seconds; a window spent answers 429 RATE_LIMITED with Retry-After (the
 *   rest of the window) for every reading of a bulk request, before any check;
 * - an address never has more readings in their checks in one process than its window has points
 *   left, so its refusals can never overrun the window there. Readings over that wait for the
 *   address's checks in flight to end (honest ones give their room back), they are not refused.
 *
 * The windows live where oracle/service/limiter.ts keeps quotas: shared by every instance on
 * PostgreSQL. The room in flight is each process's own, so with k instances an address can overrun
 * its window by at most (k − 1) × burst refused checks.
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
  /** Refused readings an address may cost per window (the points of its window). */
  readingCheckBurst: number;
}

/** One item's outcome of {@link SignatureBudget.checkEach}. */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The per-address check budget, and the signature checks in flight on the whole service. */
export class SignatureBudget {
  readonly #window: Limiter | undefined;
  #checksInFlight = 0;
  /** Per address: readings in their checks in this process, and the submissions waiting for room. */
  readonly #inCheck = new Map<string, { readings: number; waiters: Array<() => void> }>();

  /** `limiters`: where the windows are kept (shared across instances on PostgreSQL, oracle/service/limiter.ts). */
  constructor(limits: SignatureBudgetLimits, limiters: Limiters) {
    this.#window =
      limits.readingChecksPerSecond > 0
        ? limiters.limiter("checks", quotaOf({ ratePerSecond: limits.readingChecksPerSecond, burst: limits.readingCheckBurst }))
        : undefined;
  }

  /** Readings of admitted requests waiting for or in their check, all addresses together (what the load shedder watches). */
  get checksInFlight(): number {
    return this.#checksInFlight;
  }

  /**
   * Checks `items` at `client`'s expense, in waves no larger than the points its window has left
   * minus its readings already in their checks here (none left and none in check: the rest are
   * refused with 429 RATE_LIMITED, unchecked; none left but some in check: wait for them). An item
   * refused for something the client sent (a 4xx) costs a point; an authentic one, or a fault of
   * the service's own (5xx), costs nothing. Answers each item's value or error, in order.
   */
  async checkEach<I, T>(client: string, items: readonly I[], check: (item: I) => Promise<T>): Promise<Checked<T>[]> {
    const window = this.#window;
    const results = new Array<Checked<T>>(items.length);
    let waiting = items.map((_, i) => i);
    this.#checksInFlight += items.length;
    try {
      while (waiting.length > 0) {
        const inCheck = this.#inCheck.get(client)?.readings ?? 0;
        const left = window ? await window.remaining(client) : { points: waiting.length + inCheck, retryAfterMs: 0 };
        const room = left.points - inCheck;
        if (room <= 0 && inCheck > 0) {
          await this.#roomMade(client); // this address's checks in flight will end: wait for them
          continue;
        }
        if (room <= 0) {
          const error = rateLimited(retryAfterSeconds(left.retryAfterMs));
          for (const i of waiting) results[i] = { ok: false, error };
          break;
        }
        const wave = waiting.slice(0, room);
        waiting = waiting.slice(room);
        this.#enter(client, wave.length);
        try {
          let refused = 0;
          await Promise.all(
            wave.map(async (i) => {
              try {
                results[i] = { ok: true, value: await check(items[i] as I) };
              } catch (error) {
                if (!(error instanceof ServiceError && error.status >= 500)) refused++;
                results[i] = { ok: false, error };
              }
            }),
          );
          // One charge for the wave's refusals (one store write on PostgreSQL).
          if (refused > 0) await window?.take(client, refused);
        } finally {
          this.#leave(client, wave.length);
          // A request's readings count as in flight until its whole wave is checked (what load shedding watches).
          this.#checksInFlight -= wave.length;
        }
      }
    } finally {
      this.#checksInFlight -= waiting.length;
    }
    return results;
  }

  #enter(client: string, readings: number): void {
    const entry = this.#inCheck.get(client);
    if (entry === undefined) this.#inCheck.set(client, { readings, waiters: [] });
    else entry.readings += readings;
  }

  #leave(client: string, readings: number): void {
    const entry = this.#inCheck.get(client);
    if (entry === undefined) return;
    entry.readings -= readings;
    const waiters = entry.waiters.splice(0);
    if (entry.readings <= 0) this.#inCheck.delete(client);
    for (const wake of waiters) wake();
  }

  /** Resolves when a wave of `client`'s checks in this process ends. */
  #roomMade(client: string): Promise<void> {
    const entry = this.#inCheck.get(client);
    if (entry === undefined) return Promise.resolve();
    return new Promise((resolve) => entry.waiters.push(resolve));
  }

  /**
   * Refuses a submission before its body is read when its address's window is spent (cheap 429
   * RATE_LIMITED with Retry-After), so an address whose readings were refused cannot even make the
   * service parse megabytes of readings it would refuse.
   */
  middleware(client: (req: Request) => string): RequestHandler {
    return (req, res, next) => {
      const window = this.#window;
      if (window === undefined || req.method !== "POST" || req.path !== "/v1/readings") return next();
      window.peek(client(req)).then(({ allowed, retryAfterMs }) => {
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
