/**
 * Real local chains for scripts/bench.ts: Hardhat's EDR served over JSON-RPC on 127.0.0.1 (ephemeral
 * port), the system Ignition module deployed with ignition/parameters/local.json, as
 * test/helpers/audit-chain.ts does. Blocks are mined on demand (one per transaction); blocks may
 * share a timestamp, so the chain's clock stays the wall clock however many transactions a second
 * the benchmark sends (otherwise every block is ≥ 1 s after the previous one and the chain runs
 * ahead of the relayer's clock).
 *
 * @module
 */
import { rm } from "node:fs/promises";
import path from "node:path";

import { network } from "hardhat";
import {
  createPublicClient,
  createWalletClient,
  http,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";

import AuditChainModule from "../../../ignition/modules/AuditChain.js";
import RewardChainModule from "../../../ignition/modules/RewardChain.js";
import { rpcChain } from "../../../oracle/chain/rpc.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const PARAMETERS = path.join(ROOT, "ignition/parameters/local.json");

export interface BenchChain {
  rpcUrl: string;
  chainId: number;
  chain: Chain;
  publicClient: PublicClient;
  /** A wallet client signing locally with `privateKey`. */
  wallet(privateKey: Hex): WalletClient<Transport, Chain, PrivateKeyAccount>;
  /** A raw JSON-RPC call (evm_mine, hardhat_setBalance, …). */
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

type Connection = Awaited<ReturnType<typeof network.create>>;

async function serve(
  name: "audit" | "reward",
  httpNetwork: "auditLocal" | "rewardLocal",
): Promise<{ base: BenchChain; connection: Connection; deploymentId: string }> {
  const server = await network.createServer(
    { network: name, override: { allowBlocksWithSameTimestamp: true, initialDate: new Date() } },
    "127.0.0.1",
    0,
  );
  const { address, port } = await server.listen();
  const rpcUrl = `http://${address}:${port}`;
  const connection = await network.create({ network: httpNetwork, override: { url: rpcUrl } });
  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ transport }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const chain = rpcChain(chainId, name, rpcUrl);
  // Ignition journals http deployments on disk: a fresh id, removed on close.
  const deploymentId = `bench-${name}-${port}-${Date.now()}`;
  let id = 0;
  const base: BenchChain = {
    rpcUrl,
    chainId,
    chain,
    publicClient,
    wallet: (privateKey) => createWalletClient({ account: privateKeyToAccount(privateKey), chain, transport }),
    async rpc(method, params = []) {
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
      });
      const answer = (await res.json()) as { result?: unknown; error?: { message: string } };
      if (answer.error !== undefined) throw new Error(`${method}: ${answer.error.message}`);
      return answer.result;
    },
    async close() {
      await connection.provider.close();
      await server.close();
      await rm(path.join(ROOT, "ignition/deployments", deploymentId), { recursive: true, force: true });
    },
  };
  return { base, connection, deploymentId };
}

/** The audit chain (31337) with DeviceRegistry and ReadingAnchor deployed. */
export async function startBenchAuditChain(): Promise<BenchChain & { registry: Address; anchor: Address }> {
  const { base, connection, deploymentId } = await serve("audit", "auditLocal");
  try {
    const { registry, anchor } = await connection.ignition.deploy(AuditChainModule, { parameters: PARAMETERS, deploymentId });
    return { ...base, registry: registry.address, anchor: anchor.address };
  } catch (error) {
    await base.close();
    throw error;
  }
}

/** The reward chain (31338) with RewardToken and RewardDistributor deployed (oracles #5 #6 #7, threshold 2). */
export async function startBenchRewardChain(): Promise<BenchChain & { token: Address; distributor: Address }> {
  const { base, connection, deploymentId } = await serve("reward", "rewardLocal");
  try {
    const { token, distributor } = await connection.ignition.deploy(RewardChainModule, { parameters: PARAMETERS, deploymentId });
    return { ...base, token: token.address, distributor: distributor.address };
  } catch (error) {
    await base.close();
    throw error;
  }
}

/**
 * Mines an empty block on `chain` every second, so confirmations move without traffic; the returned
 * function stops it (and waits for the last call).
 */
export function mineEverySecond(chain: Pick<BenchChain, "rpc">, onError: (error: unknown) => void): () => Promise<void> {
  let mining = true;
  const miner = (async () => {
    while (mining) {
      await chain.rpc("evm_mine").catch(onError);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  return async () => {
    mining = false;
    await miner;
  };
}
