/**
 * Load shedding of reading submissions, before their body is read: too many submissions at once, or
 * an event loop so late that a new one would only wait, get a cheap 429 OVERLOADED with Retry-After,
 * which keeps the latency of the admitted ones bounded. Also counts every rejected submission by code,
 * including those the service kit answers before the router (bad JSON, oversize body, rate limit).
 *
 * @module
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

import type { RequestHandler } from "express";

import { RejectionError } from "./errors.js";
import type { RelayerMetrics } from "./metrics.js";
import type { RelayerLimits } from "./relayer-options.js";

/** Window of the event-loop delay measure used for load shedding. */
export const EVENT_LOOP_WINDOW_MS = 500;
const LAG_SAMPLE_MS = 50;

const isSubmission = (req: { method: string; path: string }) => req.method === "POST" && req.path === "/v1/readings";

/** Measures event-loop lag and submissions in flight; `middleware()` sheds, `stop()` ends the measure. */
export class LoadShedder {
  readonly #limits: Pick<RelayerLimits, "maxConcurrentSubmissions" | "maxEventLoopLagMs">;
  readonly #metrics: RelayerMetrics;
  /** Submissions being handled (from arrival, before the body is read, until the answer is sent). */
  #submissions = 0;
  /** Event-loop delay over the last window (or a stall just seen), ms (0 when not measured). */
  #eventLoopLagMs = 0;
  #lagMonitor: ReturnType<typeof monitorEventLoopDelay> | undefined;
  #lagTimer: NodeJS.Timeout | undefined;

  constructor(limits: Pick<RelayerLimits, "maxConcurrentSubmissions" | "maxEventLoopLagMs">, metrics: RelayerMetrics) {
    this.#limits = limits;
    this.#metrics = metrics;
    if (limits.maxEventLoopLagMs > 0) this.#startLagMonitor();
  }

  #startLagMonitor(): void {
    const limits = this.#limits;
    const lagMonitor = monitorEventLoopDelay({ resolution: 10 });
    this.#lagMonitor = lagMonitor;
    lagMonitor.enable();
    // Also this process's own lateness, sampled every LAG_SAMPLE_MS: a stall shows at once.
    let due = performance.now() + LAG_SAMPLE_MS;
    let worst = 0;
    let samples = 0;
    this.#lagTimer = setInterval(() => {
      const monitor = lagMonitor;
      const t = performance.now();
      worst = Math.max(worst, t - due);
      due = t + LAG_SAMPLE_MS;
      if (worst > limits.maxEventLoopLagMs) this.#eventLoopLagMs = Math.max(this.#eventLoopLagMs, worst);
      if (++samples * LAG_SAMPLE_MS < EVENT_LOOP_WINDOW_MS) return;
      this.#eventLoopLagMs = Math.max(worst, monitor.count > 0 ? monitor.percentile(99) / 1e6 : 0);
      monitor.reset();
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

  /** Why a new submission is shed now, if it is. */
  #shedReason(): "in_flight" | "event_loop_lag" | undefined {
    const limits = this.#limits;
    if (limits.maxConcurrentSubmissions > 0 && this.#submissions >= limits.maxConcurrentSubmissions) return "in_flight";
    // A lone submission is never shed for lag: the lag may be the relayer's own batch building.
    if (limits.maxEventLoopLagMs > 0 && this.#submissions > 0 && this.#eventLoopLagMs > limits.maxEventLoopLagMs) return "event_loop_lag";
    return undefined;
  }

  /** Sheds a submission (429 OVERLOADED) or counts it in flight until its answer is sent. */
  middleware(): RequestHandler {
    const metrics = this.#metrics;
    return (req, res, next) => {
      if (!isSubmission(req)) return next();
      const reason = this.#shedReason();
      if (reason !== undefined) {
        metrics.requestsShed.inc({ reason });
        const error = new RejectionError("OVERLOADED", "the relayer is overloaded; retry later", {
          reason,
          retryAfterSeconds: 1,
          ...(reason === "in_flight"
            ? { maxConcurrentSubmissions: this.#limits.maxConcurrentSubmissions }
            : { eventLoopLagMs: Math.round(this.#eventLoopLagMs) }),
        });
        res.setHeader("Retry-After", "1");
        res.status(error.status).json(error.body());
        return;
      }
      this.#submissions++;
      metrics.submissionsInFlight.set(this.#submissions);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        this.#submissions--;
        metrics.submissionsInFlight.set(this.#submissions);
      };
      res.once("finish", finish);
      res.once("close", finish);
      next();
    };
  }
}

/** Counts every rejected submission by its error code (wraps `res.json` of POST /v1/readings). */
export function countRejections(metrics: RelayerMetrics): RequestHandler {
  return (req, res, next) => {
    if (isSubmission(req)) {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        const code = (body as { error?: { code?: unknown } })?.error?.code;
        if (res.statusCode >= 400 && typeof code === "string") metrics.readingsRejected.inc({ code });
        return json(body);
      };
    }
    next();
  };
}
