/**
 * The relayer service (oracle/relayer), configured from the environment.
 *
 *   RELAYER_PRIVATE_KEY=0x… RECEIPT_PRIVATE_KEY=0x… npx tsx scripts/relayer.ts     # or: npx hardhat run scripts/relayer.ts
 *   PORT=8547 DATABASE_URL=postgres://u:p@127.0.0.1:5432/relayer AUDIT_RPC_URL=http://127.0.0.1:8545 \
 *     BATCH_MAX_SIZE=1000 BATCH_MAX_AGE_MS=10000 CONFIRMATIONS=2 RELAYER_PRIVATE_KEY=0x… RECEIPT_PRIVATE_KEY=0x… npx tsx scripts/relayer.ts
 *
 * Every variable is listed in oracle/relayer/config.ts (`parseRelayerConfig`); a wrong one stops
 * the start with a message naming it. SIGINT/SIGTERM stop it gracefully: new readings are refused
 * (503), readings in flight are committed and answered, no batch is left half made, then the
 * listener and the store close.
 */
import { parseRelayerConfig } from "../oracle/relayer/config.js";
import { startRelayer } from "../oracle/relayer/main.js";
import { runService } from "../oracle/service/run.js";

await runService({
  name: "relayer",
  parse: parseRelayerConfig,
  start: startRelayer,
  logLevel: (config) => config.logLevel,
  shutdownTimeoutMs: (config) => config.shutdownTimeoutMs,
});
