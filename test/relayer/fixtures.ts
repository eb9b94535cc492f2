/**
 * Shared pieces of the relayer tests: devices that sign readings, a relayer on a real chain served
 * over HTTP on 127.0.0.1, small HTTP and polling helpers. Importing this file does nothing.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before } from "node:test";

import { createPublicClient, createTestClient, http, type Address, type Hex, type PublicClient, type TestClient } from "viem";

import type { FeeModelSetting } from "../../oracle/chain/fee-model.js";
import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest, type KeyScheme } from "../../oracle/core/keys.js";
import { ReadingDigester, type Reading } from "../../oracle/core/reading.js";
import { checkRelayerRegistration, createRelayer, type Relayer, type RelayerOptions } from "../../oracle/relayer/relayer.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";
import type { BatchRow } from "../../oracle/relayer/store.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";

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
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 120_000, everyMs = 50): Promise<T> {
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
  /** The relayer's transaction key (default the dev relayer's). */
  relayerKey?: Hex;
  /** Register the relayer's URL and receipt signer on the anchor after listening (default true). */
  register?: boolean;
  /** AUDIT_FEE_MODEL (default "auto"). */
  feeModel?: FeeModelSetting;
};

export const RECEIPT_KEY: Hex = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";

export async function startTestRelayer(chain: AuditChain, options: TestRelayerOptions): Promise<TestRelayer> {
  const client = options.client ?? (createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient);
  const registry = await RegistryIndex.start({ client, registry: chain.registry, deployBlock: chain.deployBlock, pollMs: 200 });
  const db = await openDatabase(options.databaseUrl);
  const { databaseUrl: _url, client: _client, start = true, register: _register, relayerKey, feeModel, ...rest } = options;
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
    chain: { publicClient: client, privateKey: relayerKey ?? chain.keys.relayer, anchor: chain.anchor, chainId: chain.chainId, feeModel },
    logger: createLogger("relayer-test", process.env.TEST_LOG_LEVEL ?? "silent"),
  }).catch(async (error: unknown) => {
    registry.stop();
    await db.close();
    throw error;
  });
  const server = await listen(relayer.app, 0);
  // The anchor records each relayer's manifest URL and receipt signer: register the real ephemeral URL,
  // then check it as a relayer with a configured RELAYER_PUBLIC_URL does at start-up.
  if (options.register !== false) {
    await chain.registerRelayer({ manifestUrl: server.url, relayer: relayer.relayerAddress, receiptSigner: relayer.receiptSigner });
    await checkRelayerRegistration({
      publicClient: client,
      anchor: chain.anchor,
      relayer: relayer.relayerAddress,
      receiptSigner: relayer.receiptSigner,
      publicUrl: server.url,
    });
  }
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

/** What {@link useRelayerTestbed} gives a suite: a chain with four registered devices and relayers on it. */
export interface RelayerTestbed {
  chain: AuditChain;
  testClient: TestClient;
  devices: TestDevice[];
  /** Starts a relayer on a SQLite file of the suite's temp folder; closed after each test. */
  relayer(file: string, options?: Partial<TestRelayerOptions>): Promise<TestRelayer>;
  /** Closes a relayer before the test ends (a restart). */
  close(t: TestRelayer): Promise<void>;
  /** `n` fresh readings per device (next seqs), timestamped `ts`. */
  nextReadings(n: number, ts: number): ReadingBody[];
  /** `n` fresh readings per device posted as one bulk (202 asserted); answers them and their receipts. */
  submit(t: TestRelayer, n: number): Promise<{ readings: ReadingBody[]; receipts: unknown[] }>;
  /** Every batch in the relayer's store, by id. */
  batches(t: TestRelayer): Promise<BatchRow[]>;
}

/**
 * Registers the hooks of a suite that restarts relayers against one real chain: before all, a
 * chain, a temp folder and four devices (both schemes); after each test, automining back on and
 * the test's relayers closed; after all, chain and folder removed. Call it inside `describe`.
 *
 * @example
 * const bed = useRelayerTestbed({ limits: { requestRate: undefined } });
 * it("…", async () => { const t = await bed.relayer("a.sqlite"); await bed.submit(t, 2); });
 */
export function useRelayerTestbed(defaults: Partial<TestRelayerOptions> = {}): RelayerTestbed {
  let tmp: { dir: string; remove(): Promise<void> } | undefined;
  const nextSeq = new Map<string, number>();
  const open: TestRelayer[] = [];
  const bed = {
    devices: [] as TestDevice[],
    async relayer(file: string, options: Partial<TestRelayerOptions> = {}) {
      const t = await startTestRelayer(bed.chain, { databaseUrl: path.join(tmp!.dir, file), ...defaults, ...options });
      open.push(t);
      return t;
    },
    async close(t: TestRelayer) {
      await t.close();
      open.splice(open.indexOf(t), 1);
    },
    nextReadings(n: number, ts: number) {
      const out: ReadingBody[] = [];
      for (const d of bed.devices) {
        for (let i = 0; i < n; i++) {
          const seq = nextSeq.get(d.address)!;
          nextSeq.set(d.address, seq + 1);
          out.push(signedReading(d, { chainId: bed.chain.chainId, anchor: bed.chain.anchor }, { seq, timestamp: ts }));
        }
      }
      return out;
    },
    async submit(t: TestRelayer, n: number) {
      const readings = bed.nextReadings(n, await chainTime(bed.chain));
      const answer = await postJson(`${t.url}/v1/readings`, readings);
      assert.equal(answer.status, 202, answer.text);
      return { readings, receipts: answer.body.results.map((r: { receipt: unknown }) => r.receipt) };
    },
    async batches(t: TestRelayer) {
      const rows = await t.db.query<{ id: number }>("SELECT id FROM relayer_batches ORDER BY id");
      return Promise.all(rows.map(async (r) => (await t.relayer.store.batch(Number(r.id)))!));
    },
  } as RelayerTestbed;

  before(async () => {
    bed.chain = await startAuditChain();
    tmp = await tempDir();
    bed.testClient = createTestClient({ mode: "hardhat", transport: http(bed.chain.rpcUrl) });
    for (let i = 0; i < 4; i++) bed.devices.push(await registeredDevice(bed.chain, i % 2 ? "p256" : "secp256k1"));
    for (const d of bed.devices) nextSeq.set(d.address, 1);
  });
  afterEach(async () => {
    await bed.testClient.setAutomine(true);
    while (open.length > 0) await open.pop()!.close();
  });
  after(async () => {
    await bed.chain?.close();
    await tmp?.remove();
  });
  return bed;
}
