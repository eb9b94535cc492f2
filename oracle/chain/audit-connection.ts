import { createPublicClient, http, webSocket, type Address, type PublicClient } from "viem";

import { readAuditDeployment } from "./deployments.js";
import { ConfigError } from "../service/errors.js";
import { RegistryIndex } from "./registry-index.js";

export interface AuditConnectionOptions {
  rpcUrl: string;
  /** Refuse a chain with another id (a wrong URL). */
  expectedChainId?: number;
  /** Contract addresses; when both are absent they come from the deployment record. */
  anchor?: Address;
  registry?: Address;
  registryDeployBlock?: number;
  registryPollMs: number;
  registryConfirmations: number;
}

export interface AuditConnection {
  client: PublicClient;
  chainId: number;
  anchor: Address;
  registry: Address;
  /** The registry's events, followed in the background. */
  registryIndex: RegistryIndex;
}

/**
 * What every audit-chain service does first: check the chain answers with the expected id, find the
 * contracts (configuration or `data/deployments/audit-<chainId>.json`), check they have code, and
 * index the registry. Fails with a ConfigError saying what is wrong.
 *
 * @example
 * const audit = await connectAuditChain({ rpcUrl: "http://127.0.0.1:8545", registryPollMs: 1000, registryConfirmations: 0 }, "relayer");
 * audit.registryIndex.isActiveAt(device, ts);
 */
export async function connectAuditChain(options: AuditConnectionOptions, service: string): Promise<AuditConnection> {
  const fail = (issue: string, cause?: unknown): never => {
    throw new ConfigError(`Cannot start the ${service}`, [issue], { cause });
  };
  const transport = /^wss?:/.test(options.rpcUrl) ? webSocket(options.rpcUrl) : http(options.rpcUrl);
  const client = createPublicClient({ transport }) as PublicClient;
  const chainId = await client
    .getChainId()
    .catch((cause: unknown) => fail(`the audit chain at AUDIT_RPC_URL=${options.rpcUrl} does not answer (${String(cause)})`, cause));
  if (options.expectedChainId !== undefined && options.expectedChainId !== chainId) {
    fail(`AUDIT_CHAIN_ID=${options.expectedChainId} but AUDIT_RPC_URL=${options.rpcUrl} serves chain ${chainId}`);
  }
  const deployment =
    options.anchor !== undefined && options.registry !== undefined
      ? { anchor: options.anchor, registry: options.registry, deployBlock: options.registryDeployBlock ?? 0 }
      : await readAuditDeployment(chainId).catch((cause: Error) =>
          fail(`${cause.message} (or set ANCHOR_ADDRESS and REGISTRY_ADDRESS)`, cause),
        );
  for (const [name, address] of [
    ["anchor", deployment.anchor],
    ["registry", deployment.registry],
  ] as const) {
    const code = await client.getCode({ address });
    if (code === undefined || code === "0x") fail(`no contract at the ${name} address ${address} on chain ${chainId}`);
  }
  const registryIndex = await RegistryIndex.start({
    client,
    registry: deployment.registry,
    deployBlock: options.registryDeployBlock ?? deployment.deployBlock,
    pollMs: options.registryPollMs,
    confirmations: options.registryConfirmations,
  });
  return { client, chainId, anchor: deployment.anchor, registry: deployment.registry, registryIndex };
}
