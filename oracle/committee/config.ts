/**
 * The oracle's configuration from environment variables, validated with zod at start-up.
 *
 * @module
 */
import type { Address, Hex } from "viem";
import { z } from "zod";

import {
  addressSchema,
  auditEnvShape,
  auditServiceFromEnv,
  type AuditServiceConfig,
  bodyLimitSchema,
  int,
  parseEnv,
  privateKeySchema,
  serviceEnvShape,
} from "../service/config.js";

/** The oracle's configuration (see {@link parseOracleConfig}). */
export interface OracleConfig extends AuditServiceConfig {
  reward: {
    rpcUrl: string;
    expectedChainId?: number;
    distributor?: Address;
    deployBlock?: number;
    feeModel: "auto" | "eip1559" | "legacy";
  };
  privateKey: Hex;
  peers: string[];
  confirmations: number;
  epochBlocks: number;
  /** Undefined: the audit deployment record's deployBlock. */
  startBlock?: number;
  pollMs: number;
  postDelayMs: number;
  bodyLimit: string;
  shutdownTimeoutMs: number;
}

const urlList = z
  .string()
  .transform((value) =>
    value
      .split(",")
      .map((v) => v.trim())
      .filter((v) => v !== ""),
  )
  .pipe(z.array(z.url({ protocol: /^https?$/ })));

const envSchema = z.object({
  ...serviceEnvShape(8548),
  ...auditEnvShape,
  ORACLE_PRIVATE_KEY: privateKeySchema,
  REWARD_RPC_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8546"),
  REWARD_CHAIN_ID: int(1).optional(),
  DISTRIBUTOR_ADDRESS: addressSchema.optional(),
  REWARD_DEPLOY_BLOCK: int(0).optional(),
  REWARD_FEE_MODEL: z.enum(["auto", "eip1559", "legacy"]).default("auto"),
  ORACLE_PEERS: urlList.default([]),
  CONFIRMATIONS: int(1).default(6),
  EPOCH_BLOCKS: int(1).default(100),
  EPOCH_START_BLOCK: int(0).optional(),
  ORACLE_POLL_MS: int(50).default(1000),
  ORACLE_POST_DELAY_MS: int(0).default(2000),
  ORACLE_BODY_LIMIT: bodyLimitSchema.default("64kb"),
  ORACLE_SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
});

/**
 * Reads and validates the oracle's configuration, failing with one message naming every bad
 * variable (never echoing a private key). No I/O.
 *
 * Variables: HOST (127.0.0.1), PORT (8548), DATABASE_URL (`<data>/oracle.sqlite`), AUDIT_RPC_URL,
 * AUDIT_CHAIN_ID, ANCHOR_ADDRESS + REGISTRY_ADDRESS + REGISTRY_DEPLOY_BLOCK (else the audit deployment
 * record), REGISTRY_POLL_MS, REGISTRY_CONFIRMATIONS, ORACLE_PRIVATE_KEY (required), REWARD_RPC_URL
 * (http://127.0.0.1:8546), REWARD_CHAIN_ID, DISTRIBUTOR_ADDRESS + REWARD_DEPLOY_BLOCK (else the reward
 * deployment record), REWARD_FEE_MODEL (auto | eip1559 | legacy), ORACLE_PEERS (comma-separated
 * oracle URLs), CONFIRMATIONS (6), EPOCH_BLOCKS (100), EPOCH_START_BLOCK (the audit deploy block),
 * ORACLE_POLL_MS (1000), ORACLE_POST_DELAY_MS (2000), ORACLE_BODY_LIMIT (64kb), ORACLE_SHUTDOWN_TIMEOUT_MS
 * (30000), LOG_LEVEL (info).
 *
 * @throws {ConfigError}
 * @example
 * const config = parseOracleConfig({ ORACLE_PRIVATE_KEY: "0x…" });
 * config.epochBlocks; // 100
 */
export function parseOracleConfig(env: NodeJS.ProcessEnv = process.env): OracleConfig {
  const e = parseEnv(envSchema, env, "oracle");
  return {
    ...auditServiceFromEnv(e, env, "oracle"),
    reward: {
      rpcUrl: e.REWARD_RPC_URL,
      feeModel: e.REWARD_FEE_MODEL,
      ...(e.REWARD_CHAIN_ID === undefined ? {} : { expectedChainId: e.REWARD_CHAIN_ID }),
      ...(e.DISTRIBUTOR_ADDRESS === undefined ? {} : { distributor: e.DISTRIBUTOR_ADDRESS }),
      ...(e.REWARD_DEPLOY_BLOCK === undefined ? {} : { deployBlock: e.REWARD_DEPLOY_BLOCK }),
    },
    privateKey: e.ORACLE_PRIVATE_KEY,
    peers: e.ORACLE_PEERS,
    confirmations: e.CONFIRMATIONS,
    epochBlocks: e.EPOCH_BLOCKS,
    ...(e.EPOCH_START_BLOCK === undefined ? {} : { startBlock: e.EPOCH_START_BLOCK }),
    pollMs: e.ORACLE_POLL_MS,
    postDelayMs: e.ORACLE_POST_DELAY_MS,
    bodyLimit: e.ORACLE_BODY_LIMIT,
    shutdownTimeoutMs: e.ORACLE_SHUTDOWN_TIMEOUT_MS,
  };
}
