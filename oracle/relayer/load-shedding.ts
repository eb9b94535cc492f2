/**
 * Load shedding of reading submissions, before their body is read (the shared shedder of
 * oracle/service/load-shedding.ts: too many submissions at once, or an event loop so late that a new
 * one would only wait, get a cheap 429 OVERLOADED with Retry-After). Also counts every rejected submission by code,
 * including those the service kit answers before the router (bad JSON, oversize body, rate limit).
 *
 * @module
 */
import type { RequestHandler } from "express";

import { LoadShedder as ServiceLoadShedder } from "../service/load-shedding.js";
import type { RelayerMetrics } from "./metrics.js";
import type { RelayerLimits } from "./relayer-options.js";

export { EVENT_LOOP_WINDOW_MS } from "../service/load-shedding.js";

const isSubmission = (req: { method: string; path: string }) => req.method === "POST" && req.path === "/v1/readings";

/** The relayer's load shedder (oracle/service/load-shedding.ts): submissions in flight and event-loop lag. */
export class LoadShedder extends ServiceLoadShedder {
  constructor(limits: Pick<RelayerLimits, "maxConcurrentSubmissions" | "maxEventLoopLagMs">, metrics: RelayerMetrics) {
    super({
      maxInFlight: limits.maxConcurrentSubmissions,
      maxEventLoopLagMs: limits.maxEventLoopLagMs,
      isWork: isSubmission,
      limitName: "maxConcurrentSubmissions",
      message: "the relayer is overloaded; retry later",
      onShed: (reason) => metrics.requestsShed.inc({ reason }),
      onRequestsInFlight: (requests) => metrics.submissionsInFlight.set(requests),
    });
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
