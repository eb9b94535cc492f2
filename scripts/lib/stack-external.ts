/**
 * `npm start` against chains it does not run: with `AUDIT_RPC_URL` and `REWARD_RPC_URL` set, the
 * stack starts no node of its own. It checks each chain's id (31337 audit, 31338 reward: the ids the
 * stack's services and ignition/parameters/local.json are configured with), deploys the Ignition
 * module where the data folder's deployment record is missing or names an address without code, and
 * writes the record, so the rest of scripts/stack.ts finds the contracts and deploys nothing itself.
 * External chains make their own blocks (Besu's fixed block time, anvil `--block-time`): nothing is
 * mined from here. This is the path to a real Hyperledger Besu network (README, "Deploying to a real
 * network").
 *
 * Ignition journals deployments on http networks under ignition/deployments/: the id names the
 * chain by its genesis hash, so a new node with the same chain id never resumes another node's journal.
 */
import path from "node:path";

import { network } from "hardhat";
import { createPublicClient, http, type PublicClient } from "viem";

import AuditChainModule from "../../ignition/modules/AuditChain.js";
import RewardChainModule from "../../ignition/modules/RewardChain.js";
import {
  findDeployBlock,
  readAuditDeployment,
  readRewardDeployment,
  writeAuditDeployment,
  writeRewardDeployment,
} from "../../oracle/chain/deployments.js";
import { AUDIT_CHAIN_ID, REWARD_CHAIN_ID } from "../../oracle/core/chains.js";
import type { LocalChain } from "./local-chain.js";

const CHAINS = {
  audit: { urlVariable: "AUDIT_RPC_URL", chainId: AUDIT_CHAIN_ID, hardhatNetwork: "auditLocal" },
  reward: { urlVariable: "REWARD_RPC_URL", chainId: REWARD_CHAIN_ID, hardhatNetwork: "rewardLocal" },
} as const;

/** An external chain cannot be used by the stack: start-up stops with this message, nothing was sent. */
export class ExternalChainError extends Error {
  override name = "ExternalChainError" as const;
}

/** What scripts/stack.ts's `startChain` answers for an external chain. */
export interface ExternalChain {
  chain: LocalChain;
  connection: Awaited<ReturnType<typeof network.create>>;
}

/** Whether `npm start` runs against external chains: both URLs set (one alone is a mistake). */
export function externalChainsWanted(env: NodeJS.ProcessEnv): boolean {
  const set = [env.AUDIT_RPC_URL, env.REWARD_RPC_URL].filter((v) => v !== undefined && v !== "").length;
  if (set === 1) throw new ExternalChainError("set both AUDIT_RPC_URL and REWARD_RPC_URL to run on external chains, or neither");
  return set === 2;
}

/**
 * The external chain `name` (undefined when `npm start` runs its own chains), its contracts deployed
 * and recorded in `dataDir`.
 *
 * @throws {ExternalChainError} unreachable, another chain id, or only one of the two URLs set.
 */
export async function externalChain(
  name: "audit" | "reward",
  env: NodeJS.ProcessEnv,
  dataDir: string,
  log: (line: string) => void,
): Promise<ExternalChain | undefined> {
  if (!externalChainsWanted(env)) return undefined;
  const { urlVariable, chainId, hardhatNetwork } = CHAINS[name];
  const url = env[urlVariable]!;
  const client = createPublicClient({ transport: http(url) }) as PublicClient;
  const actual = await client.getChainId().catch((cause: unknown) => {
    throw new ExternalChainError(`the ${name} chain at ${urlVariable}=${url} does not answer (${String(cause)})`);
  });
  if (actual !== chainId)
    throw new ExternalChainError(
      `${urlVariable}=${url} serves chain ${actual}, but npm start's ${name} chain is ${chainId}: give the node chain id ${chainId} ` +
        `(Besu: genesis config.chainId) or point ${urlVariable} at the right node`,
    );
  const connection = await network.create({ network: hardhatNetwork, override: { url } });
  try {
    await deployIfAbsent(name, client, connection, dataDir, log);
  } catch (error) {
    await connection.provider.close();
    throw error;
  }
  log(`${name} chain ${url} (external, chain ${chainId})`);
  return {
    connection,
    chain: { url, replayed: 0, mine: async () => undefined, close: async () => undefined },
  };
}

async function hasCode(client: PublicClient, address: `0x${string}`): Promise<boolean> {
  const code = await client.getCode({ address });
  return code !== undefined && code !== "0x";
}

async function deployIfAbsent(
  name: "audit" | "reward",
  client: PublicClient,
  connection: ExternalChain["connection"],
  dataDir: string,
  log: (line: string) => void,
): Promise<void> {
  const { chainId } = CHAINS[name];
  const parameters = path.resolve(import.meta.dirname, "../../ignition/parameters/local.json");
  const genesis = (await client.getBlock({ blockNumber: 0n })).hash;
  const deploymentId = `external-${name}-${chainId}-${genesis.slice(2, 14)}`;
  if (name === "audit") {
    const record = await readAuditDeployment(chainId, dataDir).catch(() => undefined);
    if (record !== undefined && (await hasCode(client, record.anchor))) return;
    const { registry, anchor } = await connection.ignition.deploy(AuditChainModule, { parameters, deploymentId });
    const deployBlock = await findDeployBlock(client, registry.address);
    await writeAuditDeployment({ chainId, registry: registry.address, anchor: anchor.address, deployBlock }, dataDir);
    log(`audit chain deployed with Ignition (${deploymentId}): registry ${registry.address}, anchor ${anchor.address}`);
    return;
  }
  const record = await readRewardDeployment(chainId, dataDir).catch(() => undefined);
  if (record !== undefined && (await hasCode(client, record.distributor))) return;
  const { token, distributor } = await connection.ignition.deploy(RewardChainModule, { parameters, deploymentId });
  const deployBlock = await findDeployBlock(client, distributor.address);
  await writeRewardDeployment({ chainId, token: token.address, distributor: distributor.address, deployBlock }, dataDir);
  log(`reward chain deployed with Ignition (${deploymentId}): token ${token.address}, distributor ${distributor.address}`);
}
