/**
 * The raw-data platform service: its factory wires the reading intake (submit-route.ts, checked by
 * ingest.ts, charged to quota.ts), the read routes (read-routes.ts), request tracking and draining
 * (requests.ts) and the store.
 *
 * @module
 */
import express, { type Express, type Router } from "express";

import { createServiceApp } from "../service/app.js";
import { ApiKeyring } from "./auth.js";
import { ReadingVerifier } from "./ingest.js";
import { DEFAULT_PLATFORM_LIMITS, type PlatformLimits, type PlatformOptions } from "./platform-options.js";
import { DeviceQuota } from "./quota.js";
import { readRoutes } from "./read-routes.js";
import { RequestTracker } from "./requests.js";
import { PlatformStore } from "./store.js";
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
  const { logger } = options;
  const now = options.now ?? Date.now;
  const store = await PlatformStore.open(options.store);
  const keyring = options.apiKeys instanceof ApiKeyring ? options.apiKeys : new ApiKeyring(options.apiKeys);
  const verifier = new ReadingVerifier({
    domain: options.domain,
    registry: options.registry,
    maxPayloadBytes: limits.maxPayloadBytes,
    maxClockSkewSeconds: limits.maxClockSkewSeconds,
    registryResyncMs: limits.registryResyncMs,
    now,
  });
  const quota = new DeviceQuota({ readingsPerMinute: limits.deviceReadingsPerMinute, burst: limits.deviceBurst, now });

  // Draining: requests in flight finish, new ones are refused, then the store closes.
  const requests = new RequestTracker(logger);
  const router = express.Router();
  router.use(requests.middleware());
  submitRoute(router, { store, verifier, quota, maxBulkItems: limits.maxBulkItems, logger, now });
  readRoutes(router, { store, keyring, limits });

  const app = createServiceApp({
    name: "platform",
    logger,
    router,
    bodyLimit: limits.bodyLimit,
    rateLimit: { ratePerSecond: limits.ipRatePerSecond, burst: limits.ipBurst },
    ready: async () => !requests.draining && (await store.ping()),
  });
  if (options.trustProxy !== undefined) app.set("trust proxy", options.trustProxy);

  let closing: Promise<void> | undefined;
  return {
    app,
    router,
    store,
    limits,
    close() {
      closing ??= (async () => {
        await requests.drain(limits.shutdownTimeoutMs);
        await store.close();
        logger.info("platform closed");
      })();
      return closing;
    },
  };
}
