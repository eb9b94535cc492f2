import { isIP } from "node:net";
import path from "node:path";

import { getAddress, isAddress, isHex, type Hex } from "viem";
import { z } from "zod";

import type { AuditConnectionOptions } from "../chain/audit-connection.js";
import { dataDir } from "../chain/deployments.js";
import { ConfigError } from "./errors.js";

/** Environment variables parsed as integers in [min, max]. */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
export const positive = z.coerce.number().positive();
export const addressSchema = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), "must be a 0x address")
  .transform((value) => getAddress(value));
export const privateKeySchema = z
  .string()
  .refine((value) => isHex(value) && value.length === 66 && !/^0x0+$/.test(value), "must be a 32-byte 0x hex private key")
  .transform((value) => value.toLowerCase() as Hex);
export const bodyLimitSchema = z.string().regex(/^[0-9]+(b|kb|mb)$/i, "must be a size like 512kb or 1mb");

const PROXY_NAMES = new Set(["loopback", "linklocal", "uniquelocal"]);

/** One explicit proxy: an IP address, a CIDR subnet, or one of express's named subnets. */
function isProxyAddress(entry: string): boolean {
  if (PROXY_NAMES.has(entry)) return true;
  const [address, bits, ...rest] = entry.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * TRUST_PROXY, express's `trust proxy`: unset or `false` (the socket's address is the client's), a hop
 * count (`1`: one reverse proxy in front), or a comma-separated list of proxy addresses and subnets
 * (`10.0.0.1, 10.0.0.0/8, loopback`). `true` is refused: it trusts every X-Forwarded-For entry, so any
 * client could name any address and walk past the per-address limits.
 */
export const trustProxySchema = z
  .string()
  .optional()
  .transform((value, ctx): false | number | string | undefined => {
    if (value === undefined || value.trim() === "") return undefined;
    const text = value.trim();
    if (text === "false") return false;
    if (text === "true") {
      ctx.addIssue({
        code: "custom",
        message: "true is refused (any client could spoof X-Forwarded-For); give a hop count (e.g. 1) or the proxies' addresses/subnets",
      });
      return z.NEVER;
    }
    if (/^[0-9]+$/.test(text)) return Number(text);
    const entries = text.split(",").map((entry) => entry.trim());
    const bad = entries.filter((entry) => !isProxyAddress(entry));
    if (bad.length > 0) {
      ctx.addIssue({
        code: "custom",
        message: `not a hop count nor proxy addresses/subnets: ${bad.map((entry) => JSON.stringify(entry)).join(", ")}`,
      });
      return z.NEVER;
    }
    return entries.join(", ");
  });

/** HOST, PORT, DATABASE_URL, LOG_LEVEL, TRUST_PROXY: what every HTTP service reads. */
export function serviceEnvShape(defaultPort: number) {
  return {
    HOST: z.string().min(1).default("127.0.0.1"),
    PORT: int(0, 65_535).default(defaultPort),
    DATABASE_URL: z.string().min(1).optional(),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    TRUST_PROXY: trustProxySchema,
  };
}

/** The audit chain and its contracts: AUDIT_RPC_URL, AUDIT_CHAIN_ID, ANCHOR_ADDRESS, REGISTRY_ADDRESS, REGISTRY_*. */
export const auditEnvShape = {
  AUDIT_RPC_URL: z.url({ protocol: /^(https?|wss?)$/ }).default("http://127.0.0.1:8545"),
  AUDIT_CHAIN_ID: int(1).optional(),
  ANCHOR_ADDRESS: addressSchema.optional(),
  REGISTRY_ADDRESS: addressSchema.optional(),
  REGISTRY_DEPLOY_BLOCK: int(0).optional(),
  REGISTRY_POLL_MS: int(0).default(2000),
  REGISTRY_CONFIRMATIONS: int(0).default(0),
};

const SECRET = /PRIVATE_KEY|PASSWORD|SECRET/;

/**
 * Validates `env` against `schema`, throwing one ConfigError that names every bad variable
 * (secret values redacted).
 *
 * @example const e = parseEnv(z.object({ ...serviceEnvShape(8080) }), process.env, "platform");
 */
export function parseEnv<Schema extends z.ZodType>(schema: Schema, env: NodeJS.ProcessEnv, service: string): z.output<Schema> {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => {
    const name = issue.path.join(".");
    const shown = SECRET.test(name) ? (env[name] ? "<redacted>" : "") : (env[name] ?? "");
    return `${name}=${JSON.stringify(shown)}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid ${service} configuration`, issues);
}

/** The audit-chain part of a parsed environment, as `connectAuditChain` takes it. */
export function auditOptionsFromEnv(e: z.output<z.ZodObject<typeof auditEnvShape>>, service: string): AuditConnectionOptions {
  if ((e.ANCHOR_ADDRESS === undefined) !== (e.REGISTRY_ADDRESS === undefined)) {
    throw new ConfigError(`Invalid ${service} configuration`, [
      "ANCHOR_ADDRESS and REGISTRY_ADDRESS go together (or neither: the deployment record is read)",
    ]);
  }
  return {
    rpcUrl: e.AUDIT_RPC_URL,
    registryPollMs: e.REGISTRY_POLL_MS,
    registryConfirmations: e.REGISTRY_CONFIRMATIONS,
    ...(e.AUDIT_CHAIN_ID === undefined ? {} : { expectedChainId: e.AUDIT_CHAIN_ID }),
    ...(e.ANCHOR_ADDRESS === undefined ? {} : { anchor: e.ANCHOR_ADDRESS, registry: e.REGISTRY_ADDRESS }),
    ...(e.REGISTRY_DEPLOY_BLOCK === undefined ? {} : { registryDeployBlock: e.REGISTRY_DEPLOY_BLOCK }),
  };
}

/** What every HTTP service on the audit chain reads the same way (see {@link auditServiceFromEnv}). */
export interface AuditServiceConfig {
  host: string;
  port: number;
  /** `postgres://…` for PostgreSQL, else a SQLite file path. */
  databaseUrl: string;
  /** The audit chain and its contracts (AUDIT_RPC_URL, AUDIT_CHAIN_ID, ANCHOR_ADDRESS, REGISTRY_*). */
  audit: AuditConnectionOptions;
  logLevel: string;
}

/**
 * HOST, PORT, DATABASE_URL (default `<data>/<service>.sqlite`), LOG_LEVEL and the audit chain of a
 * parsed environment ({@link serviceEnvShape} and {@link auditEnvShape}).
 *
 * @throws {ConfigError} when ANCHOR_ADDRESS and REGISTRY_ADDRESS are not given together.
 * @example const base = auditServiceFromEnv(parseEnv(z.object({ ...serviceEnvShape(8080), ...auditEnvShape }), process.env, "platform"), process.env, "platform");
 */
export function auditServiceFromEnv(
  e: z.output<z.ZodObject<ReturnType<typeof serviceEnvShape> & typeof auditEnvShape>>,
  env: NodeJS.ProcessEnv,
  service: string,
): AuditServiceConfig {
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL ?? path.join(dataDir(env), `${service}.sqlite`),
    audit: auditOptionsFromEnv(e, service),
    logLevel: e.LOG_LEVEL,
  };
}
