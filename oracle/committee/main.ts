/**
 * Starts the oracle from a validated configuration (what scripts/oracle.ts runs).
 *
 * @module
 */
import { createPublicClient, http, type PublicClient } from "viem";

import { connectAuditChain } from "../chain/audit-connection.js";
import { readAuditDeployment, readRewardDeployment } from "../chain/deployments.js";
import { FeeModelError } from "../chain/fee-model.js";
import { listen } from "../service/app.js";
import { ConfigError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { ensureStoreFolder, openDatabase, redactDatabaseUrl } from "../store/sql.js";
import type { OracleConfig } from "./config.js";
import { committeeMarketFromEnv } from "../market/market-env.js";
import { createOracle, type Oracle } from "./oracle.js";

export interface RunningOracle {
  url: string;
  port: number;
  oracle: Oracle;
  stop(): Promise<void>;
}

/**
 * Checks both chains, finds the contracts (configuration or deployment records), indexes the
 * registry, opens the store, listens and starts the worker. Fails fast naming what is wrong.
 *
 * @example
 * const running = await startOracle(parseOracleConfig(process.env), createLogger("oracle"));
 * process.once("SIGTERM", () => void running.stop());
 */
export async function startOracle(config: OracleConfig, logger: Logger): Promise<RunningOracle> {
  const fail = (issue: string, cause?: unknown): never => {
    throw new ConfigError("Cannot start the oracle", [issue], { cause });
  };
  const rewardClient = createPublicClient({ transport: http(config.reward.rpcUrl) }) as PublicClient;
  const rewardChainId = await rewardClient
    .getChainId()
    .catch((cause: unknown) =>
      fail(`the reward chain at REWARD_RPC_URL=${config.reward.rpcUrl} does not answer (${String(cause)})`, cause),
    );
  if (config.reward.expectedChainId !== undefined && config.reward.expectedChainId !== rewardChainId)
    fail(`REWARD_CHAIN_ID=${config.reward.expectedChainId} but REWARD_RPC_URL serves chain ${rewardChainId}`);
  const reward =
    config.reward.distributor !== undefined
      ? { distributor: config.reward.distributor, deployBlock: config.reward.deployBlock ?? 0 }
      : await readRewardDeployment(rewardChainId).catch((cause: Error) => fail(`${cause.message} (or set DISTRIBUTOR_ADDRESS)`, cause));
  const code = await rewardClient.getCode({ address: reward.distributor });
  if (code === undefined || code === "0x") fail(`no contract at the distributor address ${reward.distributor} on chain ${rewardChainId}`);

  const audit = await connectAuditChain(config.audit, "oracle");
  const startBlock =
    config.startBlock ??
    config.audit.registryDeployBlock ??
    (await readAuditDeployment(audit.chainId)
      .then((d) => d.deployBlock)
      .catch(() => 0));
  await ensureStoreFolder(config.databaseUrl);
  const db = await openDatabase(config.databaseUrl);
  let oracle: Oracle;
  try {
    oracle = await createOracle({
      store: db,
      registry: audit.registryIndex,
      audit: { client: audit.client, chainId: audit.chainId, anchor: audit.anchor },
      reward: {
        rpcUrl: config.reward.rpcUrl,
        chainId: rewardChainId,
        distributor: reward.distributor,
        deployBlock: reward.deployBlock,
        feeModel: config.reward.feeModel,
      },
      privateKey: config.privateKey,
      peers: config.peers,
      confirmations: config.confirmations,
      epochBlocks: config.epochBlocks,
      startBlock,
      pollMs: config.pollMs,
      postDelayMs: config.postDelayMs,
      bodyLimit: config.bodyLimit,
      // The data market (MARKET_ADDRESS): sales are split into the same roots (oracle/market/market-env.ts).
      market: committeeMarketFromEnv(process.env),
      logger,
    });
  } catch (error) {
    audit.registryIndex.stop();
    await db.close();
    // A reward chain whose fee model cannot be used is a start-up error naming the setting (exit 2).
    throw error instanceof FeeModelError ? new ConfigError("Cannot start the oracle", [error.message], { cause: error }) : error;
  }
  const server = await listen(oracle.app, config.port, config.host);
  oracle.start();
  logger.info(
    {
      url: server.url,
      oracle: oracle.address,
      auditChainId: audit.chainId,
      rewardChainId,
      distributor: reward.distributor,
      startBlock,
      store: redactDatabaseUrl(config.databaseUrl),
    },
    "oracle listening",
  );
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.port,
    oracle,
    stop() {
      stopping ??= (async () => {
        await oracle.stop();
        await server.close();
        audit.registryIndex.stop();
        await db.close();
      })();
      return stopping;
    },
  };
}
