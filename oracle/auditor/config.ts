/**
 * The auditor's configuration, from the environment (validated at start-up).
 *
 * PORT (8610), HOST, DATABASE_URL (`<data>/auditor.sqlite`, or `postgres://…`), LOG_LEVEL, the audit
 * chain (AUDIT_RPC_URL, ANCHOR_ADDRESS/REGISTRY_ADDRESS or the deployment record), PLATFORM_URL and
 * PLATFORM_API_KEY (a consumer key; or PLATFORM_API_KEY_FILE), AUDITOR_API_KEYS_FILE (who may read the
 * API; default: the platform's key file), CONFIRMATIONS (2), POLL_MS (1000), WEBHOOK_URL,
 * WEBHOOK_BACKOFF_MS (500), SILENCE_SECONDS (600), RETRY_BASE_MS (1000), RETRY_MAX_MS (60000),
 * RETRY_MAX_ATTEMPTS (10), CONCURRENCY (8: platform requests in flight per batch), THREADS (1:
 * signature worker threads; batches under 2,048 signatures are checked on the main thread anyway),
 * PARALLEL_ITEMS (2: work items checked at once, so one's checks overlap the next one's fetches),
 * ROTATE_AFTER_READINGS (100000: a fresh verifier, its caches emptied, after this many readings checked).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import path from "node:path";

import { z } from "zod";

import { dataDir } from "../chain/deployments.js";
import { auditEnvShape, auditServiceFromEnv, int, parseEnv, serviceEnvShape, type AuditServiceConfig } from "../service/config.js";
import { ConfigError } from "../service/errors.js";

export interface AuditorConfig extends AuditServiceConfig {
  platformUrl: string;
  platformApiKey: string;
  apiKeysFile: string;
  confirmations: number;
  pollMs: number;
  webhook?: { url: string; backoffMs: number; maxBackoffMs: number; timeoutMs: number };
  silenceSeconds: number;
  retry: { baseMs: number; maxMs: number; maxAttempts: number };
  concurrency: number;
  threads: number;
  parallelItems: number;
  rotateAfterReadings: number;
  shutdownTimeoutMs: number;
}

const schema = z.object({
  ...serviceEnvShape(8610),
  ...auditEnvShape,
  PLATFORM_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8546"),
  PLATFORM_API_KEY: z.string().min(1).optional(),
  PLATFORM_API_KEY_FILE: z.string().min(1).optional(),
  AUDITOR_API_KEYS_FILE: z.string().min(1).optional(),
  PLATFORM_API_KEYS_FILE: z.string().min(1).optional(),
  CONFIRMATIONS: int(0, 1000).default(2),
  POLL_MS: int(50, 600_000).default(1000),
  WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  WEBHOOK_BACKOFF_MS: int(10, 600_000).default(500),
  WEBHOOK_MAX_BACKOFF_MS: int(10, 3_600_000).default(300_000),
  SILENCE_SECONDS: int(1).default(600),
  RETRY_BASE_MS: int(10, 600_000).default(1000),
  RETRY_MAX_MS: int(10, 3_600_000).default(60_000),
  RETRY_MAX_ATTEMPTS: int(1, 1000).default(10),
  CONCURRENCY: int(1, 256).default(8),
  THREADS: int(1, 64).default(1),
  PARALLEL_ITEMS: int(1, 16).default(2),
  ROTATE_AFTER_READINGS: int(1).default(100_000),
  SHUTDOWN_TIMEOUT_MS: int(100).default(10_000),
});

/**
 * @throws {ConfigError} naming every bad variable.
 * @example const config = parseAuditorConfig(process.env);
 */
export function parseAuditorConfig(env: NodeJS.ProcessEnv): AuditorConfig {
  const e = parseEnv(schema, env, "auditor");
  let key = e.PLATFORM_API_KEY;
  if (key === undefined && e.PLATFORM_API_KEY_FILE !== undefined) {
    try {
      key = readFileSync(e.PLATFORM_API_KEY_FILE, "utf8").trim();
    } catch (cause) {
      throw new ConfigError("Invalid auditor configuration", [`PLATFORM_API_KEY_FILE: ${(cause as Error).message}`], { cause });
    }
  }
  if (key === undefined || key === "")
    throw new ConfigError("Invalid auditor configuration", [
      "PLATFORM_API_KEY (or PLATFORM_API_KEY_FILE): a consumer key of the platform is required",
    ]);
  return {
    ...auditServiceFromEnv(e, env, "auditor"),
    platformUrl: e.PLATFORM_URL,
    platformApiKey: key,
    apiKeysFile: path.resolve(e.AUDITOR_API_KEYS_FILE ?? e.PLATFORM_API_KEYS_FILE ?? path.join(dataDir(env), "platform-api-keys.json")),
    confirmations: e.CONFIRMATIONS,
    pollMs: e.POLL_MS,
    ...(e.WEBHOOK_URL === undefined
      ? {}
      : { webhook: { url: e.WEBHOOK_URL, backoffMs: e.WEBHOOK_BACKOFF_MS, maxBackoffMs: e.WEBHOOK_MAX_BACKOFF_MS, timeoutMs: 5000 } }),
    silenceSeconds: e.SILENCE_SECONDS,
    retry: { baseMs: e.RETRY_BASE_MS, maxMs: e.RETRY_MAX_MS, maxAttempts: e.RETRY_MAX_ATTEMPTS },
    concurrency: e.CONCURRENCY,
    threads: e.THREADS,
    parallelItems: e.PARALLEL_ITEMS,
    rotateAfterReadings: e.ROTATE_AFTER_READINGS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
  };
}
