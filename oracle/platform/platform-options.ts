/**
 * Options and default limits of the raw-data platform.
 *
 * @module
 */
import type { Address } from "viem";

import { DEFAULT_QUOTA_STORE_TIMEOUT_MS } from "../service/limiter.js";
import type { Logger } from "../service/logger.js";
import type { SqlDatabase } from "../store/sql.js";
import type { PlatformMarketOptions } from "./access-market.js";
import type { ApiKeyEntry, ApiKeyring } from "./auth.js";
import type { DeviceDirectory } from "./ingest.js";

/** Sizes, rates and timeouts of a platform; every one has a default. */
export interface PlatformLimits {
  /** Largest request body (express `limit` syntax), single or bulk. */
  bodyLimit: string;
  /** Largest payload of one reading, in UTF-8 bytes. */
  maxPayloadBytes: number;
  /** Most readings in one bulk request. */
  maxBulkItems: number;
  /**
   * Refused readings per second a client address may cost in the long run: each refused reading costs a
   * point of its window, authentic ones cost nothing (oracle/service/signature-budget.ts; 0: off).
   */
  readingChecksPerSecond: number;
  /** Refused readings a client address may cost per window (also the most of its readings in their checks at once). */
  readingCheckBurst: number;
  /** Readings being checked at once on the whole platform above which submissions get 429 OVERLOADED (0: off). */
  maxReadingChecksInFlight: number;
  /** Event-loop lag (ms) above which submissions get 429 OVERLOADED (0: not measured). */
  maxEventLoopLagMs: number;
  /** Requests per second per client address in the long run (a window of ipBurst per ipBurst / rate seconds). */
  ipRatePerSecond: number;
  /** Requests a client address may burst. */
  ipBurst: number;
  /** Readings accepted per device per minute (quota, counted on validly signed readings). */
  deviceReadingsPerMinute: number;
  /** Readings a device may burst (e.g. an outbox flushing after an outage). */
  deviceBurst: number;
  /** Ms a quota check waits for PostgreSQL before the in-memory insurance answers (oracle/service/limiter.ts). */
  quotaStoreTimeoutMs: number;
  /** How far past the platform's clock a reading's `ts` may be. */
  maxClockSkewSeconds: number;
  /** Least time between two registry catch-ups forced by readings of devices the index does not know. */
  registryResyncMs: number;
  /** Page size when `limit` is not given, and the largest `limit` accepted. */
  defaultPageSize: number;
  maxPageSize: number;
  /** How long `close()` waits for in-flight requests before closing the store anyway. */
  shutdownTimeoutMs: number;
}

/** The limits a platform runs with unless its options say otherwise. */
export const DEFAULT_PLATFORM_LIMITS: PlatformLimits = {
  bodyLimit: "1mb",
  maxPayloadBytes: 4096,
  maxBulkItems: 200,
  readingChecksPerSecond: 20,
  readingCheckBurst: 400,
  maxReadingChecksInFlight: 1000,
  maxEventLoopLagMs: 500,
  ipRatePerSecond: 100,
  ipBurst: 200,
  deviceReadingsPerMinute: 120,
  deviceBurst: 120,
  quotaStoreTimeoutMs: DEFAULT_QUOTA_STORE_TIMEOUT_MS,
  maxClockSkewSeconds: 300,
  registryResyncMs: 1000,
  defaultPageSize: 100,
  maxPageSize: 1000,
  shutdownTimeoutMs: 10_000,
};

/** Options of {@link createPlatform} (oracle/platform/platform.ts). */
export interface PlatformOptions {
  /** The store (SQLite or PostgreSQL); the platform migrates it and closes it in `close()`. */
  store: SqlDatabase;
  /** The audit chain's device registry, indexed (oracle/chain/registry-index.ts). */
  registry: DeviceDirectory;
  /** The EIP-712 domain readings are signed on: audit chain id and ReadingAnchor address. */
  domain: { chainId: number; anchor: Address };
  /** Accepted API keys (hashed), or a keyring made of them. */
  apiKeys: readonly ApiKeyEntry[] | ApiKeyring;
  logger: Logger;
  limits?: Partial<PlatformLimits>;
  /** Express `trust proxy` (set when the platform runs behind a reverse proxy), for per-IP limits. */
  trustProxy?: false | number | string;
  /** The clock in ms (tests may pin it; the quotas keep the wall clock, oracle/service/limiter.ts). */
  now?: () => number;
  /** The reward chain's DataMarket: buyers sign in with their wallet (SIWE) and read what they bought. */
  market?: PlatformMarketOptions;
  /** Worker threads checking device signatures off the event loop (default: one per core; 0: on the event loop). */
  signatureThreads?: number;
}
