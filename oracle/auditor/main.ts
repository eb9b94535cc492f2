/**
 * Builds and starts the auditor service (what scripts/auditor.ts runs; tests call `createAuditorService`).
 *
 * @module
 */
import type { Address, PublicClient } from "viem";

import { connectAuditChain } from "../chain/audit-connection.js";
import { readAuditDeployment } from "../chain/deployments.js";
import { ApiKeyring, type ApiKeyEntry } from "../platform/auth.js";
import { readApiKeysFile } from "../platform/config.js";
import { createServiceApp, listen, type RunningServer } from "../service/app.js";
import type { Logger } from "../service/logger.js";
import { ensureStoreFolder, openDatabase, redactDatabaseUrl } from "../store/sql.js";
import { Auditor, type AuditorOptions } from "./auditor.js";
import type { AuditorConfig } from "./config.js";
import { auditorMetrics } from "./metrics.js";
import { auditorRouter } from "./routes.js";
import { AuditorStore } from "./store.js";

/** A running auditor: its HTTP server, worker and store. */
export interface RunningAuditor {
  url: string;
  port: number;
  auditor: Auditor;
  store: AuditorStore;
  stop(): Promise<void>;
}

/** Parameters of {@link createAuditorService}. */
export type AuditorServiceParameters = Omit<AuditorOptions, "store" | "metrics"> & {
  databaseUrl: string;
  apiKeys: readonly ApiKeyEntry[];
  host?: string;
  port: number;
};

/**
 * @example
 * const running = await createAuditorService({ databaseUrl: ":memory:", client, anchor, deployBlock: 0, … , port: 0 });
 * await running.stop();
 */
export async function createAuditorService(p: AuditorServiceParameters): Promise<RunningAuditor> {
  await ensureStoreFolder(p.databaseUrl);
  const store = await AuditorStore.open(await openDatabase(p.databaseUrl));
  const metrics = auditorMetrics();
  const auditor = new Auditor({ ...p, store, metrics });
  const app = createServiceApp({
    name: "auditor",
    logger: p.logger,
    router: auditorRouter({ store, auditor, keyring: new ApiKeyring(p.apiKeys), metrics, staleAfterMs: Math.max(10_000, p.pollMs * 5) }),
  });
  let server: RunningServer;
  try {
    server = await listen(app, p.port, p.host ?? "127.0.0.1");
  } catch (error) {
    await store.close();
    throw error;
  }
  auditor.start();
  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    port: server.port,
    auditor,
    store,
    stop() {
      stopping ??= (async () => {
        await auditor.stop();
        await server.close();
        await store.close();
      })();
      return stopping;
    },
  };
}

/**
 * Connects to the audit chain (contracts from the configuration or the deployment record) and starts the service.
 *
 * @example const running = await startAuditor(parseAuditorConfig(process.env), createLogger("auditor"));
 */
export async function startAuditor(config: AuditorConfig, logger: Logger): Promise<RunningAuditor> {
  const audit = await connectAuditChain(config.audit, "auditor");
  audit.registryIndex.stop(); // the verifier keeps its own index
  const deployBlock =
    config.audit.registryDeployBlock ??
    (await readAuditDeployment(audit.chainId)
      .then((d) => d.deployBlock)
      .catch(() => 0));
  const running = await createAuditorService({
    client: audit.client as PublicClient,
    anchor: audit.anchor as Address,
    deployBlock,
    platform: { url: config.platformUrl, apiKey: config.platformApiKey },
    confirmations: config.confirmations,
    pollMs: config.pollMs,
    retry: config.retry,
    silenceSeconds: config.silenceSeconds,
    ...(config.webhook === undefined ? {} : { webhook: config.webhook }),
    concurrency: config.concurrency,
    threads: config.threads,
    parallelItems: config.parallelItems,
    rotateAfterReadings: config.rotateAfterReadings,
    logger,
    databaseUrl: config.databaseUrl,
    apiKeys: await readApiKeysFile(config.apiKeysFile),
    host: config.host,
    port: config.port,
  });
  logger.info(
    {
      url: running.url,
      anchor: audit.anchor,
      chainId: audit.chainId,
      store: redactDatabaseUrl(config.databaseUrl),
      confirmations: config.confirmations,
    },
    "auditor listening",
  );
  return running;
}
