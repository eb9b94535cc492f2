import { connectAuditChain } from "../chain/audit-connection.js";
import type { RegistryIndex } from "../chain/registry-index.js";
import { listen } from "../service/app.js";
import { ConfigError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { ensureStoreFolder, openDatabase, redactDatabaseUrl } from "../store/sql.js";
import { readApiKeysFile, type PlatformConfig } from "./config.js";
import { platformMarketFromEnv } from "../market/market-env.js";
import { createPlatform, type Platform } from "./platform.js";

export interface RunningPlatform {
  url: string;
  port: number;
  platform: Platform;
  registry: RegistryIndex;
  /** Graceful stop: no new connections, in-flight requests finish, store closed, index stopped. */
  stop(): Promise<void>;
}

/**
 * Starts the platform from a validated configuration: checks the API keys file, the audit chain
 * (reachable, expected chain id), finds the contracts (config or deployment record), indexes the
 * registry, opens the store and listens. Fails fast with a message naming what is wrong.
 *
 * @example
 * const running = await startPlatform(parsePlatformConfig(process.env), createLogger("platform"));
 * process.once("SIGTERM", () => void running.stop());
 */
export async function startPlatform(config: PlatformConfig, logger: Logger): Promise<RunningPlatform> {
  const apiKeys = await readApiKeysFile(config.apiKeysFile);
  if (!apiKeys.some((key) => key.role === "consumer" || key.role === "admin")) {
    logger.warn({ file: config.apiKeysFile }, "no consumer or admin API key: nobody can read raw data");
  }

  const audit = await connectAuditChain(config.audit, "platform");
  const { chainId, registryIndex: registry } = audit;
  const deployment = { anchor: audit.anchor, registry: audit.registry };

  await ensureStoreFolder(config.databaseUrl);
  let platform: Platform;
  try {
    platform = await createPlatform({
      store: await openDatabase(config.databaseUrl),
      registry,
      domain: { chainId, anchor: deployment.anchor },
      apiKeys,
      logger,
      limits: config.limits,
      ...(config.trustProxy === undefined ? {} : { trustProxy: config.trustProxy }),
      // The data market (MARKET_ADDRESS): buyers sign in with their wallet (oracle/market/market-env.ts).
      market: await platformMarketFromEnv(process.env, `${config.host}:${config.port}`),
    });
  } catch (cause) {
    registry.stop();
    throw new ConfigError("Cannot start the platform", [`cannot open the store at DATABASE_URL=${redactDatabaseUrl(config.databaseUrl)}`], {
      cause,
    });
  }
  const server = await listen(platform.app, config.port, config.host);
  logger.info(
    { url: server.url, chainId, anchor: deployment.anchor, registry: deployment.registry, store: redactDatabaseUrl(config.databaseUrl) },
    "platform listening",
  );

  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.port,
    platform,
    registry,
    stop() {
      stopping ??= (async () => {
        logger.info("platform stopping");
        // Refuse new work and drain the in-flight requests, then close the listener and the store.
        await Promise.all([server.close(), platform.close()]);
        registry.stop();
      })();
      return stopping;
    },
  };
}
