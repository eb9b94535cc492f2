/**
 * The web service (oracle/web): the dashboard and the claim page, configured from the environment.
 *
 *   npx tsx scripts/web.ts                     # http://127.0.0.1:8550/ and /claim
 *   PORT=8550 AUDIT_RPC_URL=http://127.0.0.1:8545 PLATFORM_URL=http://127.0.0.1:8080 \
 *     RELAYER_URL=http://127.0.0.1:8547 ORACLE_URL=http://127.0.0.1:8548 \
 *     REWARD_RPC_URL=http://127.0.0.1:8546 DISTRIBUTOR_ADDRESS=0x… npx tsx scripts/web.ts
 *
 * Every variable is listed in oracle/web/config.ts (`parseWebConfig`); every upstream is optional
 * (the pages show what is not configured or not reachable). The service holds no platform key:
 * consumers sign in on the dashboard with their own (PLATFORM_API_KEY is refused). SIGINT/SIGTERM
 * stop it gracefully.
 */
import { runService } from "../oracle/service/run.js";
import { parseWebConfig } from "../oracle/web/config.js";
import { startWeb } from "../oracle/web/main.js";

await runService({
  name: "web",
  parse: parseWebConfig,
  start: startWeb,
  logLevel: (config) => config.logLevel,
  shutdownTimeoutMs: (config) => config.shutdownTimeoutMs,
});
