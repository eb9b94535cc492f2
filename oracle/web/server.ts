/**
 * The web service: the dashboard and the claim page (static files and esbuild bundles, no CDN) and
 * a small JSON API that aggregates the other services for them.
 *
 * Public (chain data, anonymous): `GET /` (dashboard), `GET /claim` (claim page), `/assets/*.js`,
 * `/style.css`, `GET /api/config`, `GET /api/devices` (registry status), `GET /api/batches`,
 * `GET /api/rewards`, `GET /api/claims/:account` (the oracle's claim proof, passed through),
 * `/healthz`, `/readyz`.
 *
 * Raw data, signed-in consumers only (else 401 UNAUTHORIZED): `GET /api/devices/:device/readings?from=&to=`
 * (values) and `GET /api/readings/:device/:seq/bundle` (payload, salt included, in a proof bundle).
 * The service holds no platform key: a consumer signs in with their own platform consumer API key
 * (`POST /api/session`, checked against the platform; `DELETE /api/session` signs out; `GET
 * /api/session`), gets an HttpOnly SameSite=Strict session cookie, and raw data is fetched with
 * that consumer's key, so the platform's quotas, scopes and revocation apply to them. Sign-in and
 * sign-out refuse cross-origin requests (./session.ts).
 *
 * Nothing the API answers is trusted by the pages for verification: the dashboard's "verify" button
 * rechecks a reading's bundle in the browser against the audit chain's RPC, and the claim page's
 * claim is checked by the distributor. A service that is not configured answers 503
 * `NOT_CONFIGURED`, one that does not answer 503 `SERVICE_UNAVAILABLE` (`details.service`), and
 * the pages show it.
 *
 * Parts: ./upstream.ts (audit chain, verifier, reward chain, other services), ./routes/* (one file per
 * concern: config, devices and readings, batches and bundles, rewards and claims), ./assets.ts.
 *
 * @module
 */
import express from "express";
import type { Address } from "viem";

import { createServiceApp } from "../service/app.js";
import type { Logger } from "../service/logger.js";
import { buildAssets, type Asset } from "./assets.js";
import { auditorRoutes } from "./routes/auditor.js";
import { batchRoutes } from "./routes/batches.js";
import { configRoutes } from "./routes/config.js";
import { deviceRoutes } from "./routes/devices.js";
import { marketRoutes } from "./routes/market.js";
import { rewardRoutes } from "./routes/rewards.js";
import { sessionRoutes } from "./routes/session.js";
import type { SessionOptions } from "./session.js";
import { createUpstreams } from "./upstream.js";

export { payloadValues } from "./routes/devices.js";
export { ledgerRows } from "./routes/rewards.js";

/** Options of {@link createWebServer}. */
export interface WebServerOptions {
  logger: Logger;
  /** The audit chain: RPC for the server, public RPC for the browser (default the same). */
  audit?: {
    rpcUrl: string;
    publicRpcUrl?: string;
    expectedChainId?: number;
    /** With `registry`; else the deployment record `data/deployments/audit-<chainId>.json`. */
    anchor?: Address;
    registry?: Address;
    deployBlock?: number;
    registryPollMs?: number;
  };
  /** The data platform (raw data is read with each signed-in consumer's own key; the service has none). */
  platform?: { url: string };
  /** Session lifetimes (./session.ts). */
  session?: SessionOptions;
  /**
   * The dashboard's public origin (`https://dashboard.example`) that sign-in's `Origin` must equal;
   * default: the origin each request reached (protocol and Host). Set it behind a proxy.
   */
  publicOrigin?: string;
  relayer?: { url: string };
  /** The agency's auditor API (alert banner, map); read with each signed-in consumer's key. */
  auditor?: { url: string };
  /** The oracle committee's HTTP API (claims, ledger). */
  oracle?: { url: string };
  reward?: { rpcUrl: string; publicRpcUrl?: string; chainId: number; distributor: Address; token?: Address };
  /** The reward chain's DataMarket: the market page (./routes/market.ts; needs `reward`). */
  market?: { address: Address };
  /** Prebuilt assets (default: built now). */
  assets?: Map<string, Asset>;
  /** Timeout of each call to another service. */
  upstreamTimeoutMs?: number;
  /** Most readings one chart request answers. */
  maxReadings?: number;
}

/** A running web service's parts. */
export interface WebServer {
  app: express.Express;
  /** Stops following the registry and closes the verifier. */
  stop(): Promise<void>;
}

/** Serves the pages' static files and bundles (everything outside /api/). */
function assetRoute(router: express.Router, assets: Map<string, Asset>): void {
  router.get(/^\/(?!api\/).*/, (req, res, next) => {
    const asset = assets.get(req.path);
    if (asset === undefined) return next();
    res.setHeader("Content-Type", asset.contentType);
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.end(asset.body);
  });
}

/**
 * Builds the web service (call `listen(app, port)` to serve it).
 *
 * @example
 * const web = await createWebServer({ logger, audit: { rpcUrl: "http://127.0.0.1:8545" },
 *   platform: { url: "http://127.0.0.1:8080" }, relayer: { url: "http://127.0.0.1:8547" } });
 * const server = await listen(web.app, 8550); // http://127.0.0.1:8550/ is the dashboard
 */
export async function createWebServer(options: WebServerOptions): Promise<WebServer> {
  const assets = options.assets ?? (await buildAssets());
  const upstreams = createUpstreams(options);
  const router = express.Router();
  sessionRoutes(router, upstreams, upstreams.sessions);
  configRoutes(router, upstreams);
  deviceRoutes(router, upstreams);
  batchRoutes(router, upstreams);
  rewardRoutes(router, upstreams);
  auditorRoutes(router, upstreams);
  marketRoutes(router, upstreams);
  assetRoute(router, assets);

  const app = createServiceApp({
    name: "web",
    logger: options.logger,
    router,
    rateLimit: { ratePerSecond: 50, burst: 200 },
  });
  return {
    app,
    async stop() {
      const { audit, verifier } = upstreams.opened();
      audit?.registryIndex.stop();
      const v = await verifier?.catch(() => undefined);
      await v?.close();
    },
  };
}
