/**
 * `npm start`'s data market (issue 12), one call from scripts/stack.ts before the services start:
 *
 * 1. deploys (once; resumed from `market-deployment.json` in the data folder) the local SettlementToken
 *    and the DataMarket through Ignition, paying pools to the stack's distributor, and sets the token's
 *    epoch cap on the distributor (as ignition/modules/DataMarket.ts does for a fresh reward chain);
 * 2. adds a platform admin API key (posts scopes) to the platform's keys file;
 * 3. gives every service the market (`MARKET_ADDRESS`…: the platform grants access from purchases, the
 *    oracles split sales into their roots, the web service shows the market page);
 * 4. in the background, once the simulator has registered devices: lists a product over the next two
 *    minutes of their readings and buys it from a demo consumer wallet with a permit, then reports when
 *    the committee's posted root pays the sale out — a newcomer sees money flow: purchase → access
 *    (`npm run market -- download`) → payout claimable.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { network } from "hardhat";
import { createPublicClient, createWalletClient, erc20Abi, formatUnits, http, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { generateApiKey, hashApiKey, type ApiKeyEntry } from "../../oracle/platform/auth.js";
import { DEV_KEYS } from "./dev-keys.js";
import { startMarketDemo } from "./stack-market-demo.js";

/** Hardhat's dev account #9 (funded, no role): the demo consumer. Public knowledge: local chains only. */
export const DEMO_CONSUMER_KEY: Hex = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";
/** Seconds after a window's end before the committee splits its sales (the demo's window is 2 minutes). */
const DEMO_SETTLE_DELAY_SECONDS = 60;

/** The market on the local reward chain, with the demo's product and purchase once made. */
interface MarketDeployment {
  market: Address;
  token: Address;
  deployBlock: number;
  adminKey: string;
  demo?: { productId: string; purchaseId: string; window: { from: number; to: number } };
}

/** The stack's DataMarket: the distributor is the stack's own (an existing contract, not a new RewardChain). */
const StackMarketModule = buildModule("StackMarket", (m) => {
  const distributor = m.contractAt("RewardDistributor", m.getParameter<string>("distributor"));
  const account0 = m.getAccount(0);
  const settlementToken = m.contract("SettlementToken", ["SensorSeal USD", "sUSD", 1_000_000_000n * 10n ** 18n]);
  const market = m.contract("DataMarket", [account0, account0, distributor, account0, 1_000, settlementToken]);
  m.call(distributor, "setTokenEpochCap", [settlementToken, 1_000_000_000n * 10n ** 18n], { id: "settlementEpochCap" });
  return { market, settlementToken };
});

/** What the stack gives the market. */
export interface StackMarketInput {
  data: string;
  /** The reward chain's Hardhat connection (Ignition deploys through it). */
  connection: Awaited<ReturnType<typeof network.create>>;
  rewardRpcUrl: string;
  rewardChainId: number;
  distributor: Address;
  audit: { rpcUrl: string; registry: Address; deployBlock: number };
  platformUrl: string;
  /** An oracle's base URL (the demo reports the posted payout from it). */
  oracleUrl: string;
  /** The platform's API keys file (an admin key is added). */
  keysFile: string;
  /** Every service's environment: the market's settings are added to it. */
  serviceEnv: Record<string, string>;
  log(line: string): void;
}

/** Deploys (or resumes) the market, configures the services and starts the demo; answers the banner lines and a closer. */
export async function startStackMarket(i: StackMarketInput): Promise<{ banner: string; close(): Promise<void> }> {
  const deployment = await deployedMarket(i);
  await ensureAdminKey(i.keysFile, deployment.adminKey);
  Object.assign(i.serviceEnv, {
    MARKET_ADDRESS: deployment.market,
    MARKET_DEPLOY_BLOCK: String(deployment.deployBlock),
    MARKET_TOKEN_ADDRESS: deployment.token,
    MARKET_CONFIRMATIONS: "2",
    REWARD_RPC_URL: i.rewardRpcUrl,
    PLATFORM_URL: i.platformUrl,
    SALE_SETTLE_DELAY_SECONDS: String(DEMO_SETTLE_DELAY_SECONDS),
  });
  const consumer = privateKeyToAccount(DEMO_CONSUMER_KEY).address;
  let stopped = false;
  const demo = runDemo(i, deployment, () => stopped).catch((error: unknown) => i.log(`market demo failed: ${(error as Error).message}`));
  const banner = [
    `  market         DataMarket ${deployment.market}, settlement token sUSD ${deployment.token} (fee 10 % to the treasury, dev account #0)`,
    `                 demo: a product over the simulated devices' next 2 minutes is listed and bought by ${consumer} (dev account #9);`,
    `                 the committee pays the sale out in the first root after the window ends (+${DEMO_SETTLE_DELAY_SECONDS} s): see the [stack] market lines`,
    `  market CLI     MARKET_ADDRESS=${deployment.market} npm run market -- products   ·   MARKET_PRIVATE_KEY=${DEMO_CONSUMER_KEY} MARKET_ADDRESS=${deployment.market} npm run market -- download`,
  ].join("\n");
  return {
    banner,
    async close() {
      stopped = true;
      await demo;
    },
  };
}

async function deployedMarket(i: StackMarketInput): Promise<MarketDeployment> {
  const file = path.join(i.data, "market-deployment.json");
  const client = createPublicClient({ transport: http(i.rewardRpcUrl) }) as PublicClient;
  if (existsSync(file)) {
    const record = JSON.parse(await readFile(file, "utf8")) as MarketDeployment;
    const code = await client.getCode({ address: record.market });
    if (code !== undefined && code !== "0x") return record;
  }
  const before = await client.getBlockNumber();
  const { market, settlementToken } = await i.connection.ignition.deploy(StackMarketModule, {
    parameters: { StackMarket: { distributor: i.distributor } },
  });
  const record: MarketDeployment = {
    market: market.address,
    token: settlementToken.address,
    deployBlock: Number(before),
    adminKey: generateApiKey("stack-market-operator", "admin").key,
  };
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  i.log(`market deployed: DataMarket ${market.address}, settlement token ${settlementToken.address}`);
  return record;
}

/** Adds the market operator's admin key to the platform's keys file (once). */
async function ensureAdminKey(keysFile: string, adminKey: string): Promise<void> {
  const entries = JSON.parse(await readFile(keysFile, "utf8")) as ApiKeyEntry[];
  const wanted: ApiKeyEntry = { id: "stack-market-operator", role: "admin", sha256: hashApiKey(adminKey) };
  if (entries.some((e) => e.sha256 === wanted.sha256)) return;
  await writeFile(keysFile, `${JSON.stringify([...entries, wanted], null, 2)}\n`, { mode: 0o600 });
}

/** Polls `check` every second until it answers a value (or the stack stops: undefined). */
async function until<T>(stopped: () => boolean, check: () => Promise<T | undefined>): Promise<T | undefined> {
  while (!stopped()) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return undefined;
}

async function runDemo(i: StackMarketInput, d: MarketDeployment, stopped: () => boolean): Promise<void> {
  const audit = createPublicClient({ transport: http(i.audit.rpcUrl) }) as PublicClient;
  if (d.demo === undefined) {
    const devices = await until(stopped, async () => {
      if (!(await fetch(`${i.platformUrl}/readyz`)).ok) return undefined;
      const logs = await audit.getContractEvents({
        address: i.audit.registry,
        abi: deviceRegistryAbi,
        eventName: "DeviceRegistered",
        fromBlock: BigInt(i.audit.deployBlock),
      });
      const found = [...new Set(logs.map((l) => (l.args as { device: Address }).device.toLowerCase() as Address))];
      return found.length > 0 ? found.sort().slice(0, 50) : undefined;
    });
    if (devices === undefined) return;
    const chain = rpcChain(i.rewardChainId, "reward", i.rewardRpcUrl);
    const admin = createWalletClient({ account: privateKeyToAccount(DEV_KEYS.admin), chain, transport: http(i.rewardRpcUrl) });
    const rewardClient = createPublicClient({ chain, transport: http(i.rewardRpcUrl) }) as PublicClient;
    const bought = await startMarketDemo({
      rewardRpcUrl: i.rewardRpcUrl,
      rewardChainId: i.rewardChainId,
      market: d.market,
      token: d.token,
      platformUrl: i.platformUrl,
      adminKey: d.adminKey,
      operatorKey: DEV_KEYS.admin,
      buyerKey: DEMO_CONSUMER_KEY,
      devices,
      windowSeconds: 120,
      async fundBuyer(buyer, amount) {
        const hash = await admin.writeContract({ address: d.token, abi: erc20Abi, functionName: "transfer", args: [buyer, amount] });
        await rewardClient.waitForTransactionReceipt({ hash });
      },
      log: i.log,
    });
    d.demo = { productId: bought.productId.toString(), purchaseId: bought.purchaseId.toString(), window: bought.window };
    await writeFile(path.join(i.data, "market-deployment.json"), `${JSON.stringify(d, null, 2)}\n`, { mode: 0o600 });
  }
  await reportPayout(i, d, stopped);
}

/** Waits for the committee's posted root to carry the demo sale and says who can claim what. */
async function reportPayout(i: StackMarketInput, d: MarketDeployment, stopped: () => boolean): Promise<void> {
  const oracle = i.oracleUrl;
  const epoch = await until(stopped, async () => {
    type Latest = { epoch: number; posted: boolean; message: { tokenTotals: { token: string; cumulativeTotal: string }[] } | null };
    const latest = await fetch(`${oracle}/v1/epochs/latest`).then((r) => (r.ok ? (r.json() as Promise<Latest>) : undefined));
    const total = latest?.message?.tokenTotals.find((t) => t.token.toLowerCase() === d.token.toLowerCase());
    return latest?.posted === true && total !== undefined ? { epoch: latest.epoch, total: BigInt(total.cumulativeTotal) } : undefined;
  });
  if (epoch === undefined) return;
  const contributors = DEV_KEYS.contributors.map((k) => privateKeyToAccount(k).address);
  const shares: string[] = [];
  for (const account of contributors) {
    const res = await fetch(`${oracle}/v1/claims/${account}?token=${d.token}`);
    if (res.ok) shares.push(`${account} ${formatUnits(BigInt(((await res.json()) as { cumulative: string }).cumulative), 18)} sUSD`);
  }
  i.log(
    `market: the sale is paid out in posted root ${epoch.epoch} (${formatUnits(epoch.total, 18)} sUSD to contributors and the treasury): ` +
      `${shares.length > 0 ? shares.join(", ") : "no contributor reading in the window: the pool went to the treasury"}; ` +
      `claim on the claim page or with npm run claim`,
  );
}
