/**
 * Starts the relayer from a validated configuration (what scripts/relayer.ts runs).
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";

import { createPublicClient, http, webSocket, type PublicClient } from "viem";

import { RegistryIndex } from "../chain/registry-index.js";
import { readAuditDeployment } from "../core/deployments.js";
import { listen } from "../service/app.js";
import type { Logger } from "../service/logger.js";
import { openDatabase } from "../store/sql.js";
import type { RelayerConfig } from "./config.js";
import { RelayerConfigError } from "./errors.js";
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
  const transport = /^wss?:/.test(config.auditRpcUrl) ? webSocket(config.auditRpcUrl) : http(config.auditRpcUrl);
  const client = createPublicClient({ transport }) as PublicClient;
  let chainId: number;
  try {
    chainId = await client.getChainId();
  } catch (cause) {
    throw new RelayerConfigError("Cannot start the relayer", [`the audit chain at AUDIT_RPC_URL=${config.auditRpcUrl} does not answer (${String(cause)})`]);
  }
  if (config.auditChainId !== undefined && config.auditChainId !== chainId) {
    throw new RelayerConfigError("Cannot start the relayer", [`AUDIT_CHAIN_ID=${config.auditChainId} but AUDIT_RPC_URL serves chain ${chainId}`]);
  }
  const deployment =
    config.anchor !== undefined && config.registry !== undefined
      ? { anchor: config.anchor, registry: config.registry, deployBlock: config.registryDeployBlock ?? 0 }
      : await readAuditDeployment(chainId).catch((cause: Error) => {
          throw new RelayerConfigError("Cannot start the relayer", [`${cause.message} (or set ANCHOR_ADDRESS and REGISTRY_ADDRESS)`]);
        });
  for (const [name, address] of [["anchor", deployment.anchor], ["registry", deployment.registry]] as const) {
    const code = await client.getCode({ address });
    if (code === undefined || code === "0x") throw new RelayerConfigError("Cannot start the relayer", [`no contract at the ${name} address ${address} on chain ${chainId}`]);
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
  const db = await openDatabase(config.databaseUrl);
  let relayer: Relayer;
  try {
    relayer = await createRelayer({
      store: db,
      registry,
      chain: { publicClient: client, privateKey: config.relayerPrivateKey, anchor: deployment.anchor, chainId },
      receiptKey: config.receiptPrivateKey,
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
    throw error;
  }
  if (config.relayerPrivateKey === config.receiptPrivateKey) logger.warn("RECEIPT_PRIVATE_KEY equals RELAYER_PRIVATE_KEY: use a separate receipt key");
  const server = await listen(relayer.app, config.port, config.host);
  relayer.start();
  logger.info({ url: server.url, chainId, anchor: deployment.anchor, registry: deployment.registry, store: redact(config.databaseUrl) }, "relayer listening");

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

/** A database URL without its password, for logs. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
}
