/**
 * The raw-data platform service (oracle/platform), configured from the environment.
 *
 *   npx tsx scripts/platform.ts                      # or: npx hardhat run scripts/platform.ts
 *   PORT=8080 DATABASE_URL=postgres://u:p@127.0.0.1:5432/platform AUDIT_RPC_URL=http://127.0.0.1:8545 \
 *     PLATFORM_API_KEYS_FILE=data/platform-api-keys.json npx tsx scripts/platform.ts
 *
 * Every variable is listed in oracle/platform/config.ts (`parsePlatformConfig`); a wrong one stops
 * the start with a message naming it. SIGINT/SIGTERM stop it gracefully: requests in flight finish,
 * then the store is closed.
 */
import { PlatformConfigError, parsePlatformConfig, type PlatformConfig } from "../oracle/platform/config.js";
import { startPlatform, type RunningPlatform } from "../oracle/platform/main.js";
import { createLogger } from "../oracle/service/logger.js";

let config: PlatformConfig;
try {
  config = parsePlatformConfig(process.env);
} catch (error) {
  console.error(error instanceof PlatformConfigError ? error.message : error);
  process.exit(2);
}
const logger = createLogger("platform", config.logLevel);

let running: RunningPlatform;
try {
  running = await startPlatform(config, logger);
} catch (error) {
  if (error instanceof PlatformConfigError) {
    console.error(`platform: ${error.message}`);
    logger.debug({ err: error.cause }, "start-up failed");
    process.exit(2);
  }
  throw error;
}

const stop = (signal: string) => {
  logger.info({ signal }, "signal received");
  // A second signal, or a drain longer than the shutdown timeout, ends the process at once.
  const force = setTimeout(() => process.exit(1), config.limits.shutdownTimeoutMs + 5000);
  force.unref();
  process.once(signal, () => process.exit(1));
  running.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, "shutdown failed");
      process.exit(1);
    },
  );
};
process.once("SIGINT", () => stop("SIGINT"));
process.once("SIGTERM", () => stop("SIGTERM"));
