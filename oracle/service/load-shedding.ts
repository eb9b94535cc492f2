/**
 * Load shedding shared by the services that check signatures (relayer, platform): a request that
 * would add work while too much is in flight, or while the event loop is so late that it would only
 * wait, gets a cheap 429 OVERLOADED with Retry-After before its body is read, which keeps the latency
 * of the admitted ones bounded.
 *
 * @module
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

import type { Request, RequestHandler } from "express";

import { ServiceError } from "./errors.js";

/** Window of the event-loop delay measure used for load shedding. */
export const EVENT_LOOP_WINDOW_MS = 500;
const LAG_SAMPLE_MS = 50;

/** Why a request is shed. */
export type ShedReason = "in_flight" | "event_loop_lag";

/** How a service sheds load. */
export interface LoadShedderOptions {
  /** Shed when the work in flight reaches this (0: never for this reason). */
  maxInFlight: number;
  /** Shed when the event loop is later than this, ms (0: not measured). */
  maxEventLoopLagMs: number;
  /** The requests that bring work (the others always pass and are not counted). */
  isWork: (req: Request) => boolean;
  /** The work in flight; by default the number of admitted requests not yet answered. */
  inFlight?: () => number;
  /** The name of `maxInFlight` in the error's details (e.g. `maxConcurrentSubmissions`). */
  limitName: string;
  /** The error's message, e.g. "the relayer is overloaded; retry later". */
  message: string;
  /** Told of each shed request (metrics). */
  onShed?: (reason: ShedReason) => void;
  /** Told of each change of the number of admitted requests in flight (metrics). */
  onRequestsInFlight?: (requests: number) => void;
}

/**
 * Measures event-loop lag and the requests in flight; `middleware()` sheds, `stop()` ends the measure.
 *
 * @example
 * const shedder = new LoadShedder({ maxInFlight: 64, maxEventLoopLagMs: 500, limitName: "maxConcurrentSubmissions",
 *   message: "the relayer is overloaded; retry later", isWork: (req) => req.method === "POST" });
 * app.use(shedder.middleware()); // before the body parser
 */
export class LoadShedder {
  readonly #options: LoadShedderOptions;
  /** Admitted requests being handled (from arrival, before the body is read, until the answer is sent). */
  #requests = 0;
  /** Event-loop delay over the last window (or a stall just seen), ms (0 when not measured). */
  #eventLoopLagMs = 0;
  #lagMonitor: ReturnType<typeof monitorEventLoopDelay> | undefined;
  #lagTimer: NodeJS.Timeout | undefined;

  constructor(options: LoadShedderOptions) {
    this.#options = options;
    if (options.maxEventLoopLagMs > 0) this.#startLagMonitor();
  }

  /** Admitted requests not yet answered. */
  get requestsInFlight(): number {
    return this.#requests;
  }

  #startLagMonitor(): void {
    const maxLagMs = this.#options.maxEventLoopLagMs;
    const lagMonitor = monitorEventLoopDelay({ resolution: 10 });
    this.#lagMonitor = lagMonitor;
    lagMonitor.enable();
    // Also this process's own lateness, sampled every LAG_SAMPLE_MS: a stall shows at once.
    let due = performance.now() + LAG_SAMPLE_MS;
    let worst = 0;
    let samples = 0;
    this.#lagTimer = setInterval(() => {
      const t = performance.now();
      worst = Math.max(worst, t - due);
      due = t + LAG_SAMPLE_MS;
      if (worst > maxLagMs) this.#eventLoopLagMs = Math.max(this.#eventLoopLagMs, worst);
      if (++samples * LAG_SAMPLE_MS < EVENT_LOOP_WINDOW_MS) return;
      this.#eventLoopLagMs = Math.max(worst, lagMonitor.count > 0 ? lagMonitor.percentile(99) / 1e6 : 0);
      lagMonitor.reset();
      worst = 0;
      samples = 0;
    }, LAG_SAMPLE_MS);
    this.#lagTimer.unref();
  }

  /** Stops measuring the event loop. */
  stop(): void {
    if (this.#lagTimer !== undefined) clearInterval(this.#lagTimer);
    this.#lagMonitor?.disable();
    this.#lagTimer = undefined;
    this.#lagMonitor = undefined;
  }

  /** Why a new request is shed now, if it is. */
  #shedReason(): ShedReason | undefined {
    const o = this.#options;
    const inFlight = o.inFlight?.() ?? this.#requests;
    if (o.maxInFlight > 0 && inFlight >= o.maxInFlight) return "in_flight";
    // A lone request is never shed for lag: the lag may be the service's own work (a batch being built).
    if (o.maxEventLoopLagMs > 0 && this.#requests > 0 && this.#eventLoopLagMs > o.maxEventLoopLagMs) return "event_loop_lag";
    return undefined;
  }

  /** Sheds a request that brings work (429 OVERLOADED, Retry-After: 1) or counts it in flight until answered. */
  middleware(): RequestHandler {
    const o = this.#options;
    return (req, res, next) => {
      if (!o.isWork(req)) return next();
      const reason = this.#shedReason();
      if (reason !== undefined) {
        o.onShed?.(reason);
        const error = new ServiceError("OVERLOADED", o.message, {
          reason,
          retryAfterSeconds: 1,
          ...(reason === "in_flight" ? { [o.limitName]: o.maxInFlight } : { eventLoopLagMs: Math.round(this.#eventLoopLagMs) }),
        });
        res.setHeader("Retry-After", "1");
        res.status(error.status).json(error.body());
        return;
      }
      this.#requests++;
      o.onRequestsInFlight?.(this.#requests);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.#requests--;
        o.onRequestsInFlight?.(this.#requests);
      };
      res.once("finish", finish);
      res.once("close", finish);
      next();
    };
  }
}
