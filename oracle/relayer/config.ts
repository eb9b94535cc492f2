/**
 * The relayer's configuration from environment variables, validated with zod at start-up.
 *
 * @module
 */
import type { Hex } from "viem";

import type { FeeModelSetting } from "../chain/fee-model.js";
import { z } from "zod";

import {
  auditEnvShape,
  auditServiceFromEnv,
  type AuditServiceConfig,
  bodyLimitSchema,
  int,
  parseEnv,
  positive,
  privateKeySchema,
  serviceEnvShape,
} from "../service/config.js";
import { DEFAULT_LIMITS, type RelayerLimits } from "./relayer.js";

/** The relayer's configuration (see {@link parseRelayerConfig}). */
export interface RelayerConfig extends AuditServiceConfig {
  relayerPrivateKey: Hex;
  receiptPrivateKey: Hex;
  /** AUDIT_FEE_MODEL: how anchoring transactions are typed and priced (auto-detected by default). */
  feeModel: FeeModelSetting;
  /** The base URL registered on the anchor for this relayer (`relayerInfo(relayer).manifestUrl`). */
  publicUrl: string;
  batch: { maxSize: number; maxAgeMs: number };
  confirmations: number;
  anchoring: {
    marginSeconds: number;
    stuckTimeoutMs: number;
    maxInFlight: number;
    pollMs: number;
    maxFeePerGasCap?: bigint;
    recheckBlocks: number;
    leaseMs?: number;
  };
  limits: RelayerLimits;
  trustProxy?: boolean | number | string;
  shutdownTimeoutMs: number;
}

const envSchema = z.object({
  ...serviceEnvShape(8547),
  ...auditEnvShape,
  RELAYER_PRIVATE_KEY: privateKeySchema,
  RECEIPT_PRIVATE_KEY: privateKeySchema,
  RELAYER_PUBLIC_URL: z.string().url().optional(),
  AUDIT_FEE_MODEL: z.enum(["auto", "eip1559", "legacy"]).default("auto"),
  // ReadingAnchor.MAX_LEAF_COUNT: a larger batch could not be anchored.
  BATCH_MAX_SIZE: int(1, 65_536).default(1000),
  BATCH_MAX_AGE_MS: int(1).default(10_000),
  CONFIRMATIONS: int(1).default(2),
  RECEIPT_MARGIN_SECONDS: int(0).default(600),
  STUCK_TX_TIMEOUT_MS: int(1000).default(60_000),
  MAX_IN_FLIGHT: int(1, 64).default(4),
  ANCHOR_POLL_MS: int(50).default(1000),
  CONFIRMED_RECHECK_BLOCKS: int(0).default(256),
  RELAYER_ANCHOR_LEASE_MS: int(0).optional(),
  MAX_FEE_PER_GAS_WEI: z
    .string()
    .regex(/^[0-9]+$/, "must be a decimal number of wei")
    .transform((value) => BigInt(value))
    .optional(),
  RELAYER_BODY_LIMIT: bodyLimitSchema.default(DEFAULT_LIMITS.bodyLimit),
  RELAYER_MAX_BULK: int(1, 100_000).default(DEFAULT_LIMITS.maxBulk),
  RELAYER_MAX_QUEUE_DEPTH: int(1).default(DEFAULT_LIMITS.maxQueueDepth),
  RELAYER_MAX_CONCURRENT_SUBMISSIONS: int(0).default(DEFAULT_LIMITS.maxConcurrentSubmissions),
  RELAYER_MAX_EVENT_LOOP_LAG_MS: int(0).default(DEFAULT_LIMITS.maxEventLoopLagMs),
  RELAYER_IP_REQUESTS_PER_SECOND: positive.default(200),
  RELAYER_IP_REQUEST_BURST: int(1).default(400),
  RELAYER_IP_READINGS_PER_SECOND: positive.optional(),
  RELAYER_IP_READING_BURST: int(1).optional(),
  RELAYER_IP_REFUSED_READINGS_PER_SECOND: z.coerce.number().min(0).default(DEFAULT_LIMITS.refusedReadingRate.ratePerSecond),
  RELAYER_IP_REFUSED_READING_BURST: int(1).default(DEFAULT_LIMITS.refusedReadingRate.burst),
  RELAYER_DEVICE_READINGS_PER_MINUTE: positive.default(120),
  RELAYER_DEVICE_BURST: int(1).default(120),
  RELAYER_QUOTA_STORE_TIMEOUT_MS: int(1).default(DEFAULT_LIMITS.quotaStoreTimeoutMs),
  RELAYER_MAX_CLOCK_SKEW_SECONDS: int(0).default(DEFAULT_LIMITS.maxClockSkewSeconds),
  RELAYER_SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
});

/**
 * Reads and validates the relayer's configuration from environment variables, failing with one
 * message naming every bad variable (never echoing a private key). No I/O.
 *
 * Variables: HOST (127.0.0.1), PORT (8547), DATABASE_URL (`<data>/relayer.sqlite`), AUDIT_RPC_URL
 * (http://127.0.0.1:8545), AUDIT_CHAIN_ID, ANCHOR_ADDRESS + REGISTRY_ADDRESS + REGISTRY_DEPLOY_BLOCK
 * (else the deployment record), REGISTRY_POLL_MS (2000), REGISTRY_CONFIRMATIONS (0),
 * RELAYER_PRIVATE_KEY and RECEIPT_PRIVATE_KEY (required), RELAYER_PUBLIC_URL (http://127.0.0.1:<PORT>: must equal
 * the manifest URL registered on the anchor for the relayer account, or it refuses to start),
 * BATCH_MAX_SIZE (1000, at most 65536), BATCH_MAX_AGE_MS
 * (10000), CONFIRMATIONS (2), RECEIPT_MARGIN_SECONDS (600), STUCK_TX_TIMEOUT_MS (60000),
 * MAX_IN_FLIGHT (4), ANCHOR_POLL_MS (1000), CONFIRMED_RECHECK_BLOCKS (256: confirmed batches within
 * that many blocks of the head are rechecked for reorgs deeper than CONFIRMATIONS; 0 off),
 * RELAYER_ANCHOR_LEASE_MS (15000 on PostgreSQL, 0 = off on SQLite: several instances on one store, one anchoring at a time),
 * MAX_FEE_PER_GAS_WEI, AUDIT_FEE_MODEL (auto: EIP-1559, legacy or free gas detected at start-up; eip1559; legacy),
 * RELAYER_BODY_LIMIT (1mb), RELAYER_MAX_BULK (1000), RELAYER_MAX_QUEUE_DEPTH
 * (200000, a hard bound), RELAYER_MAX_CONCURRENT_SUBMISSIONS (64: submissions handled at once above
 * which new ones get 429 OVERLOADED; 0 off), RELAYER_MAX_EVENT_LOOP_LAG_MS (500: p99 event-loop delay
 * over the last 0.5 s above which new submissions get 429 OVERLOADED while one is being handled; 0 off),
 * RELAYER_IP_REQUESTS_PER_SECOND (200),
 * RELAYER_IP_REQUEST_BURST (400: every route; a reading submission costs a point only when refused with a 4xx but 429), RELAYER_IP_READINGS_PER_SECOND and RELAYER_IP_READING_BURST (unset: off;
 * a per-address limit on valid readings would throttle every device behind a carrier NAT),
 * RELAYER_IP_REFUSED_READINGS_PER_SECOND (20) and RELAYER_IP_REFUSED_READING_BURST (400: each refused
 * reading costs its address a point, authentic ones nothing; 0 off),
 * RELAYER_DEVICE_READINGS_PER_MINUTE (120), RELAYER_DEVICE_BURST (120), RELAYER_QUOTA_STORE_TIMEOUT_MS (200:
 * how long a quota check waits for PostgreSQL before the in-memory insurance answers),
 * RELAYER_MAX_CLOCK_SKEW_SECONDS (300), RELAYER_SHUTDOWN_TIMEOUT_MS (30000), TRUST_PROXY, LOG_LEVEL (info).
 *
 * @throws {ConfigError}
 * @example
 * const config = parseRelayerConfig({ RELAYER_PRIVATE_KEY: "0x…", RECEIPT_PRIVATE_KEY: "0x…", BATCH_MAX_SIZE: "500" });
 * config.batch.maxSize; // 500
 */
export function parseRelayerConfig(env: NodeJS.ProcessEnv = process.env): RelayerConfig {
  const e = parseEnv(envSchema, env, "relayer");
  const service = auditServiceFromEnv(e, env, "relayer");
  return {
    ...service,
    relayerPrivateKey: e.RELAYER_PRIVATE_KEY,
    receiptPrivateKey: e.RECEIPT_PRIVATE_KEY,
    feeModel: e.AUDIT_FEE_MODEL,
    publicUrl: e.RELAYER_PUBLIC_URL ?? `http://127.0.0.1:${service.port}`,
    batch: { maxSize: e.BATCH_MAX_SIZE, maxAgeMs: e.BATCH_MAX_AGE_MS },
    confirmations: e.CONFIRMATIONS,
    anchoring: {
      marginSeconds: e.RECEIPT_MARGIN_SECONDS,
      stuckTimeoutMs: e.STUCK_TX_TIMEOUT_MS,
      maxInFlight: e.MAX_IN_FLIGHT,
      pollMs: e.ANCHOR_POLL_MS,
      recheckBlocks: e.CONFIRMED_RECHECK_BLOCKS,
      ...(e.RELAYER_ANCHOR_LEASE_MS === undefined ? {} : { leaseMs: e.RELAYER_ANCHOR_LEASE_MS }),
      ...(e.MAX_FEE_PER_GAS_WEI === undefined ? {} : { maxFeePerGasCap: e.MAX_FEE_PER_GAS_WEI }),
    },
    limits: {
      bodyLimit: e.RELAYER_BODY_LIMIT,
      maxBulk: e.RELAYER_MAX_BULK,
      maxQueueDepth: e.RELAYER_MAX_QUEUE_DEPTH,
      maxConcurrentSubmissions: e.RELAYER_MAX_CONCURRENT_SUBMISSIONS,
      maxEventLoopLagMs: e.RELAYER_MAX_EVENT_LOOP_LAG_MS,
      requestRate: { ratePerSecond: e.RELAYER_IP_REQUESTS_PER_SECOND, burst: e.RELAYER_IP_REQUEST_BURST },
      ...(e.RELAYER_IP_READINGS_PER_SECOND === undefined
        ? {}
        : {
            readingRate: {
              ratePerSecond: e.RELAYER_IP_READINGS_PER_SECOND,
              burst: e.RELAYER_IP_READING_BURST ?? Math.ceil(2 * e.RELAYER_IP_READINGS_PER_SECOND),
            },
          }),
      refusedReadingRate: { ratePerSecond: e.RELAYER_IP_REFUSED_READINGS_PER_SECOND, burst: e.RELAYER_IP_REFUSED_READING_BURST },
      deviceQuota: { ratePerSecond: e.RELAYER_DEVICE_READINGS_PER_MINUTE / 60, burst: e.RELAYER_DEVICE_BURST },
      quotaStoreTimeoutMs: e.RELAYER_QUOTA_STORE_TIMEOUT_MS,
      maxClockSkewSeconds: e.RELAYER_MAX_CLOCK_SKEW_SECONDS,
    },
    ...(e.TRUST_PROXY === undefined ? {} : { trustProxy: e.TRUST_PROXY }),
    shutdownTimeoutMs: e.RELAYER_SHUTDOWN_TIMEOUT_MS,
  };
}
