/**
 * The oracle service (oracle/committee), configured from the environment.
 *
 *   ORACLE_PRIVATE_KEY=0x… ORACLE_PEERS=http://127.0.0.1:8549,http://127.0.0.1:8550 \
 *     PORT=8548 DATABASE_URL=data/oracle-1.sqlite CONFIRMATIONS=6 EPOCH_BLOCKS=100 npx tsx scripts/oracle.ts
 *
 * Every variable is listed in oracle/committee/config.ts (`parseOracleConfig`); a wrong one stops the
 * start with a message naming it. SIGINT/SIGTERM stop it gracefully.
 */
import { parseOracleConfig } from "../oracle/committee/config.js";
import { startOracle } from "../oracle/committee/main.js";
import { runService } from "../oracle/service/run.js";

await runService({
  name: "oracle",
  parse: parseOracleConfig,
  start: startOracle,
  logLevel: (config) => config.logLevel,
  shutdownTimeoutMs: (config) => config.shutdownTimeoutMs,
});
