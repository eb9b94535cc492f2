/**
 * Shared pieces of the relayer tests: devices that sign readings, a relayer on a real chain served
 * over HTTP on 127.0.0.1, small HTTP and polling helpers. Importing this file does nothing.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { createPublicClient, http, type Address, type Hex, type PublicClient } from "viem";

import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest, type KeyScheme } from "../../oracle/core/keys.js";
import { ReadingDigester, type Reading } from "../../oracle/core/reading.js";
import { createRelayer, type Relayer, type RelayerOptions } from "../../oracle/relayer/relayer.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";
import type { AuditChain } from "../helpers/audit-chain.js";

/** A test device: a key of either scheme, registered or not. */
export interface TestDevice {
  scheme: KeyScheme;
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  address: Address;
}

export function newDevice(scheme: KeyScheme): TestDevice {
  const privateKey = generatePrivateKey(scheme);
  const publicKey = publicKeyFromPrivate(scheme, privateKey);
  return { scheme, privateKey, publicKey, address: deviceIdFromPublicKey(publicKey) };
}

export async function registeredDevice(chain: AuditChain, scheme: KeyScheme): Promise<TestDevice> {
  const device = newDevice(scheme);
  const id = await chain.registerDevice({ scheme, publicKey: device.publicKey });
  if (id !== device.address) throw new Error(`registry answered ${id}, expected ${device.address}`);
  return device;
}

/** The JSON body of a signed reading, as a device sends it. */
export interface ReadingBody {
  device: Address;
  seq: string;
  timestamp: string;
  dataHash: Hex;
  signature: Hex;
}

export function randomDataHash(): Hex {
  return bytesToHex(randomBytes(32));
}

/** Signs a reading on the given domain (default: the chain's anchor). */
export function signedReading(
  device: TestDevice,
  domain: { chainId: number; anchor: Address },
  fields: { seq: number | bigint; timestamp: number | bigint; dataHash?: Hex },
): ReadingBody {
  const reading: Reading = {
    device: device.address,
    seq: BigInt(fields.seq),
    timestamp: BigInt(fields.timestamp),
    dataHash: fields.dataHash ?? randomDataHash(),
  };
  const digest = new ReadingDigester(domain.chainId, domain.anchor).digest(reading);
  return {
    device: reading.device,
    seq: reading.seq.toString(),
    timestamp: reading.timestamp.toString(),
    dataHash: reading.dataHash,
    signature: bytesToHex(signDigest(device.scheme, device.privateKey, digest)),
  };
}

/** Readings signed now: timestamp = the chain's latest block time (≥ every registration). */
export async function chainTime(chain: AuditChain): Promise<number> {
  return Number((await chain.publicClient.getBlock({ blockTag: "latest" })).timestamp);
}

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
  text: string;
}

export async function request<T = any>(url: string, init: RequestInit = {}): Promise<HttpAnswer<T>> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body: body as T, headers: res.headers, text };
}

export function postJson<T = any>(url: string, value: unknown): Promise<HttpAnswer<T>> {
  return request<T>(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(value) });
}

/** Polls `check` until it answers a value other than undefined/false. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export async function tempDir(): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "sensorseal-relayer-"));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A relayer on a real chain, listening on 127.0.0.1. */
export interface TestRelayer {
  relayer: Relayer;
  server: RunningServer;
  url: string;
  db: SqlDatabase;
  registry: RegistryIndex;
  client: PublicClient;
  /** Graceful stop of the relayer, then the listener, index and store. */
  close(): Promise<void>;
}

export type TestRelayerOptions = Partial<Omit<RelayerOptions, "store" | "registry" | "chain" | "logger">> & {
  /** Store URL (SQLite file or postgres://); default a fresh file in `dir`. */
  databaseUrl: string;
  /** A client to use instead of a plain one (fault injection). */
  client?: PublicClient;
  /** Start the worker (default true). */
  start?: boolean;
};

export const RECEIPT_KEY: Hex = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";

export async function startTestRelayer(chain: AuditChain, options: TestRelayerOptions): Promise<TestRelayer> {
  const client = options.client ?? (createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient);
  const registry = await RegistryIndex.start({ client, registry: chain.registry, deployBlock: chain.deployBlock, pollMs: 200 });
  const db = await openDatabase(options.databaseUrl);
  const { databaseUrl: _url, client: _client, start = true, ...rest } = options;
  const relayer = await createRelayer({
    receiptKey: RECEIPT_KEY,
    batch: { maxSize: 100, maxAgeMs: 200 },
    confirmations: 1,
    ...rest,
    // In-process, the relayer shares its event loop with the test's own signing and chain: its lag says
    // nothing about the relayer, so lag shedding is off unless a test asks for it.
    limits: { maxEventLoopLagMs: 0, ...rest.limits },
    anchoring: { pollMs: 50, ...rest.anchoring },
    store: db,
    registry,
    chain: { publicClient: client, privateKey: chain.keys.relayer, anchor: chain.anchor, chainId: chain.chainId },
    logger: createLogger("relayer-test", process.env.TEST_LOG_LEVEL ?? "silent"),
  });
  const server = await listen(relayer.app, 0);
  if (start) relayer.start();
  let closed: Promise<void> | undefined;
  return {
    relayer,
    server,
    url: server.url,
    db,
    registry,
    client,
    close() {
      closed ??= (async () => {
        await relayer.stop();
        await server.close();
        registry.stop();
        await db.close();
      })();
      return closed;
    },
  };
}
