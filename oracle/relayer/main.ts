/**
 * Starts the relayer from a validated configuration (what scripts/relayer.ts runs).
 *
 * @module
 */
import { connectAuditChain } from "../chain/audit-connection.js";
import { FeeModelError } from "../chain/fee-model.js";
import type { RegistryIndex } from "../chain/registry-index.js";
import { listen } from "../service/app.js";
import { ConfigError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { ensureStoreFolder, openDatabase, redactDatabaseUrl } from "../store/sql.js";
import type { RelayerConfig } from "./config.js";
import { createRelayer, type Relayer } from "./relayer.js";

export interface RunningRelayer {
  url: string;
  port: number;
  relayer: Relayer;
  registry: RegistryIndex;
  /** Graceful stop: submissions refused, in-flight ones answered, worker tick finished, listener and store closed. */
  stop(): Promise<void>;
}

/**
 * Checks the audit chain (reachable, expected id), finds the contracts (config or deployment
 * record), indexes the registry, opens the store, listens and starts the worker. Fails fast with a
 * message naming what is wrong.
 *
 * @example
 * const running = await startRelayer(parseRelayerConfig(process.env), createLogger("relayer"));
 * process.once("SIGTERM", () => void running.stop());
 */
export async function startRelayer(config: RelayerConfig, logger: Logger): Promise<RunningRelayer> {
  const audit = await connectAuditChain(config.audit, "relayer");
  const { client, chainId, registryIndex: registry } = audit;
  const deployment = { anchor: audit.anchor, registry: audit.registry };
  await ensureStoreFolder(config.databaseUrl);
  const db = await openDatabase(config.databaseUrl);
  let relayer: Relayer;
  try {
    relayer = await createRelayer({
      store: db,
      registry,
      chain: { publicClient: client, privateKey: config.relayerPrivateKey, anchor: deployment.anchor, chainId, feeModel: config.feeModel },
      receiptKey: config.receiptPrivateKey,
      publicUrl: config.publicUrl,
      batch: config.batch,
      confirmations: config.confirmations,
      logger,
      limits: config.limits,
      anchoring: config.anchoring,
      ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
    });
  } catch (error) {
    registry.stop();
    await db.close();
    // A chain whose fee model cannot be used is a start-up error naming the setting (exit 2), not a crash.
    throw error instanceof FeeModelError ? new ConfigError("Cannot start the relayer", [error.message], { cause: error }) : error;
  }
  if (config.relayerPrivateKey === config.receiptPrivateKey)
    logger.warn("RECEIPT_PRIVATE_KEY equals RELAYER_PRIVATE_KEY: use a separate receipt key");
  const server = await listen(relayer.app, config.port, config.host);
  relayer.start();
  logger.info(
    { url: server.url, chainId, anchor: deployment.anchor, registry: deployment.registry, store: redactDatabaseUrl(config.databaseUrl) },
    "relayer listening",
  );

  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.port,
    relayer,
    registry,
    stop() {
      stopping ??= (async () => {
        await relayer.stop();
        await server.close();
        registry.stop();
        await db.close();
      })();
      return stopping;
    },
  };
}
