/**
 * The raw-data platform service: its factory wires load shedding (oracle/service/load-shedding.ts),
 * the reading intake (submit-route.ts: charged to the client address before the check by
 * signature-budget.ts, checked by ingest.ts, charged to quota.ts), the read routes (read-routes.ts), request tracking and draining
 * (requests.ts) and the store.
 *
 * @module
 */
import express, { type Express, type Router } from "express";

import { createServiceApp } from "../service/app.js";
import { inheritFastRoute } from "../service/fast-route.js";
import { ConfigError } from "../service/errors.js";
import { GroupCommit } from "../service/group-commit.js";
import { Limiters } from "../service/limiter.js";
import { LoadShedder } from "../service/load-shedding.js";
import type { Logger } from "../service/logger.js";
import { processMetrics, refusalRecorder, type ProcessMetrics } from "../service/process-metrics.js";
import { servicePool } from "../service/signature-pool.js";
import { mountMarket } from "./access-market.js";
import { ApiKeyring } from "./auth.js";
import { ReadingVerifier } from "./ingest.js";
import { DEFAULT_PLATFORM_LIMITS, type PlatformLimits, type PlatformOptions } from "./platform-options.js";
import { DeviceQuota } from "./quota.js";
import { readRoutes } from "./read-routes.js";
import { RequestTracker } from "./requests.js";
import { SignatureBudget } from "../service/signature-budget.js";
import { PlatformStore, type StoredReading } from "./store.js";
import { submitRoute } from "./submit-route.js";

export { DEFAULT_PLATFORM_LIMITS, type PlatformLimits, type PlatformOptions } from "./platform-options.js";
export { readingResponse, type ReadingResponse } from "./read-routes.js";
export type { BulkItemResult } from "./submit-route.js";

/** A running platform. */
export interface Platform {
  /** The whole service (createServiceApp): give it to `listen(app, port)`. */
  app: Express;
  /** The platform's own routes. */
  router: Router;
  store: PlatformStore;
  limits: PlatformLimits;
  /** Stops taking work (`/readyz` → 503), waits for in-flight requests, closes the store. */
  close(): Promise<void>;
}

/**
 * The raw-data platform: accepts validly signed readings of active devices, stores payloads
 * verbatim, serves them byte for byte to API-key holders with the `consumer` or `admin` role.
 *
 * Routes: `POST /v1/readings` (one `{ payload, signature }` or an array of them),
 * `GET /v1/devices/:device/readings?from=&to=&afterSeq=&limit=`, `GET /v1/devices/:device/readings/:seq`,
 * `GET /v1/devices/:device/readings/:seq/payload` (the raw bytes), `GET /v1/devices/:device/equivocations`,
 * `POST /v1/readings/lookup` (listed (device, seq) pairs and their equivocations, API keys only),
 * `GET /v1/stats` (admin), plus `/healthz` and `/readyz`.
 *
 * @example
 * const platform = await createPlatform({ store: await openDatabase(":memory:"), registry,
 *   domain: { chainId: 31337, anchor }, apiKeys: [], logger: createLogger("platform", "silent") });
 * const server = await listen(platform.app, 0);
 * // … later: stop taking connections, then drain and close the store
 * await server.close(); await platform.close();
 */
export async function createPlatform(options: PlatformOptions): Promise<Platform> {
  const limits: PlatformLimits = { ...DEFAULT_PLATFORM_LIMITS, ...options.limits };
  if ((options.trustProxy as unknown) === true) {
    throw new ConfigError("Invalid platform options", ["trustProxy: true is refused (any client could spoof X-Forwarded-For)"]);
  }
  const { logger } = options;
  const now = options.now ?? Date.now;
  const store = await PlatformStore.open(options.store);
  const keyring = options.apiKeys instanceof ApiKeyring ? options.apiKeys : new ApiKeyring(options.apiKeys);
  const signatures = servicePool(options.signatureThreads);
  const verifier = new ReadingVerifier({
    signatures: signatures.pool,
    domain: options.domain,
    registry: options.registry,
    maxPayloadBytes: limits.maxPayloadBytes,
    maxClockSkewSeconds: limits.maxClockSkewSeconds,
    registryResyncMs: limits.registryResyncMs,
    now,
  });
  // Quotas in memory on SQLite; in the store on PostgreSQL, so several platform instances share them.
  const metrics = processMetrics("platform");
  const limiters = await Limiters.open("platform", options.store, logger, {
    storeTimeoutMs: limits.quotaStoreTimeoutMs,
    fallbacks: metrics.quotaFallbacks,
  });
  const quota = new DeviceQuota({ readingsPerMinute: limits.deviceReadingsPerMinute, burst: limits.deviceBurst, limiters });

  // Draining: requests in flight finish, new ones are refused, then the store closes.
  const requests = new RequestTracker(logger);
  const tracked = requests.middleware();
  const router = express.Router().use(tracked);
  const budget = new SignatureBudget(limits, limiters);
  const writer = new GroupCommit((readings: StoredReading[], committed) => store.putReadings(readings, committed));
  const submit = submitRoute(router, { store, writer, verifier, quota, budget, maxBulkItems: limits.maxBulkItems, metrics, logger, now });
  const wrapReaders = await mountMarket(router, {
    db: options.store,
    keyring,
    registry: options.registry,
    store,
    market: options.market,
    now,
  });
  readRoutes(router, { store, keyring, limits, wrapReaders });

  const service = createServiceApp({
    name: "platform",
    logger,
    router,
    bodyLimit: limits.bodyLimit,
    rateLimit: { ratePerSecond: limits.ipRatePerSecond, burst: limits.ipBurst },
    limiters,
    // Carrier NAT: reading submissions are charged per address only for what is refused (the signature
    // budget) and per device for what is stored (the device quota), never per address when honest.
    rateLimitExempt: (req) => req.method === "POST" && req.path === "/v1/readings",
    ready: async () => !requests.draining && (await store.ping()),
    fastRoute: { path: "/v1/readings", handlers: [tracked, submit] },
  });
  const shedder = new LoadShedder({
    maxInFlight: limits.maxReadingChecksInFlight,
    maxEventLoopLagMs: limits.maxEventLoopLagMs,
    isWork: (req) => req.method === "POST" && req.path === "/v1/readings",
    inFlight: () => budget.checksInFlight,
    limitName: "maxReadingChecksInFlight",
    message: "the platform is overloaded; retry later",
  });
  const app = outerApp(service, { shedder, budget, metrics, logger, trustProxy: options.trustProxy });

  let closing: Promise<void> | undefined;
  return {
    app,
    router,
    store,
    limits,
    close() {
      closing ??= (async () => {
        await requests.drain(limits.shutdownTimeoutMs);
        await writer.idle();
        shedder.stop();
        await signatures.close();
        await limiters.close();
        await store.close();
        logger.info("platform closed");
      })();
      return closing;
    },
  };
}

/**
 * The outer app, in front of the body parser: `trust proxy`, every refusal counted and logged,
 * `/metrics` (process metrics and refusals by code), load shedding (429 OVERLOADED), then the
 * per-address check budget (429 RATE_LIMITED once spent), then the service.
 */
function outerApp(
  service: Express,
  o: { shedder: LoadShedder; budget: SignatureBudget; metrics: ProcessMetrics; logger: Logger; trustProxy: PlatformOptions["trustProxy"] },
): Express {
  const app = express();
  app.disable("x-powered-by");
  if (o.trustProxy !== undefined) app.set("trust proxy", o.trustProxy);
  const recorder = refusalRecorder(o.metrics, o.logger);
  app.use(recorder);
  app.get("/metrics", (_req, res, next) => {
    o.metrics
      .text()
      .then((text) => res.setHeader("Content-Type", o.metrics.registry.contentType).send(text))
      .catch(next);
  });
  const before = [o.shedder.middleware(), o.budget.middleware((req) => req.ip ?? req.socket.remoteAddress ?? "unknown")];
  for (const handler of before) app.use(handler);
  app.use(service);
  inheritFastRoute(app, service, [recorder, ...before]);
  return app;
}
