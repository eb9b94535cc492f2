/**
 * Shared pieces of the reliability and security battery: an in-process platform on the test chain,
 * signature malleation, a relayer CLI child process, a retrying client. Importing this file does nothing.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer as createNetServer } from "node:net";
import path from "node:path";

import { hashTypedData, type Address, type Hex } from "viem";

import type { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { signDigest } from "../../oracle/core/keys.js";
import { buildPayload, dataHash } from "../../oracle/core/payload.js";
import { type ReadingDigester, type Reading } from "../../oracle/core/reading.js";
import { generateApiKey, type ApiKeyEntry, type ApiKeyRole } from "../../oracle/platform/auth.js";
import { createPlatform, type Platform, type PlatformLimits } from "../../oracle/platform/platform.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase } from "../../oracle/store/sql.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import { RECEIPT_KEY, type TestDevice } from "../relayer/fixtures.js";

export const ROOT = path.resolve(import.meta.dirname, "../..");

export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
export const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** An integer from the environment (bounded runs in CI, more by hand). */
export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

/** The high-s twin of a valid low-s signature (same r, s' = n − s, v flipped for secp256k1). */
export function malleate(signature: Hex): Hex {
  const bytes = hexToBytes(signature);
  const n = bytes.length === 65 ? SECP256K1_N : P256_N;
  const s = BigInt(bytesToHex(bytes.slice(32, 64)));
  const out = new Uint8Array(bytes);
  out.set(hexToBytes(`0x${(n - s).toString(16).padStart(64, "0")}`), 32);
  if (bytes.length === 65) out[64] = bytes[64] === 27 ? 28 : 27;
  return bytesToHex(out);
}

/** Signs a reading on a domain whose name or version differs from SensorSeal's (viem's hashTypedData). */
export function signOnForeignDomain(
  signer: TestDevice,
  domain: { name: string; version: string; chainId: number; verifyingContract: Address },
  reading: Reading,
): Hex {
  const digest = hashTypedData({
    domain,
    types: {
      Reading: [
        { name: "device", type: "address" },
        { name: "seq", type: "uint64" },
        { name: "timestamp", type: "uint64" },
        { name: "dataHash", type: "bytes32" },
      ],
    },
    primaryType: "Reading",
    message: reading,
  });
  return bytesToHex(signDigest(signer.scheme, signer.privateKey, hexToBytes(digest)));
}

/** A platform submission `{ payload, signature }` for `device`, signed by `signer` (default: itself). */
export function platformReading(
  device: TestDevice,
  fields: { seq: number; ts: number; signer?: TestDevice; digester: ReadingDigester; extra?: Record<string, unknown> },
): { body: { payload: string; signature: Hex }; reading: Reading } {
  const { text, bytes } = buildPayload({
    device: device.address,
    seq: fields.seq,
    ts: fields.ts,
    temperature_c: 21.5,
    humidity_pct: 40,
    pm2_5_ugm3: 8.1,
    pm10_ugm3: 12,
    ...fields.extra,
  });
  const reading: Reading = { device: device.address, seq: BigInt(fields.seq), timestamp: BigInt(fields.ts), dataHash: dataHash(bytes) };
  const signer = fields.signer ?? device;
  const signature = bytesToHex(signDigest(signer.scheme, signer.privateKey, fields.digester.digest(reading)));
  return { body: { payload: text, signature }, reading };
}

export interface TestPlatform {
  platform: Platform;
  server: RunningServer;
  url: string;
  keys: Record<ApiKeyRole, string>;
  close(): Promise<void>;
}

/** A platform on a fresh SQLite file in `dir`, API keys of every role, limits as given. */
export async function startTestPlatform(
  chain: AuditChain,
  registry: RegistryIndex,
  dir: string,
  limits: Partial<PlatformLimits> = {},
): Promise<TestPlatform> {
  const keys = {} as Record<ApiKeyRole, string>;
  const entries: ApiKeyEntry[] = [];
  for (const role of ["consumer", "admin", "device", "public"] as const) {
    const { key, entry } = generateApiKey(`battery-${role}`, role);
    keys[role] = key;
    entries.push(entry);
  }
  const platform = await createPlatform({
    store: await openDatabase(path.join(dir, `platform-${Date.now()}.sqlite`)),
    registry,
    domain: { chainId: chain.chainId, anchor: chain.anchor },
    apiKeys: entries,
    logger: createLogger("platform-battery", process.env.TEST_LOG_LEVEL ?? "silent"),
    limits: { registryResyncMs: 0, ...limits },
  });
  const server = await listen(platform.app, 0);
  return {
    platform,
    server,
    url: server.url,
    keys,
    async close() {
      await server.close().catch(() => undefined);
      await platform.close();
    },
  };
}

/** scripts/relayer.ts as a child process on the pinned Node (the one running the tests). */
export interface RelayerChild {
  child: ChildProcess;
  output(): string;
  /** Resolves the listening URL (from the "relayer listening" log line). */
  url(timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/**
 * The public URL the battery's relayer processes are registered under on the anchor (they run on
 * ephemeral ports; nothing fetches their manifests here, but a relayer refuses to start unless its
 * URL and receipt key are the ones recorded on-chain).
 */
export const BATTERY_RELAYER_URL = "http://127.0.0.1:1/battery-relayer";

/** Records the battery relayer's URL and receipt signer on the anchor (call once per chain, before spawning). */
export async function registerBatteryRelayer(chain: AuditChain): Promise<void> {
  await chain.registerRelayer({ manifestUrl: BATTERY_RELAYER_URL });
}

export function relayerEnv(chain: AuditChain, databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PORT: "0",
    RELAYER_PUBLIC_URL: BATTERY_RELAYER_URL,
    DATABASE_URL: databaseUrl,
    AUDIT_RPC_URL: chain.rpcUrl,
    ANCHOR_ADDRESS: chain.anchor,
    REGISTRY_ADDRESS: chain.registry,
    REGISTRY_DEPLOY_BLOCK: "0",
    REGISTRY_POLL_MS: "200",
    RELAYER_PRIVATE_KEY: chain.keys.relayer,
    RECEIPT_PRIVATE_KEY: RECEIPT_KEY,
    BATCH_MAX_SIZE: "50",
    BATCH_MAX_AGE_MS: "100",
    CONFIRMATIONS: "1",
    ANCHOR_POLL_MS: "50",
    LOG_LEVEL: "info",
    ...extra,
  };
}

export function spawnRelayer(env: Record<string, string>): RelayerChild {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/relayer.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      // e.g. BATTERY_RELAYER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the relayer under load.
      ...(process.env.BATTERY_RELAYER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BATTERY_RELAYER_NODE_OPTIONS } : {}),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  const keep = (chunk: Buffer) => {
    text += chunk.toString();
    if (text.length > 200_000) text = text.slice(-100_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    child,
    output: () => text,
    exited,
    async url(timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"[^\n]*"msg":"relayer listening"/.exec(text);
        if (m) return m[1];
        if (child.exitCode !== null) throw new Error(`relayer exited ${child.exitCode}: ${text.slice(-2000)}`);
        if (Date.now() > until) throw new Error(`relayer did not listen in time: ${text.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A small deterministic PRNG (mulberry32): kill times and points from a seed. */
export { seededRandom as prng } from "../../scripts/lib/bench/util.js";

/** A TCP port free on 127.0.0.1 right now (for a child process that must be told its port). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
