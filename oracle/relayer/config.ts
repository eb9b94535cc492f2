/**
 * The relayer's configuration from environment variables, validated with zod at start-up.
 *
 * @module
 */
import path from "node:path";

import { getAddress, isAddress, isHex, type Address, type Hex } from "viem";
import { z } from "zod";

import { dataDir } from "../core/deployments.js";
import { RelayerConfigError } from "./errors.js";
import { DEFAULT_LIMITS, type RelayerLimits } from "./relayer.js";

/** The relayer's configuration (see {@link parseRelayerConfig}). */
export interface RelayerConfig {
  host: string;
  port: number;
  /** `postgres://…` for PostgreSQL, else a SQLite file path. */
  databaseUrl: string;
  auditRpcUrl: string;
  /** Expected audit chain id; checked against the RPC endpoint at start-up. */
  auditChainId?: number;
  /** Contract addresses; when unset they come from the deployment record in the data folder. */
  anchor?: Address;
  registry?: Address;
  registryDeployBlock?: number;
  registryPollMs: number;
  registryConfirmations: number;
  relayerPrivateKey: Hex;
  receiptPrivateKey: Hex;
  batch: { maxSize: number; maxAgeMs: number };
  confirmations: number;
  anchoring: { marginSeconds: number; stuckTimeoutMs: number; maxInFlight: number; pollMs: number; maxFeePerGasCap?: bigint };
  limits: RelayerLimits;
  trustProxy?: boolean | number | string;
  shutdownTimeoutMs: number;
  logLevel: string;
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const positive = z.coerce.number().positive();
const address = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), "must be a 0x address")
  .transform((value) => getAddress(value));
const privateKey = z
  .string()
  .refine((value) => isHex(value) && value.length === 66 && !/^0x0+$/.test(value), "must be a 32-byte 0x hex private key")
  .transform((value) => value.toLowerCase() as Hex);

const envSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: int(0, 65_535).default(8547),
  DATABASE_URL: z.string().min(1).optional(),
  AUDIT_RPC_URL: z.url({ protocol: /^(https?|wss?)$/ }).default("http://127.0.0.1:8545"),
  AUDIT_CHAIN_ID: int(1).optional(),
  ANCHOR_ADDRESS: address.optional(),
  REGISTRY_ADDRESS: address.optional(),
  REGISTRY_DEPLOY_BLOCK: int(0).optional(),
  REGISTRY_POLL_MS: int(0).default(2000),
  REGISTRY_CONFIRMATIONS: int(0).default(0),
  RELAYER_PRIVATE_KEY: privateKey,
  RECEIPT_PRIVATE_KEY: privateKey,
  BATCH_MAX_SIZE: int(1, 1_000_000).default(1000),
  BATCH_MAX_AGE_MS: int(1).default(10_000),
  CONFIRMATIONS: int(1).default(2),
  RECEIPT_MARGIN_SECONDS: int(0).default(600),
  STUCK_TX_TIMEOUT_MS: int(1000).default(60_000),
  MAX_IN_FLIGHT: int(1, 64).default(4),
  ANCHOR_POLL_MS: int(50).default(1000),
  MAX_FEE_PER_GAS_WEI: z
    .string()
    .regex(/^[0-9]+$/, "must be a decimal number of wei")
    .transform((value) => BigInt(value))
    .optional(),
  RELAYER_BODY_LIMIT: z
    .string()
    .regex(/^[0-9]+(b|kb|mb)$/i, "must be a size like 512kb or 1mb")
    .default(DEFAULT_LIMITS.bodyLimit),
  RELAYER_MAX_BULK: int(1, 100_000).default(DEFAULT_LIMITS.maxBulk),
  RELAYER_MAX_QUEUE_DEPTH: int(1).default(DEFAULT_LIMITS.maxQueueDepth),
  RELAYER_IP_REQUESTS_PER_SECOND: positive.default(200),
  RELAYER_IP_REQUEST_BURST: int(1).default(400),
  RELAYER_IP_READINGS_PER_SECOND: positive.default(5000),
  RELAYER_IP_READING_BURST: int(1).default(10_000),
  RELAYER_DEVICE_READINGS_PER_MINUTE: positive.default(120),
  RELAYER_DEVICE_BURST: int(1).default(120),
  RELAYER_MAX_CLOCK_SKEW_SECONDS: int(0).default(DEFAULT_LIMITS.maxClockSkewSeconds),
  RELAYER_SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((value) => {
      if (value === undefined || value === "") return undefined;
      if (value === "true" || value === "false") return value === "true";
      return /^[0-9]+$/.test(value) ? Number(value) : value;
    }),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

const SECRET = /PRIVATE_KEY/;

/**
 * Reads and validates the relayer's configuration from environment variables, failing with one
 * message naming every bad variable (never echoing a private key). No I/O.
 *
 * Variables: HOST (127.0.0.1), PORT (8547), DATABASE_URL (`<data>/relayer.sqlite`), AUDIT_RPC_URL
 * (http://127.0.0.1:8545), AUDIT_CHAIN_ID, ANCHOR_ADDRESS + REGISTRY_ADDRESS + REGISTRY_DEPLOY_BLOCK
 * (else the deployment record), REGISTRY_POLL_MS (2000), REGISTRY_CONFIRMATIONS (0),
 * RELAYER_PRIVATE_KEY and RECEIPT_PRIVATE_KEY (required), BATCH_MAX_SIZE (1000), BATCH_MAX_AGE_MS
 * (10000), CONFIRMATIONS (2), RECEIPT_MARGIN_SECONDS (600), STUCK_TX_TIMEOUT_MS (60000),
 * MAX_IN_FLIGHT (4), ANCHOR_POLL_MS (1000), MAX_FEE_PER_GAS_WEI, RELAYER_BODY_LIMIT (1mb),
 * RELAYER_MAX_BULK (1000), RELAYER_MAX_QUEUE_DEPTH (200000), RELAYER_IP_REQUESTS_PER_SECOND (200),
 * RELAYER_IP_REQUEST_BURST (400), RELAYER_IP_READINGS_PER_SECOND (5000), RELAYER_IP_READING_BURST
 * (10000), RELAYER_DEVICE_READINGS_PER_MINUTE (120), RELAYER_DEVICE_BURST (120),
 * RELAYER_MAX_CLOCK_SKEW_SECONDS (300), RELAYER_SHUTDOWN_TIMEOUT_MS (30000), TRUST_PROXY, LOG_LEVEL (info).
 *
 * @throws {RelayerConfigError}
 * @example
 * const config = parseRelayerConfig({ RELAYER_PRIVATE_KEY: "0x…", RECEIPT_PRIVATE_KEY: "0x…", BATCH_MAX_SIZE: "500" });
 * config.batch.maxSize; // 500
 */
export function parseRelayerConfig(env: NodeJS.ProcessEnv = process.env): RelayerConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      const name = issue.path.join(".");
      const shown = SECRET.test(name) ? (env[name] ? "<redacted>" : "") : (env[name] ?? "");
      return `${name}=${JSON.stringify(shown)}: ${issue.message}`;
    });
    throw new RelayerConfigError("Invalid relayer configuration", issues);
  }
  const e = parsed.data;
  if ((e.ANCHOR_ADDRESS === undefined) !== (e.REGISTRY_ADDRESS === undefined)) {
    throw new RelayerConfigError("Invalid relayer configuration", [
      "ANCHOR_ADDRESS and REGISTRY_ADDRESS go together (or neither: the deployment record is read)",
    ]);
  }
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL ?? path.join(dataDir(env), "relayer.sqlite"),
    auditRpcUrl: e.AUDIT_RPC_URL,
    ...(e.AUDIT_CHAIN_ID === undefined ? {} : { auditChainId: e.AUDIT_CHAIN_ID }),
    ...(e.ANCHOR_ADDRESS === undefined ? {} : { anchor: e.ANCHOR_ADDRESS }),
    ...(e.REGISTRY_ADDRESS === undefined ? {} : { registry: e.REGISTRY_ADDRESS }),
    ...(e.REGISTRY_DEPLOY_BLOCK === undefined ? {} : { registryDeployBlock: e.REGISTRY_DEPLOY_BLOCK }),
    registryPollMs: e.REGISTRY_POLL_MS,
    registryConfirmations: e.REGISTRY_CONFIRMATIONS,
    relayerPrivateKey: e.RELAYER_PRIVATE_KEY,
    receiptPrivateKey: e.RECEIPT_PRIVATE_KEY,
    batch: { maxSize: e.BATCH_MAX_SIZE, maxAgeMs: e.BATCH_MAX_AGE_MS },
    confirmations: e.CONFIRMATIONS,
    anchoring: {
      marginSeconds: e.RECEIPT_MARGIN_SECONDS,
      stuckTimeoutMs: e.STUCK_TX_TIMEOUT_MS,
      maxInFlight: e.MAX_IN_FLIGHT,
      pollMs: e.ANCHOR_POLL_MS,
      ...(e.MAX_FEE_PER_GAS_WEI === undefined ? {} : { maxFeePerGasCap: e.MAX_FEE_PER_GAS_WEI }),
    },
    limits: {
      bodyLimit: e.RELAYER_BODY_LIMIT,
      maxBulk: e.RELAYER_MAX_BULK,
      maxQueueDepth: e.RELAYER_MAX_QUEUE_DEPTH,
      requestRate: { ratePerSecond: e.RELAYER_IP_REQUESTS_PER_SECOND, burst: e.RELAYER_IP_REQUEST_BURST },
      readingRate: { ratePerSecond: e.RELAYER_IP_READINGS_PER_SECOND, burst: e.RELAYER_IP_READING_BURST },
      deviceQuota: { ratePerSecond: e.RELAYER_DEVICE_READINGS_PER_MINUTE / 60, burst: e.RELAYER_DEVICE_BURST },
      maxClockSkewSeconds: e.RELAYER_MAX_CLOCK_SKEW_SECONDS,
    },
    ...(e.TRUST_PROXY === undefined ? {} : { trustProxy: e.TRUST_PROXY }),
    shutdownTimeoutMs: e.RELAYER_SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
  };
}
