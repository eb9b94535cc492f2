import path from "node:path";

import { network } from "hardhat";
import { createPublicClient, createTestClient, http, type Address, type Hex, type PublicClient } from "viem";

import RewardChainModule from "../../ignition/modules/RewardChain.js";
import { REWARD_CHAIN_ID } from "../../oracle/core/chains.js";
import { serveTestNode, type TestNode } from "./test-node.js";

/** Hardhat's dev keys #5, #6, #7: the oracle set of ignition/parameters/local.json (threshold 2). */
export const ORACLE_KEYS = [
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
] as const satisfies readonly Hex[];

/** Funded reward-chain accounts with no role: claim senders (dev keys #8, #9). */
export const REWARD_PAYER_KEYS = [
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
] as const satisfies readonly Hex[];

export interface RewardChain {
  rpcUrl: string;
  /** Which client serves it, e.g. "EDR" or "anvil (permissioned)". */
  label: string;
  chainId: number;
  token: Address;
  distributor: Address;
  /** The chain is new: followers may start at 0. */
  deployBlock: number;
  publicClient: PublicClient;
  mine(blocks?: number): Promise<void>;
  /** Gives `account` gas money (1 ETH): only an account itself may call `claim`. */
  fund(account: Address): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real reward chain for a test: Hardhat's EDR (network "reward", chain 31338; default) or anvil
 * (`node`, see ./test-node.ts) served over JSON-RPC on 127.0.0.1 (ephemeral port), the RewardChain
 * Ignition module deployed with ignition/parameters/local.json (oracles = dev accounts #5, #6, #7,
 * threshold 2).
 *
 * @example
 * const chain = await startRewardChain();
 * await chain.publicClient.readContract({ address: chain.distributor, abi: rewardDistributorAbi, functionName: "lastEpoch" });
 * await chain.close();
 */
export async function startRewardChain(options: { node?: TestNode } = {}): Promise<RewardChain> {
  const served = await serveTestNode("reward", REWARD_CHAIN_ID, options.node);
  const { rpcUrl, port } = served;

  const connection = await network.create({ network: "rewardLocal", override: { url: rpcUrl } });
  const { token, distributor } = await connection.ignition
    .deploy(RewardChainModule, {
      parameters: path.resolve(import.meta.dirname, "../../ignition/parameters/local.json"),
      deploymentId: `test-reward-${port}-${Date.now()}`,
    })
    .catch(async (error: unknown) => {
      await connection.provider.close();
      await served.stop();
      throw error;
    });

  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: served.pollingInterval }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const testClient = createTestClient({ mode: served.testMode, transport, pollingInterval: served.pollingInterval });
  return {
    rpcUrl,
    label: served.label,
    chainId,
    token: token.address,
    distributor: distributor.address,
    deployBlock: 0,
    publicClient,
    async mine(blocks = 1) {
      await testClient.mine({ blocks });
    },
    async fund(account) {
      await testClient.setBalance({ address: account, value: 10n ** 18n });
    },
    async close() {
      await connection.provider.close();
      await served.stop();
    },
  };
}
