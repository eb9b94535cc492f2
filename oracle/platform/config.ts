import { readFile } from "node:fs/promises";
import path from "node:path";

import { z } from "zod";

import { dataDir } from "../chain/deployments.js";
import {
  auditEnvShape,
  auditServiceFromEnv,
  type AuditServiceConfig,
  bodyLimitSchema,
  int,
  parseEnv,
  positive,
  serviceEnvShape,
} from "../service/config.js";
import { ConfigError } from "../service/errors.js";
import { apiKeysFileSchema, type ApiKeyEntry } from "./auth.js";
import { DEFAULT_PLATFORM_LIMITS, type PlatformLimits } from "./platform.js";

/** The platform's configuration, from the environment (see {@link parsePlatformConfig}). */
export interface PlatformConfig extends AuditServiceConfig {
  apiKeysFile: string;
  trustProxy?: false | number | string;
  limits: PlatformLimits;
}

const envSchema = z.object({
  ...serviceEnvShape(8080),
  ...auditEnvShape,
  PLATFORM_API_KEYS_FILE: z.string().min(1).optional(),
  PLATFORM_BODY_LIMIT: bodyLimitSchema.default(DEFAULT_PLATFORM_LIMITS.bodyLimit),
  PLATFORM_MAX_PAYLOAD_BYTES: int(64).default(DEFAULT_PLATFORM_LIMITS.maxPayloadBytes),
  PLATFORM_MAX_BULK_ITEMS: int(1).default(DEFAULT_PLATFORM_LIMITS.maxBulkItems),
  PLATFORM_READING_CHECKS_PER_SECOND: z.coerce.number().min(0).default(DEFAULT_PLATFORM_LIMITS.readingChecksPerSecond),
  PLATFORM_READING_CHECK_BURST: int(1).default(DEFAULT_PLATFORM_LIMITS.readingCheckBurst),
  PLATFORM_MAX_READING_CHECKS_IN_FLIGHT: int(0).default(DEFAULT_PLATFORM_LIMITS.maxReadingChecksInFlight),
  PLATFORM_MAX_EVENT_LOOP_LAG_MS: int(0).default(DEFAULT_PLATFORM_LIMITS.maxEventLoopLagMs),
  PLATFORM_IP_RATE_PER_SECOND: positive.default(DEFAULT_PLATFORM_LIMITS.ipRatePerSecond),
  PLATFORM_IP_BURST: int(1).default(DEFAULT_PLATFORM_LIMITS.ipBurst),
  PLATFORM_DEVICE_READINGS_PER_MINUTE: positive.default(DEFAULT_PLATFORM_LIMITS.deviceReadingsPerMinute),
  PLATFORM_DEVICE_BURST: int(1).optional(),
  PLATFORM_QUOTA_STORE_TIMEOUT_MS: int(1).default(DEFAULT_PLATFORM_LIMITS.quotaStoreTimeoutMs),
  PLATFORM_MAX_CLOCK_SKEW_SECONDS: int(0).default(DEFAULT_PLATFORM_LIMITS.maxClockSkewSeconds),
  PLATFORM_SHUTDOWN_TIMEOUT_MS: int(0).default(DEFAULT_PLATFORM_LIMITS.shutdownTimeoutMs),
});

/**
 * Reads and validates the platform's configuration from environment variables, failing with one
 * message naming every bad variable. No I/O: files and the chain are checked by the caller.
 *
 * Variables: HOST (127.0.0.1), PORT (8080), DATABASE_URL (`<data>/platform.sqlite`), AUDIT_RPC_URL
 * (http://127.0.0.1:8545), AUDIT_CHAIN_ID, ANCHOR_ADDRESS, REGISTRY_ADDRESS, REGISTRY_DEPLOY_BLOCK
 * (else the deployment record), REGISTRY_POLL_MS (2000), REGISTRY_CONFIRMATIONS (0),
 * PLATFORM_API_KEYS_FILE (`<data>/platform-api-keys.json`), LOG_LEVEL (info), TRUST_PROXY (a hop count
 * or proxy addresses/subnets; `true` is refused), and the limits PLATFORM_BODY_LIMIT,
 * PLATFORM_MAX_PAYLOAD_BYTES, PLATFORM_MAX_BULK_ITEMS, PLATFORM_READING_CHECKS_PER_SECOND (20; 0: off),
 * PLATFORM_READING_CHECK_BURST (400), PLATFORM_MAX_READING_CHECKS_IN_FLIGHT (1000; 0: off),
 * PLATFORM_MAX_EVENT_LOOP_LAG_MS (500; 0: off),
 * PLATFORM_IP_RATE_PER_SECOND, PLATFORM_IP_BURST, PLATFORM_DEVICE_READINGS_PER_MINUTE,
 * PLATFORM_DEVICE_BURST, PLATFORM_QUOTA_STORE_TIMEOUT_MS (200: how long a quota check waits for
 * PostgreSQL before the in-memory insurance answers), PLATFORM_MAX_CLOCK_SKEW_SECONDS, PLATFORM_SHUTDOWN_TIMEOUT_MS.
 *
 * @throws {ConfigError}
 * @example
 * const config = parsePlatformConfig({ PORT: "8080", DATABASE_URL: "postgres://u:p@127.0.0.1/platform" });
 * config.port; // 8080
 */
export function parsePlatformConfig(env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const e = parseEnv(envSchema, env, "platform");
  const data = dataDir(env);
  return {
    ...auditServiceFromEnv(e, env, "platform"),
    apiKeysFile: path.resolve(e.PLATFORM_API_KEYS_FILE ?? path.join(data, "platform-api-keys.json")),
    ...(e.TRUST_PROXY === undefined ? {} : { trustProxy: e.TRUST_PROXY }),
    limits: {
      ...DEFAULT_PLATFORM_LIMITS,
      bodyLimit: e.PLATFORM_BODY_LIMIT,
      maxPayloadBytes: e.PLATFORM_MAX_PAYLOAD_BYTES,
      maxBulkItems: e.PLATFORM_MAX_BULK_ITEMS,
      readingChecksPerSecond: e.PLATFORM_READING_CHECKS_PER_SECOND,
      readingCheckBurst: e.PLATFORM_READING_CHECK_BURST,
      maxReadingChecksInFlight: e.PLATFORM_MAX_READING_CHECKS_IN_FLIGHT,
      maxEventLoopLagMs: e.PLATFORM_MAX_EVENT_LOOP_LAG_MS,
      ipRatePerSecond: e.PLATFORM_IP_RATE_PER_SECOND,
      ipBurst: e.PLATFORM_IP_BURST,
      deviceReadingsPerMinute: e.PLATFORM_DEVICE_READINGS_PER_MINUTE,
      deviceBurst: e.PLATFORM_DEVICE_BURST ?? Math.max(1, Math.ceil(e.PLATFORM_DEVICE_READINGS_PER_MINUTE)),
      quotaStoreTimeoutMs: e.PLATFORM_QUOTA_STORE_TIMEOUT_MS,
      maxClockSkewSeconds: e.PLATFORM_MAX_CLOCK_SKEW_SECONDS,
      shutdownTimeoutMs: e.PLATFORM_SHUTDOWN_TIMEOUT_MS,
    },
  };
}

/**
 * Reads the API keys file: a JSON array of `{ "id", "role", "sha256" }` (the sha256 of each key,
 * never the key). Fails with a message that says how to make one.
 *
 * @throws {ConfigError}
 * @example
 * const keys = await readApiKeysFile("data/platform-api-keys.json"); // [{ id, role, sha256 }]
 */
export async function readApiKeysFile(file: string): Promise<ApiKeyEntry[]> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    throw new ConfigError(
      `Cannot read the API keys file ${file} (PLATFORM_API_KEYS_FILE): ${(cause as Error).message}. ` +
        "Make a key with `npx tsx scripts/platform-key.ts <holder> consumer`.",
      [],
      { cause },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`The API keys file ${file} is not JSON`, [], { cause });
  }
  const parsed = apiKeysFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`The API keys file ${file} is invalid at [${issue.path.join(".")}]: ${issue.message}`);
  }
  return parsed.data;
}
