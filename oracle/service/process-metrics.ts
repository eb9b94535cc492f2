/**
 * Process metrics and refusals of a service, through prom-client: its default process metrics (RSS,
 * CPU seconds, event-loop lag, GC, handles — what a soak run reads) and a count of every refused
 * request by error code, each refusal also logged (a refusal nobody sees cannot be told from an outage).
 *
 * @module
 */
import type { RequestHandler } from "express";
import { collectDefaultMetrics, Counter, Registry } from "prom-client";

import type { Logger } from "./logger.js";

/** A service's prom-client registry with its process metrics and its refusals counter. */
export interface ProcessMetrics {
  registry: Registry;
  /** Refused requests (4xx/5xx answers with an error code), by code; on the platform also each refused item of a bulk. */
  refusals: Counter<"code">;
  /** Quota checks answered in memory because the shared quota store (PostgreSQL) failed or did not answer in time, by limiter. */
  quotaFallbacks: Counter<"limiter">;
  /** The registry in the Prometheus text format. */
  text(): Promise<string>;
}

/**
 * Metrics named `sensorseal_<service>_…`: prom-client's default process metrics, `refusals_total{code}`
 * and `quota_store_fallbacks_total{limiter}`.
 *
 * @example
 * const metrics = processMetrics("platform");
 * metrics.refusals.inc({ code: "RATE_LIMITED" });
 * await metrics.text(); // "# HELP sensorseal_platform_process_resident_memory_bytes …"
 */
export function processMetrics(service: string): ProcessMetrics {
  const registry = new Registry();
  const prefix = `sensorseal_${service}_`;
  collectDefaultMetrics({ register: registry, prefix });
  const refusals = new Counter({
    name: `${prefix}refusals_total`,
    help: "Refusals by code: requests answered 4xx or 5xx with an error code (and, on the platform, each refused item of a bulk)",
    labelNames: ["code"] as const,
    registers: [registry],
  });
  const quotaFallbacks = new Counter({
    name: `${prefix}quota_store_fallbacks_total`,
    help: "Quota checks answered by the in-memory insurance because PostgreSQL failed or did not answer in time, by limiter",
    labelNames: ["limiter"] as const,
    registers: [registry],
  });
  return { registry, refusals, quotaFallbacks, text: () => registry.metrics() };
}

/**
 * Counts and logs every refused request (wraps `res.json`): mount it first, so refusals answered
 * before the router (load shedding, per-address budget, body parser) are seen too.
 *
 * @example app.use(refusalRecorder(metrics, logger));
 */
export function refusalRecorder(metrics: Pick<ProcessMetrics, "refusals">, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const json = res.json.bind(res);
    res.json = (body: unknown) => {
      const code = (body as { error?: { code?: unknown } } | undefined)?.error?.code;
      if (res.statusCode >= 400 && typeof code === "string") {
        metrics.refusals.inc({ code });
        logger.info({ code, status: res.statusCode, method: req.method, path: req.path, ip: req.ip }, "request refused");
      }
      return json(body);
    };
    next();
  };
}
