/**
 * The market's settings from the environment, for the platform (purchase access) and the committee
 * (sale splits). Absent `MARKET_ADDRESS` means no market: both services run as before.
 *
 * | variable | meaning | default |
 * |---|---|---|
 * | `MARKET_ADDRESS` | the DataMarket on the reward chain | (no market) |
 * | `MARKET_DEPLOY_BLOCK` | its deployment block | 0 |
 * | `REWARD_RPC_URL` | the reward chain's RPC (platform) | http://127.0.0.1:8546 |
 * | `MARKET_CONFIRMATIONS` | K before a purchase grants access (platform) | 2 |
 * | `SIWE_DOMAIN` | the authority buyers sign in to (platform) | the platform's host:port |
 * | `PLATFORM_URL` | where scopes are read by hash (committee) | http://127.0.0.1:8080 |
 * | `SALE_SETTLE_DELAY_SECONDS` | seconds after a window's end before its sale is split (committee) | 300 |
 *
 * @module
 */
import { createPublicClient, http, isAddress, type Address, type PublicClient } from "viem";

import { ConfigError } from "../service/errors.js";
import type { PlatformMarketOptions } from "../platform/access-market.js";
import type { CommitteeMarketOptions } from "./committee-sales.js";
import { httpScopeSource } from "./scopes.js";

function marketAddress(env: NodeJS.ProcessEnv): Address | undefined {
  const m = env.MARKET_ADDRESS;
  if (m === undefined || m === "") return undefined;
  if (!isAddress(m)) throw new ConfigError("Invalid market configuration", [`MARKET_ADDRESS must be an address, got "${m}"`]);
  return m;
}

function uint(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  if (!/^[0-9]+$/.test(v)) throw new ConfigError("Invalid market configuration", [`${name} must be a non-negative integer, got "${v}"`]);
  return Number(v);
}

/**
 * The platform's market options, or undefined without `MARKET_ADDRESS`.
 *
 * @example const market = await platformMarketFromEnv(process.env, "data.example.org");
 */
export async function platformMarketFromEnv(env: NodeJS.ProcessEnv, defaultDomain: string): Promise<PlatformMarketOptions | undefined> {
  const market = marketAddress(env);
  if (market === undefined) return undefined;
  const client = createPublicClient({ transport: http(env.REWARD_RPC_URL ?? "http://127.0.0.1:8546") }) as PublicClient;
  return {
    client,
    chainId: await client.getChainId(),
    market,
    fromBlock: BigInt(uint(env, "MARKET_DEPLOY_BLOCK", 0)),
    confirmations: uint(env, "MARKET_CONFIRMATIONS", 2),
    siweDomain: env.SIWE_DOMAIN ?? defaultDomain,
  };
}

/**
 * The committee's market options, or undefined without `MARKET_ADDRESS`.
 *
 * @example const market = committeeMarketFromEnv(process.env);
 */
export function committeeMarketFromEnv(env: NodeJS.ProcessEnv): CommitteeMarketOptions | undefined {
  const market = marketAddress(env);
  if (market === undefined) return undefined;
  return {
    market,
    fromBlock: uint(env, "MARKET_DEPLOY_BLOCK", 0),
    scopes: httpScopeSource(env.PLATFORM_URL ?? "http://127.0.0.1:8080"),
    settleDelaySeconds: uint(env, "SALE_SETTLE_DELAY_SECONDS", 300),
  };
}
