/**
 * The provisioning service as a process: configuration from the environment, the eSIM ids file
 * loaded into the store, the HTTP listener (scripts/provision.ts `serve`).
 *
 * Environment: PORT (8620), HOST (127.0.0.1), DATABASE_URL (<data>/provisioning.sqlite),
 * ISSUER_PRIVATE_KEY (required; the key recorded with `addIssuer`), AUDIT_CHAIN_ID (31337),
 * REGISTRY_ADDRESS (else the deployment record), PROVISIONING_ESIMS_FILE (eSIM ids this operator
 * issued, one a line; added at start), ATTESTATION_VALIDITY_SECONDS (604800), LOG_LEVEL.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import path from "node:path";

import { getAddress, isAddress, type Address, type Hex } from "viem";

import { dataDir, readAuditDeployment } from "../chain/deployments.js";
import { AUDIT_CHAIN_ID } from "../core/chains.js";
import { listen } from "../service/app.js";
import { ConfigError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { ensureStoreFolder, openDatabase } from "../store/sql.js";
import { createProvisioningService, PROVISIONING_PORT } from "./service.js";
import { EsimStore } from "./store.js";

export interface ProvisioningConfig {
  port: number;
  host: string;
  databaseUrl: string;
  issuerKey: Hex;
  chainId: number;
  registry?: Address;
  esimsFile?: string;
  validitySeconds: number;
  logLevel: string;
}

/**
 * Parses the environment; a ConfigError names every bad variable.
 *
 * @example
 * const config = parseProvisioningConfig({ ISSUER_PRIVATE_KEY: "0x…" });
 */
export function parseProvisioningConfig(env: NodeJS.ProcessEnv): ProvisioningConfig {
  const issues: string[] = [];
  const int = (name: string, fallback: number, max = Number.MAX_SAFE_INTEGER) => {
    const text = env[name];
    if (text === undefined || text === "") return fallback;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 0 || n > max) issues.push(`${name} must be an integer from 0 to ${max}, got "${text}"`);
    return n;
  };
  const issuerKey = env.ISSUER_PRIVATE_KEY ?? "";
  if (!/^0x[0-9a-fA-F]{64}$/.test(issuerKey))
    issues.push("ISSUER_PRIVATE_KEY must be 0x + 64 hex digits (the issuer key recorded with addIssuer)");
  const registry = env.REGISTRY_ADDRESS;
  if (registry !== undefined && registry !== "" && !isAddress(registry)) issues.push("REGISTRY_ADDRESS must be an address");
  const config: ProvisioningConfig = {
    port: int("PORT", PROVISIONING_PORT, 65_535),
    host: env.HOST ?? "127.0.0.1",
    databaseUrl: env.DATABASE_URL ?? path.join(dataDir(), "provisioning.sqlite"),
    issuerKey: issuerKey as Hex,
    chainId: int("AUDIT_CHAIN_ID", AUDIT_CHAIN_ID),
    ...(registry ? { registry: getAddress(registry) } : {}),
    ...(env.PROVISIONING_ESIMS_FILE ? { esimsFile: env.PROVISIONING_ESIMS_FILE } : {}),
    validitySeconds: int("ATTESTATION_VALIDITY_SECONDS", 7 * 24 * 3600),
    logLevel: env.LOG_LEVEL ?? "info",
  };
  if (issues.length > 0) throw new ConfigError("provisioning: invalid configuration", issues);
  return config;
}

/** Reads an eSIM ids file: one id a line, blank lines and `#` comments skipped. */
export async function readEsimIds(file: string): Promise<string[]> {
  const text = await readFile(file, "utf8").catch((cause: unknown) => {
    throw new ConfigError("provisioning: cannot read the eSIM ids file", [`${file}: ${(cause as Error).message}`]);
  });
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/**
 * Starts the service: store opened, eSIM ids added, listening.
 *
 * @example
 * const running = await startProvisioning(parseProvisioningConfig(process.env), createLogger("provisioning"));
 */
export async function startProvisioning(
  config: ProvisioningConfig,
  logger: Logger,
): Promise<{ url: string; issuer: Address; store: EsimStore; stop(): Promise<void> }> {
  const registry =
    config.registry ??
    (await readAuditDeployment(config.chainId).then(
      (d) => d.registry,
      (error: unknown) => {
        throw new ConfigError("provisioning: no registry", [`REGISTRY_ADDRESS is not set and ${(error as Error).message}`]);
      },
    ));
  await ensureStoreFolder(config.databaseUrl);
  const db = await openDatabase(config.databaseUrl);
  const store = await EsimStore.open(db);
  if (config.esimsFile !== undefined) {
    const added = await store.add(await readEsimIds(config.esimsFile), Math.floor(Date.now() / 1000));
    logger.info({ added, file: config.esimsFile }, "eSIM ids added");
  }
  const service = createProvisioningService({
    store,
    issuerKey: config.issuerKey,
    chainId: config.chainId,
    registry,
    validitySeconds: config.validitySeconds,
    logger,
  });
  const server = await listen(service.app, config.port, config.host);
  logger.info({ url: server.url, issuer: service.issuer, registry }, "provisioning service listening");
  return {
    url: server.url,
    issuer: service.issuer,
    store,
    async stop() {
      await server.close();
      await db.close();
    },
  };
}
