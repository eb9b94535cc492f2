/**
 * The continuous auditor (oracle/auditor), configured from the environment:
 *
 *   PLATFORM_API_KEY=… PORT=8610 CONFIRMATIONS=2 WEBHOOK_URL=http://… npm run auditor
 *
 * Every variable is listed in oracle/auditor/config.ts. SIGINT/SIGTERM stop it gracefully; kill -9
 * loses nothing (it resumes from its store).
 */
import { parseAuditorConfig } from "../oracle/auditor/config.js";
import { startAuditor } from "../oracle/auditor/main.js";
import { runService } from "../oracle/service/run.js";

await runService({
  name: "auditor",
  parse: parseAuditorConfig,
  start: startAuditor,
  logLevel: (config) => config.logLevel,
  shutdownTimeoutMs: (config) => config.shutdownTimeoutMs,
});
