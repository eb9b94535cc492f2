/**
 * The oracle committee's environment as `npm start` runs it (scripts/stack.ts), shared with the soak
 * run (scripts/soak.ts): each member on its own store, the others as peers, epochs of `epochBlocks`
 * audit-chain blocks judged at 2 confirmations.
 *
 * @module
 */
import type { Address, Hex } from "viem";

/** The reward chain a member posts to. */
export interface CommitteeRewardChain {
  rpcUrl: string;
  chainId: number;
  distributor: Address;
  deployBlock: number;
}

/**
 * One member's variables (the audit-chain ones come from the caller's common environment).
 *
 * @example startProcess("oracle-0", "scripts/oracle.ts", oracleEnv({ key, port: 8601, peers, databaseFile, reward, epochBlocks: 30 }));
 */
export function oracleEnv(p: {
  key: Hex;
  port: number;
  /** The other members' URLs. */
  peers: readonly string[];
  databaseFile: string;
  reward: CommitteeRewardChain;
  epochBlocks: number;
}): Record<string, string> {
  return {
    PORT: String(p.port),
    DATABASE_URL: p.databaseFile,
    ORACLE_PRIVATE_KEY: p.key,
    REWARD_RPC_URL: p.reward.rpcUrl,
    REWARD_CHAIN_ID: String(p.reward.chainId),
    DISTRIBUTOR_ADDRESS: p.reward.distributor,
    REWARD_DEPLOY_BLOCK: String(p.reward.deployBlock),
    ORACLE_PEERS: p.peers.join(","),
    CONFIRMATIONS: "2",
    REGISTRY_CONFIRMATIONS: "2",
    EPOCH_BLOCKS: String(p.epochBlocks),
  };
}
