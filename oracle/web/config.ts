/**
 * The web service's configuration from environment variables, validated with zod at start-up.
 *
 * @module
 */
import type { Address } from "viem";
import { z } from "zod";

import { REWARD_CHAIN_ID } from "../core/chains.js";
import { ConfigError } from "../service/errors.js";
import { addressSchema, int, parseEnv, serviceEnvShape } from "../service/config.js";

/** The web service's configuration (see {@link parseWebConfig}). */
export interface WebConfig {
  host: string;
  port: number;
  logLevel: string;
  audit?: {
    rpcUrl: string;
    publicRpcUrl: string;
    expectedChainId?: number;
    anchor?: Address;
    registry?: Address;
    deployBlock?: number;
    registryPollMs: number;
  };
  platform?: { url: string };
  session: { idleMs: number; maxAgeMs: number };
  publicOrigin?: string;
  relayer?: { url: string };
  auditor?: { url: string };
  oracle?: { url: string };
  reward?: { rpcUrl: string; publicRpcUrl: string; chainId: number; distributor: Address; token?: Address };
  market?: { address: Address };
  trustProxy?: boolean | number | string;
  shutdownTimeoutMs: number;
}

const url = z.url({ protocol: /^https?$/ });
const optionalUrl = url.optional();

const envSchema = z.object({
  ...serviceEnvShape(8550),
  AUDIT_RPC_URL: url.default("http://127.0.0.1:8545"),
  AUDIT_RPC_PUBLIC_URL: optionalUrl,
  AUDIT_CHAIN_ID: int(1).optional(),
  ANCHOR_ADDRESS: addressSchema.optional(),
  REGISTRY_ADDRESS: addressSchema.optional(),
  REGISTRY_DEPLOY_BLOCK: int(0).optional(),
  REGISTRY_POLL_MS: int(0).default(2000),
  PLATFORM_URL: optionalUrl,
  /** Refused (see parseWebConfig): listed so that its presence is reported, never used. */
  PLATFORM_API_KEY: z.string().optional(),
  WEB_PUBLIC_ORIGIN: z.url({ protocol: /^https?$/ }).optional(),
  WEB_SESSION_IDLE_MS: int(1000).default(30 * 60_000),
  WEB_SESSION_MAX_AGE_MS: int(1000).default(12 * 3600_000),
  RELAYER_URL: optionalUrl,
  AUDITOR_URL: optionalUrl,
  ORACLE_URL: optionalUrl,
  REWARD_RPC_URL: optionalUrl,
  REWARD_RPC_PUBLIC_URL: optionalUrl,
  REWARD_CHAIN_ID: int(1).default(REWARD_CHAIN_ID),
  DISTRIBUTOR_ADDRESS: addressSchema.optional(),
  REWARD_TOKEN_ADDRESS: addressSchema.optional(),
  /** The DataMarket (the market page; with REWARD_RPC_URL). */
  MARKET_ADDRESS: addressSchema.optional(),
  WEB_SHUTDOWN_TIMEOUT_MS: int(0).default(10_000),
});

/**
 * Reads the web service's configuration. Every upstream is optional: what is not configured shows
 * as such on the pages. No I/O.
 *
 * Variables: HOST (127.0.0.1), PORT (8550), LOG_LEVEL (info), TRUST_PROXY; AUDIT_RPC_URL
 * (http://127.0.0.1:8545), AUDIT_RPC_PUBLIC_URL (what browsers use; default AUDIT_RPC_URL),
 * AUDIT_CHAIN_ID, ANCHOR_ADDRESS + REGISTRY_ADDRESS (else the deployment record),
 * REGISTRY_DEPLOY_BLOCK, REGISTRY_POLL_MS (2000); PLATFORM_URL (no key: each consumer signs in
 * with their own); WEB_PUBLIC_ORIGIN (the origin sign-in requests must come from; default the one
 * each request reached), WEB_SESSION_IDLE_MS (30 min), WEB_SESSION_MAX_AGE_MS (12 h); RELAYER_URL;
 * AUDITOR_URL (alert banner and map); ORACLE_URL; REWARD_RPC_URL + DISTRIBUTOR_ADDRESS, REWARD_RPC_PUBLIC_URL, REWARD_CHAIN_ID (31338),
 * REWARD_TOKEN_ADDRESS (else read from the distributor); WEB_SHUTDOWN_TIMEOUT_MS (10000).
 *
 * A non-empty PLATFORM_API_KEY is refused (ConfigError), not ignored: a key of the web service's own would be
 * one consumer's access shared with every visitor, and an operator who still sets it must learn
 * that it is no longer used rather than believe the dashboard is configured as before.
 *
 * @throws {ConfigError}
 * @example
 * const config = parseWebConfig({ PLATFORM_URL: "http://127.0.0.1:8080" });
 * config.port; // 8550
 */
export function parseWebConfig(env: NodeJS.ProcessEnv): WebConfig {
  const e = parseEnv(envSchema, env, "web");
  const issues: string[] = [];
  if ((e.ANCHOR_ADDRESS === undefined) !== (e.REGISTRY_ADDRESS === undefined))
    issues.push("ANCHOR_ADDRESS and REGISTRY_ADDRESS go together (or neither: the deployment record is read)");
  if (e.PLATFORM_API_KEY !== undefined && e.PLATFORM_API_KEY !== "")
    issues.push(
      "PLATFORM_API_KEY must not be set: the dashboard holds no platform key of its own (it would be shared with every visitor); consumers sign in with their own key. Unset it; PLATFORM_URL alone configures the platform",
    );
  if ((e.REWARD_RPC_URL === undefined) !== (e.DISTRIBUTOR_ADDRESS === undefined))
    issues.push("REWARD_RPC_URL and DISTRIBUTOR_ADDRESS go together");
  if (issues.length > 0) throw new ConfigError("Invalid web configuration", issues);
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.WEB_SHUTDOWN_TIMEOUT_MS,
    session: { idleMs: e.WEB_SESSION_IDLE_MS, maxAgeMs: e.WEB_SESSION_MAX_AGE_MS },
    ...(e.WEB_PUBLIC_ORIGIN === undefined ? {} : { publicOrigin: new URL(e.WEB_PUBLIC_ORIGIN).origin }),
    ...(e.TRUST_PROXY === undefined ? {} : { trustProxy: e.TRUST_PROXY }),
    audit: {
      rpcUrl: e.AUDIT_RPC_URL,
      publicRpcUrl: e.AUDIT_RPC_PUBLIC_URL ?? e.AUDIT_RPC_URL,
      registryPollMs: e.REGISTRY_POLL_MS,
      ...(e.AUDIT_CHAIN_ID === undefined ? {} : { expectedChainId: e.AUDIT_CHAIN_ID }),
      ...(e.ANCHOR_ADDRESS === undefined ? {} : { anchor: e.ANCHOR_ADDRESS, registry: e.REGISTRY_ADDRESS }),
      ...(e.REGISTRY_DEPLOY_BLOCK === undefined ? {} : { deployBlock: e.REGISTRY_DEPLOY_BLOCK }),
    },
    ...(e.PLATFORM_URL === undefined ? {} : { platform: { url: e.PLATFORM_URL } }),
    ...(e.RELAYER_URL === undefined ? {} : { relayer: { url: e.RELAYER_URL } }),
    ...(e.AUDITOR_URL === undefined ? {} : { auditor: { url: e.AUDITOR_URL } }),
    ...(e.ORACLE_URL === undefined ? {} : { oracle: { url: e.ORACLE_URL } }),
    ...(e.REWARD_RPC_URL === undefined
      ? {}
      : {
          reward: {
            rpcUrl: e.REWARD_RPC_URL,
            publicRpcUrl: e.REWARD_RPC_PUBLIC_URL ?? e.REWARD_RPC_URL,
            chainId: e.REWARD_CHAIN_ID,
            distributor: e.DISTRIBUTOR_ADDRESS!,
            ...(e.REWARD_TOKEN_ADDRESS === undefined ? {} : { token: e.REWARD_TOKEN_ADDRESS }),
          },
        }),
    ...(e.MARKET_ADDRESS === undefined || e.REWARD_RPC_URL === undefined ? {} : { market: { address: e.MARKET_ADDRESS } }),
  };
}
