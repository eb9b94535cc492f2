/**
 * The market's test stack: both chains (the reward chain with the DataMarket and a settlement token),
 * a relayer, a platform with market access, devices whose signed payloads go to both, and oracles that
 * split sales. Importing this file does nothing.
 */
import assert from "node:assert/strict";
import path from "node:path";

import { network } from "hardhat";
import { createTestClient, createWalletClient, erc20Abi, getAddress, http, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { signDigest } from "../../oracle/core/keys.js";
import { buildPayload, dataHash } from "../../oracle/core/payload.js";
import { ReadingDigester } from "../../oracle/core/reading.js";
import { rewardDistributorAbi } from "../../oracle/chain/abis.js";
import type { MarketWallet } from "../../oracle/market/client.js";
import { httpScopeSource } from "../../oracle/market/scopes.js";
import { generateApiKey } from "../../oracle/platform/auth.js";
import { createPlatform, type Platform } from "../../oracle/platform/platform.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { DEV_KEYS } from "../../scripts/lib/dev-keys.js";
import { startTestOracle, type OracleTestbed, type TestOracle } from "../committee/fixtures.js";
import { ORACLE_KEYS, type RewardChain } from "../helpers/reward-chain.js";
import { postJson, request, waitFor, type TestDevice } from "../relayer/fixtures.js";

/** The deployed market on a test reward chain. */
export interface TestMarket {
  market: Address;
  token: Address;
  treasury: Address;
  /** Lists, reprices, retires. */
  operator: MarketWallet;
  /** Mints settlement tokens to a buyer (the local token's minter). */
  fund(account: Address, amount: bigint): Promise<void>;
}

/** A wallet on the reward chain for `key`. */
export function rewardWallet(reward: RewardChain, key: Hex): MarketWallet {
  return createWalletClient({
    account: privateKeyToAccount(key),
    chain: rpcChain(reward.chainId, "reward", reward.rpcUrl),
    transport: http(reward.rpcUrl),
  });
}

/** A platform with market access on the audit chain's registry and the reward chain's market. */
export interface TestPlatform {
  platform: Platform;
  server: RunningServer;
  url: string;
  adminKey: string;
  registry: RegistryIndex;
  close(): Promise<void>;
}

export async function startMarketPlatform(
  bed: OracleTestbed,
  market: TestMarket,
  o: { dir: string; confirmations: number },
): Promise<TestPlatform> {
  const registry = await RegistryIndex.start({
    client: bed.audit.publicClient,
    registry: bed.audit.registry,
    deployBlock: bed.audit.deployBlock,
    pollMs: 0,
  });
  const { key: adminKey, entry } = generateApiKey("operator", "admin");
  const platform = await createPlatform({
    store: await openDatabase(path.join(o.dir, "platform.sqlite")),
    registry,
    domain: { chainId: bed.audit.chainId, anchor: bed.audit.anchor },
    apiKeys: [entry],
    logger: createLogger("platform", process.env.TEST_LOG_LEVEL ?? "silent"),
    limits: { ipRatePerSecond: 10_000, ipBurst: 10_000, deviceReadingsPerMinute: 60_000, deviceBurst: 1000, maxClockSkewSeconds: 100_000 },
    market: {
      client: bed.reward.publicClient,
      chainId: bed.reward.chainId,
      market: market.market,
      fromBlock: 0n,
      confirmations: o.confirmations,
      siweDomain: "127.0.0.1",
    },
  });
  const server = await listen(platform.app, 0);
  return {
    platform,
    server,
    url: server.url,
    adminKey,
    registry,
    async close() {
      await server.close().catch(() => undefined);
      await platform.close();
      registry.stop();
    },
  };
}

/** Signs a payload of `device` at `ts` and sends it to the platform (raw data) and the relayer (hash); waits until anchored. */
export async function sendReading(bed: OracleTestbed, platform: TestPlatform, device: TestDevice, seq: number, ts: number): Promise<void> {
  const text = buildPayload({
    device: device.address,
    seq,
    ts,
    temperature_c: 20 + seq,
    humidity_pct: 40,
    pm2_5_ugm3: 8.5,
    pm10_ugm3: 12,
  }).text;
  const reading = { device: device.address, seq: BigInt(seq), timestamp: BigInt(ts), dataHash: dataHash(new TextEncoder().encode(text)) };
  const signature = bytesToHex(
    signDigest(device.scheme, device.privateKey, new ReadingDigester(bed.audit.chainId, bed.audit.anchor).digest(reading)),
  );
  await platform.registry.sync();
  const stored = await postJson(`${platform.url}/v1/readings`, { payload: text, signature });
  assert.equal(stored.status, 201, stored.text);
  const relayed = await postJson(`${bed.relayer.url}/v1/readings`, {
    device: device.address,
    seq: String(seq),
    timestamp: String(ts),
    dataHash: reading.dataHash,
    signature,
  });
  assert.equal(relayed.status, 202, relayed.text);
  await waitFor(
    async () => (await request(`${bed.relayer.url}/v1/readings/${device.address}/${seq}`)).body?.status === "confirmed",
    `reading ${seq} confirmed`,
  );
}

/** An oracle (key `ORACLE_KEYS[i]`) that also splits the market's sales, scopes read from the platform. */
export function startMarketOracle(
  bed: OracleTestbed,
  market: TestMarket,
  platformUrl: string,
  i: number,
  peers: string[],
  o: { confirmations: number; epochBlocks: number; settleDelaySeconds: number },
): Promise<TestOracle> {
  return startTestOracle({
    audit: bed.audit,
    reward: bed.reward,
    key: ORACLE_KEYS[i],
    dir: bed.dir,
    name: `market-o${i}`,
    sources: [bed.relayer.url, bed.mirror.url],
    peers,
    confirmations: o.confirmations,
    epochBlocks: o.epochBlocks,
    market: { market: market.market, fromBlock: 0, scopes: httpScopeSource(platformUrl), settleDelaySeconds: o.settleDelaySeconds },
  });
}

/** `count` market oracles, each the peer of every other (pushed to `oracles`, closed by the testbed). */
export async function startMarketOracleMesh(
  bed: OracleTestbed,
  market: TestMarket,
  platformUrl: string,
  oracles: TestOracle[],
  count: number,
  o: { confirmations: number; epochBlocks: number; settleDelaySeconds: number },
): Promise<void> {
  const peers: string[][] = Array.from({ length: count }, () => []);
  const started: TestOracle[] = [];
  for (let i = 0; i < count; i++) {
    const oracle = await startMarketOracle(bed, market, platformUrl, i, peers[i]!, o);
    started.push(oracle);
    oracles.push(oracle);
  }
  for (let i = 0; i < count; i++) for (let j = 0; j < count; j++) if (i !== j) peers[i]!.push(started[j]!.url);
}

/**
 * Deploys the real DataMarket and a SettlementToken (supply to the deployer, Hardhat's account #0, which
 * is also the distributor's admin) on the test reward chain, paying pools to its distributor; sets the
 * token's epoch cap on the distributor as the DataMarket Ignition module does.
 */
export async function deployTestMarket(reward: RewardChain, o: { treasury: Address; feeBps: number }): Promise<TestMarket> {
  const connection = await network.create({ network: "rewardLocal", override: { url: reward.rpcUrl } });
  try {
    const operator = rewardWallet(reward, DEV_KEYS.admin);
    const token = await connection.viem.deployContract("SettlementToken", ["SensorSeal USD", "sUSD", 10n ** 30n]);
    const market = await connection.viem.deployContract("DataMarket", [
      operator.account.address,
      operator.account.address,
      reward.distributor,
      o.treasury,
      o.feeBps,
      token.address,
    ]);
    const cap = await operator.writeContract({
      address: reward.distributor,
      abi: rewardDistributorAbi,
      functionName: "setTokenEpochCap",
      args: [token.address, 10n ** 30n],
    });
    await reward.publicClient.waitForTransactionReceipt({ hash: cap });
    return {
      market: getAddress(market.address),
      token: getAddress(token.address),
      treasury: o.treasury,
      operator,
      async fund(account, amount) {
        await reward.fund(account);
        const hash = await operator.writeContract({
          address: token.address,
          abi: erc20Abi,
          functionName: "transfer",
          args: [account, amount],
        });
        await reward.publicClient.waitForTransactionReceipt({ hash });
      },
    };
  } finally {
    await connection.provider.close();
  }
}

/** Mines `blocks` on the reward chain, `seconds` apart. */
export async function mineReward(reward: RewardChain, blocks: number, seconds = 1): Promise<void> {
  await createTestClient({ mode: "hardhat", transport: http(reward.rpcUrl) }).mine({ blocks, interval: seconds });
}

/** Takes a snapshot of the reward chain; the answer reverts to it (a reorg in a test). */
export async function rewardSnapshot(reward: RewardChain): Promise<() => Promise<void>> {
  const test = createTestClient({ mode: "hardhat", transport: http(reward.rpcUrl) });
  const id = await test.snapshot();
  return async () => {
    await test.revert({ id });
  };
}
