import { mkdir } from "node:fs/promises";
import path from "node:path";

import { createPublicClient, http, webSocket, type PublicClient } from "viem";

import { RegistryIndex } from "../chain/registry-index.js";
import { readAuditDeployment } from "../core/deployments.js";
import { listen } from "../service/app.js";
import type { Logger } from "../service/logger.js";
import { openDatabase } from "../store/sql.js";
import { PlatformConfigError, readApiKeysFile, type PlatformConfig } from "./config.js";
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

  const transport = /^wss?:/.test(config.auditRpcUrl) ? webSocket(config.auditRpcUrl) : http(config.auditRpcUrl);
  const client = createPublicClient({ transport }) as PublicClient;
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (cause) {
    throw new PlatformConfigError(`The audit chain at AUDIT_RPC_URL=${config.auditRpcUrl} does not answer`, { cause });
  }
  if (config.auditChainId !== undefined && config.auditChainId !== chainId) {
    throw new PlatformConfigError(
      `AUDIT_CHAIN_ID=${config.auditChainId} but the chain at AUDIT_RPC_URL=${config.auditRpcUrl} is chain ${chainId}`,
    );
  }
  const deployment =
    config.anchor !== undefined && config.registry !== undefined
      ? { anchor: config.anchor, registry: config.registry, deployBlock: config.registryDeployBlock ?? 0 }
      : await readAuditDeployment(chainId).catch((cause: Error) => {
          throw new PlatformConfigError(`${cause.message} (or set ANCHOR_ADDRESS and REGISTRY_ADDRESS)`, { cause });
        });
  if ((await client.getCode({ address: deployment.registry })) === undefined) {
    throw new PlatformConfigError(`No contract at the registry address ${deployment.registry} on chain ${chainId}`);
  }

  const registry = await RegistryIndex.start({
    client,
    registry: deployment.registry,
    deployBlock: config.registryDeployBlock ?? deployment.deployBlock,
    pollMs: config.registryPollMs,
    confirmations: config.registryConfirmations,
  });

  if (!/^postgres(ql)?:\/\//.test(config.databaseUrl) && config.databaseUrl !== ":memory:") {
    await mkdir(path.dirname(path.resolve(config.databaseUrl)), { recursive: true });
  }
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
    });
  } catch (cause) {
    registry.stop();
    throw new PlatformConfigError(`Cannot open the store at DATABASE_URL=${redact(config.databaseUrl)}`, { cause });
  }
  const server = await listen(platform.app, config.port, config.host);
  logger.info(
    { url: server.url, chainId, anchor: deployment.anchor, registry: deployment.registry, store: redact(config.databaseUrl) },
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

/** A database URL without its password, for logs. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
