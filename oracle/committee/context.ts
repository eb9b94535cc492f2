/**
 * What every part of a committee member shares: its options, clients, store, metrics and the little
 * state the worker and the routes both read (halt, oracle set, head). Built once by
 * {@link openCommittee}; the follower, epochs, signature exchange, poster and routes take it.
 *
 * @module
 */
import {
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  type Address,
  type Hex,
  type PrivateKeyAccount,
  type PublicClient,
  type WalletClient,
  type Chain,
  type Transport,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { rewardDistributorAbi } from "../chain/abis.js";
import { detectFeeModel, type FeeModel, type FeeModelSetting } from "../chain/fee-model.js";
import type { RegistryIndex } from "../chain/registry-index.js";
import { rpcChain } from "../chain/rpc.js";
import { OracleMessageDigester } from "../core/oracle-message.js";
import { ReadingDigester } from "../core/reading.js";
import type { RewardTree } from "../core/reward.js";
import { createCommitteeSales, type CommitteeMarketOptions, type CommitteeSales } from "../market/committee-sales.js";
import type { Logger } from "../service/logger.js";
import type { SqlDatabase } from "../store/sql.js";
import { ChainMismatchError, CommitteeConfigError } from "./errors.js";
import { ManifestCopies } from "./manifest-copies.js";
import { createOracleMetrics, type OracleMetrics } from "./metrics.js";
import { RULES_V2, type RewardRules } from "./rules.js";
import { OracleStore, type HaltReport } from "./store.js";

/** Options of `createOracle`. */
export interface OracleOptions {
  /** The SQL store, opened by the caller and closed by it after `stop()`. */
  store: SqlDatabase;
  /** Device keys and status history (a started RegistryIndex on the audit chain). */
  registry: RegistryIndex;
  audit: { client: PublicClient; chainId: number; anchor: Address };
  reward: {
    rpcUrl: string;
    chainId: number;
    distributor: Address;
    /** First block to look for RootPosted in. */
    deployBlock: number;
    /** How postRoot is typed and priced (default "auto": detected at start-up). */
    feeModel?: FeeModelSetting;
  };
  /** The oracle's secp256k1 key: signs oracle messages and pays for postRoot. */
  privateKey: Hex;
  /** Base URLs of the other oracles (read at every push: a caller may fill the array later). */
  peers: readonly string[];
  /** Blocks on top of a block before it is read (K). */
  confirmations: number;
  /** Audit-chain blocks per epoch (E). */
  epochBlocks: number;
  /** First block of epoch 1 (every oracle of the committee must use the same). */
  startBlock: number;
  logger: Logger;
  rules?: RewardRules;
  /** The reward chain's DataMarket: sales are split into the same roots (oracle/market/committee-sales.ts). */
  market?: CommitteeMarketOptions;
  /** Worker period (default 1000 ms). */
  pollMs?: number;
  /** Wait `rank × postDelayMs` once the threshold is reached before posting (rank in the oracle set), so one oracle posts. */
  postDelayMs?: number;
  /** Per-request timeout for manifests and peers (default 5000 ms). */
  httpTimeoutMs?: number;
  bodyLimit?: string;
}

/** The distributor's current oracle set. */
export interface OracleSet {
  version: number;
  oracles: Address[];
  threshold: number;
}

/** The shared parts of one committee member. */
export interface CommitteeContext {
  options: OracleOptions;
  logger: Logger;
  rules: RewardRules;
  /** K, as a bigint. */
  confirmations: bigint;
  /** How blocks are cut into epochs. */
  cut: { startBlock: bigint; epochBlocks: bigint };
  anchor: Address;
  distributor: Address;
  /** The distributor's reward token: the token of the reward leaves this committee builds. */
  rewardToken: Address;
  account: PrivateKeyAccount;
  address: Address;
  rewardClient: PublicClient;
  wallet: WalletClient<Transport, Chain, PrivateKeyAccount>;
  /** The reward chain's fee model (EIP-1559, legacy or free gas), detected at start-up. */
  feeModel: FeeModel;
  store: OracleStore;
  /** The manifests this member fetched, served to its peers (./manifest-copies.ts). */
  manifestCopies: ManifestCopies;
  metrics: OracleMetrics;
  readingDigester: ReadingDigester;
  messageDigester: OracleMessageDigester;
  /** The member's sales when a market is configured. */
  sales: CommitteeSales | undefined;
  /** Reward trees of signed epochs, by epoch (claim proofs). */
  treeCache: Map<number, RewardTree>;
  /** Mutable: a deep reorg's report, the last oracle set read, the newest head watched. */
  state: { halted: HaltReport | undefined; oracleSet: OracleSet | undefined; lastHead: bigint };
  /** Reads the distributor's current oracle set (and remembers it in `state`). */
  loadOracleSet(): Promise<OracleSet>;
  /** `fetch` with the member's per-request timeout. */
  fetch(url: string, init?: RequestInit): Promise<Response>;
}

/** Checks the options and both chains, opens and binds the store: the context of one member. */
export async function openCommittee(options: OracleOptions): Promise<CommitteeContext> {
  const { audit } = options;
  const rules = options.rules ?? RULES_V2;
  const cut = { startBlock: BigInt(options.startBlock), epochBlocks: BigInt(options.epochBlocks) };
  if (cut.epochBlocks < 1n)
    throw new CommitteeConfigError("createOracle: epochBlocks must be ≥ 1", { details: { epochBlocks: options.epochBlocks } });
  const anchor = getAddress(audit.anchor);
  const distributor = getAddress(options.reward.distributor);
  const account = privateKeyToAccount(options.privateKey);
  const rewardChain = rpcChain(options.reward.chainId, "reward", options.reward.rpcUrl);
  const rewardClient = createPublicClient({ chain: rewardChain, transport: http(options.reward.rpcUrl) }) as PublicClient;
  const wallet = createWalletClient({ account, chain: rewardChain, transport: http(options.reward.rpcUrl) });
  const actualReward = await rewardClient.getChainId();
  if (actualReward !== options.reward.chainId) throw new ChainMismatchError("reward", actualReward, options.reward.chainId);
  // The reward token is the token of every reward leaf (docs/MARKET.md §5).
  const rewardToken = getAddress(
    await rewardClient.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "token" }),
  );
  const actualAudit = await audit.client.getChainId();
  if (actualAudit !== audit.chainId) throw new ChainMismatchError("audit", actualAudit, audit.chainId);
  const feeModel = await detectFeeModel(rewardClient, {
    from: account.address,
    setting: options.reward.feeModel,
    settingNames: { feeModel: "REWARD_FEE_MODEL", chainId: "REWARD_CHAIN_ID", rpcUrl: "REWARD_RPC_URL" },
  });
  options.logger.info({ feeModel: feeModel.kind, txType: feeModel.txType }, `reward chain fee model: ${feeModel.description}`);

  const store = await OracleStore.open(options.store);
  await store.bind({
    auditChainId: String(audit.chainId),
    anchor,
    rewardChainId: String(options.reward.chainId),
    distributor,
    startBlock: cut.startBlock.toString(),
    epochBlocks: cut.epochBlocks.toString(),
    rulesVersion: String(rules.version),
    oracle: account.address,
  });
  const metrics = createOracleMetrics();
  const state: CommitteeContext["state"] = { halted: await store.halt(), oracleSet: undefined, lastHead: 0n };
  metrics.halted.set(state.halted ? 1 : 0);
  const httpTimeoutMs = options.httpTimeoutMs ?? 5000;

  return {
    options,
    logger: options.logger,
    rules,
    confirmations: BigInt(options.confirmations),
    cut,
    anchor,
    distributor,
    rewardToken,
    account,
    address: account.address,
    rewardClient,
    wallet,
    feeModel,
    store,
    manifestCopies: await ManifestCopies.open(options.store),
    metrics,
    readingDigester: new ReadingDigester(audit.chainId, anchor),
    messageDigester: new OracleMessageDigester(options.reward.chainId, distributor),
    sales:
      options.market === undefined
        ? undefined
        : await createCommitteeSales(
            { db: options.store, rewardClient, confirmations: BigInt(options.confirmations), logger: options.logger },
            options.market,
          ),
    treeCache: new Map(),
    state,
    async loadOracleSet() {
      const version = await rewardClient.readContract({
        address: distributor,
        abi: rewardDistributorAbi,
        functionName: "oracleSetVersion",
      });
      const set = await rewardClient.readContract({
        address: distributor,
        abi: rewardDistributorAbi,
        functionName: "getOracleSet",
        args: [version],
      });
      state.oracleSet = { version: Number(version), oracles: set.oracles.map((a) => getAddress(a)), threshold: Number(set.threshold) };
      return state.oracleSet;
    },
    fetch: (url, init = {}) => fetch(url, { ...init, signal: AbortSignal.timeout(httpTimeoutMs) }),
  };
}
