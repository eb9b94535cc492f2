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
import { parsePlatformConfig } from "../oracle/platform/config.js";
import { startPlatform } from "../oracle/platform/main.js";
import { runService } from "../oracle/service/run.js";

await runService({
  name: "platform",
  parse: parsePlatformConfig,
  start: startPlatform,
  logLevel: (config) => config.logLevel,
  shutdownTimeoutMs: (config) => config.limits.shutdownTimeoutMs + 5000,
});
