/**
 * The relayer's HTTP routes: reading submissions, reading answers (receipt, proof), batches and their
 * manifests, `/v1/info` and `/metrics`. `/healthz`, `/readyz`, JSON errors and body limits come
 * from the service kit (oracle/service/app.ts).
 *
 * @module
 */
import express, { type RequestHandler, type Router } from "express";
import { getAddress, isAddress, type Address } from "viem";

import { handle, rateLimitMiddleware } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import { PROMETHEUS_CONTENT_TYPE } from "../service/metrics.js";
import { quotaOf, type Limiters } from "../service/limiter.js";
import { type BatchViews, isUintParam } from "./batch-views.js";
import type { RelayerMetrics } from "./metrics.js";
import type { RelayerLimits } from "./relayer-options.js";
import type { RelayerStore } from "./store.js";
import type { Submissions } from "./submissions.js";

/** What the routes answer from. */
export interface RelayerRoutesOptions {
  store: RelayerStore;
  metrics: RelayerMetrics;
  submissions: Submissions;
  views: BatchViews;
  limits: RelayerLimits;
  /** Where the per-address reading rate is kept (shared on PostgreSQL, oracle/service/limiter.ts). */
  limiters: Limiters;
  /** The body of GET /v1/info. */
  info: Record<string, unknown>;
  /** POST /v1/readings' handlers after the body parser ({@link submissionHandlers}; the fast route runs them too). */
  submit: readonly RequestHandler[];
}

/** The router of every relayer route. */
export function relayerRouter(o: RelayerRoutesOptions): Router {
  const router = express.Router();
  readingRoutes(router, o);
  batchRoutes(router, o);
  router.get("/v1/info", (_req, res) => {
    res.json(o.info);
  });
  router.get(
    "/metrics",
    handle(async (_req, res) => {
      o.metrics.queueDepth.set(o.store.queueDepth);
      for (const [status, n] of Object.entries(await o.store.batchCounts())) o.metrics.batches.set(n, { status });
      res.setHeader("Content-Type", PROMETHEUS_CONTENT_TYPE);
      res.send(`${o.metrics.registry.render()}${await o.metrics.process.text()}`);
    }),
  );
  return router;
}

/**
 * POST /v1/readings after its body is read: the per-address reading rate, if set, then the
 * submission. Made once per relayer: the express route and the fast route (oracle/service/fast-route.ts)
 * share these handlers, and so their limits.
 */
export function submissionHandlers({
  limits,
  limiters,
  submissions,
}: Pick<RelayerRoutesOptions, "limits" | "limiters" | "submissions">): RequestHandler[] {
  const perClient = limits.readingRate
    ? [
        rateLimitMiddleware(
          limiters.limiter("readings", quotaOf(limits.readingRate)),
          (req) => req.ip ?? "unknown",
          // A bulk request costs its readings (capped: an oversize array is refused anyway).
          (req) => (Array.isArray(req.body) ? Math.max(1, Math.min(req.body.length, limits.maxBulk)) : 1),
        ),
      ]
    : [];
  return [...perClient, handle((req, res) => submissions.handle(req, res))];
}

function readingRoutes(router: Router, { submit, store, views }: RelayerRoutesOptions): void {
  router.post("/v1/readings", ...submit);

  router.get(
    "/v1/readings/:device/:seq",
    handle(async (req, res) => {
      const { device, seq } = req.params as { device: string; seq: string };
      if (!isAddress(device, { strict: false })) throw new ServiceError("INVALID_PARAMETER", "device must be an address");
      if (!isUintParam(seq)) throw new ServiceError("INVALID_PARAMETER", "seq must be a positive decimal integer");
      const row = await store.reading(getAddress(device) as Address, Number(seq));
      if (row === undefined) throw new ServiceError("READING_NOT_FOUND", "no accepted reading for this device and seq");
      res.json(await views.readingAnswer(row));
    }),
  );
}

function batchRoutes(router: Router, { store, views }: RelayerRoutesOptions): void {
  router.get(
    "/v1/batches/:id",
    handle(async (req, res) => {
      const batch = await views.batchFromParam(String(req.params.id));
      res.json(await views.batchAnswer(batch));
    }),
  );

  router.get(
    "/v1/batches/:id/manifest",
    handle(async (req, res) => {
      const batch = await views.batchFromParam(String(req.params.id));
      const bytes = await store.manifest(batch.id);
      if (bytes === undefined) throw new ServiceError("BATCH_NOT_FOUND", "no such batch");
      res.status(200).setHeader("Content-Type", "application/json").setHeader("ETag", `"${batch.manifestHash}"`);
      res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }),
  );
}
