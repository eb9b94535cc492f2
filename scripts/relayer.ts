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
import { parseRelayerConfig, type RelayerConfig } from "../oracle/relayer/config.js";
import { RelayerConfigError } from "../oracle/relayer/errors.js";
import { startRelayer, type RunningRelayer } from "../oracle/relayer/main.js";
import { createLogger } from "../oracle/service/logger.js";

let config: RelayerConfig;
try {
  config = parseRelayerConfig(process.env);
} catch (error) {
  console.error(error instanceof RelayerConfigError ? error.message : error);
  process.exit(2);
}
const logger = createLogger("relayer", config.logLevel);

let running: RunningRelayer;
try {
  running = await startRelayer(config, logger);
} catch (error) {
  if (error instanceof RelayerConfigError) {
    console.error(`relayer: ${error.message}`);
    process.exit(2);
  }
  throw error;
}

const stop = (signal: string) => {
  logger.info({ signal }, "signal received");
  // A second signal, or a drain longer than the shutdown timeout, ends the process at once.
  const force = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
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
