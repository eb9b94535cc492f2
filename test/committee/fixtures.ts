/**
 * Shared pieces of the oracle tests: two real chains, a relayer, devices with beneficiaries, a
 * manifest mirror, oracles in-process (each its own SQLite file and key). Importing this file does nothing.
 */
import assert from "node:assert/strict";
import path from "node:path";

import express from "express";
import { createPublicClient, createWalletClient, http, keccak256, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import type { FeeModelSetting } from "../../oracle/chain/fee-model.js";
import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { generatePrivateKey, type KeyScheme } from "../../oracle/core/keys.js";
import { buildBatch, type BatchItem } from "../../oracle/core/manifest.js";
import { createOracle, type Oracle } from "../../oracle/committee/oracle.js";
import type { RewardRules } from "../../oracle/committee/rules.js";
import type { CommitteeMarketOptions } from "../../oracle/market/committee-sales.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { ORACLE_KEYS, startRewardChain, type RewardChain } from "../helpers/reward-chain.js";
import type { TestNode } from "../helpers/test-node.js";
import {
  chainTime,
  newDevice,
  postJson,
  request,
  signedReading,
  startTestRelayer,
  tempDir,
  waitFor,
  type ReadingBody,
  type TestDevice,
  type TestRelayer,
  type TestRelayerOptions,
} from "../relayer/fixtures.js";

export const WEI = 10n ** 18n;

/** A registered device paying `beneficiary`. */
export async function deviceFor(chain: AuditChain, scheme: KeyScheme, beneficiary: Address): Promise<TestDevice> {
  const device = newDevice(scheme);
  const id = await chain.registerDevice({ scheme, publicKey: device.publicKey, beneficiary });
  if (id !== device.address) throw new Error(`registry answered ${id}, expected ${device.address}`);
  return device;
}

export function newAccount(): { key: Hex; address: Address } {
  const key = bytesToHex(generatePrivateKey("secp256k1"));
  return { key, address: privateKeyToAccount(key).address };
}

/** A manifest mirror: see {@link startManifestMirror}. */
export interface ManifestMirror {
  url: string;
  add(root: Hex, bytes: Uint8Array): void;
  close(): Promise<void>;
}

/** Serves extra manifests at `GET /v1/batches/:root/manifest` (a mirror / a second relayer). */
export async function startManifestMirror(): Promise<ManifestMirror> {
  const manifests = new Map<string, Uint8Array>();
  const app = express();
  app.get("/v1/batches/:id/manifest", (req, res) => {
    const bytes = manifests.get(String(req.params.id).toLowerCase());
    if (bytes === undefined) res.status(404).json({ error: { code: "NOT_FOUND", message: "no such manifest" } });
    else res.type("application/json").send(Buffer.from(bytes));
  });
  const server = await listen(app, 0);
  return { url: server.url, add: (root, bytes) => manifests.set(root.toLowerCase(), bytes), close: () => server.close() };
}

/**
 * Anchors a batch of hand-made items as a second relayer (the `stranger` account, registered by the
 * admin with `mirror.url` as its manifest URL) and, unless `publish` is false, publishes its manifest
 * on `mirror`. Answers the batch root, block and manifest bytes.
 */
export async function anchorManually(
  chain: AuditChain,
  mirror: { url: string; add(root: Hex, bytes: Uint8Array): void },
  items: BatchItem[],
  options: { publish?: boolean; manifestBytes?: Uint8Array } = {},
): Promise<{ root: Hex; blockNumber: bigint; manifestBytes: Uint8Array }> {
  const transport = http(chain.rpcUrl);
  const walletChain = rpcChain(chain.chainId, "audit", chain.rpcUrl);
  const stranger = createWalletClient({ account: privateKeyToAccount(chain.keys.stranger), chain: walletChain, transport });
  const info = await chain.publicClient.readContract({
    address: chain.anchor,
    abi: readingAnchorAbi,
    functionName: "relayerInfo",
    args: [stranger.account.address],
  });
  if (info.manifestUrl !== mirror.url)
    await chain.registerRelayer({ manifestUrl: mirror.url, relayer: stranger.account.address, receiptSigner: stranger.account.address });
  const batch = buildBatch({ chainId: chain.chainId, anchor: chain.anchor, items });
  const manifestBytes = options.manifestBytes ?? batch.manifestBytes;
  if (options.publish !== false) mirror.add(batch.root, manifestBytes);
  const hash = await stranger.writeContract({
    address: chain.anchor,
    abi: readingAnchorAbi,
    functionName: "anchorBatch",
    args: [batch.root, batch.leafCount, keccak256(manifestBytes)],
  });
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  return { root: batch.root, blockNumber: receipt.blockNumber, manifestBytes };
}

/** A reading body (as the relayer takes it) as a manifest item. */
export function itemOf(body: ReadingBody): BatchItem {
  return {
    reading: { device: body.device, seq: BigInt(body.seq), timestamp: BigInt(body.timestamp), dataHash: body.dataHash },
    signature: body.signature,
  };
}

export interface TestOracle {
  oracle: Oracle;
  server: RunningServer;
  url: string;
  db: SqlDatabase;
  close(): Promise<void>;
}

export async function startTestOracle(input: {
  audit: AuditChain;
  reward: RewardChain;
  key: Hex;
  dir: string;
  name: string;
  sources: string[];
  peers: string[];
  confirmations?: number;
  epochBlocks?: number;
  rules?: RewardRules;
  /** REWARD_FEE_MODEL (default "auto"). */
  feeModel?: FeeModelSetting;
  /** The reward chain's DataMarket: the oracle also splits its sales into the roots. */
  market?: CommitteeMarketOptions;
}): Promise<TestOracle> {
  const { audit, reward } = input;
  // Short RPC timeouts: a request lost around evm_revert is retried soon.
  const client = createPublicClient({ transport: http(audit.rpcUrl, { timeout: 3000, retryCount: 1 }) }) as PublicClient;
  const registry = await RegistryIndex.start({ client, registry: audit.registry, deployBlock: audit.deployBlock, pollMs: 0 });
  const db = await openDatabase(path.join(input.dir, `${input.name}.sqlite`));
  const oracle = await createOracle({
    store: db,
    registry,
    audit: { client, chainId: audit.chainId, anchor: audit.anchor },
    reward: {
      rpcUrl: reward.rpcUrl,
      chainId: reward.chainId,
      distributor: reward.distributor,
      deployBlock: reward.deployBlock,
      ...(input.feeModel === undefined ? {} : { feeModel: input.feeModel }),
    },
    privateKey: input.key,
    peers: input.peers,
    confirmations: input.confirmations ?? 2,
    epochBlocks: input.epochBlocks ?? 10,
    startBlock: 0,
    pollMs: 100,
    postDelayMs: 400,
    httpTimeoutMs: 2000,
    ...(input.rules === undefined ? {} : { rules: input.rules }),
    ...(input.market === undefined ? {} : { market: input.market }),
    logger: createLogger(`oracle-${input.name}`, process.env.TEST_LOG_LEVEL ?? "silent"),
  });
  const server = await listen(oracle.app, 0);
  oracle.start();
  let closed: Promise<void> | undefined;
  return {
    oracle,
    server,
    url: server.url,
    db,
    close() {
      closed ??= (async () => {
        await oracle.stop();
        await server.close();
        registry.stop();
        await db.close();
      })();
      return closed;
    },
  };
}

/** Polls `check`, mining one audit block per round, until it answers a value other than undefined/false. */
export async function untilMining<T>(
  audit: AuditChain,
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await audit.mine(1);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** The oracle's latest epoch if it is posted with this total. */
export async function postedWithTotal(url: string, total: bigint): Promise<any> {
  const answer = await request(`${url}/v1/epochs/latest`);
  return answer.status === 200 && answer.body.posted === true && answer.body.cumulativeTotal === total.toString() ? answer.body : undefined;
}

/** What every oracle test runs against: a temp folder, both chains, a relayer on the audit chain and a manifest mirror. */
export interface OracleTestbed {
  /** The temp folder (relayer and oracle SQLite files). */
  dir: string;
  audit: AuditChain;
  reward: RewardChain;
  relayer: TestRelayer;
  mirror: ManifestMirror;
  /** Closes the test's oracles, the relayer, the mirror and both chains, then removes the folder. */
  close(): Promise<void>;
}

/**
 * Starts an {@link OracleTestbed}; its `close` also closes `oracles` (the test's own, filled later).
 * If a part fails to start, what was started is closed again. `options.node` puts both chains on
 * another client (anvil, see ../helpers/test-node.ts); `options.relayer` adds relayer options.
 */
export async function startOracleTestbed(
  oracles: readonly TestOracle[],
  options: { node?: TestNode; relayer?: Partial<TestRelayerOptions> } = {},
): Promise<OracleTestbed> {
  let tmp: Awaited<ReturnType<typeof tempDir>> | undefined;
  let audit: AuditChain | undefined;
  let reward: RewardChain | undefined;
  let relayer: TestRelayer | undefined;
  let mirror: ManifestMirror | undefined;
  const close = async () => {
    await Promise.all(oracles.map((o) => o.close()));
    await relayer?.close();
    await mirror?.close();
    await reward?.close();
    await audit?.close();
    await tmp?.remove();
  };
  try {
    tmp = await tempDir();
    [audit, reward] = await Promise.all([startAuditChain({ node: options.node }), startRewardChain({ node: options.node })]);
    relayer = await startTestRelayer(audit, { ...options.relayer, databaseUrl: `${tmp.dir}/relayer.sqlite` });
    // The committee fetches manifests only from the anchoring relayer's registered URL.
    await audit.registerRelayer({ manifestUrl: relayer.url });
    mirror = await startManifestMirror();
    return { dir: tmp.dir, audit, reward, relayer, mirror, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/**
 * Starts `count` oracles (keys `ORACLE_KEYS[0…]`, names `o0…`) reading manifests from the relayer and
 * the mirror, each the peer of every other, and adds them to `oracles`.
 */
export async function startOracleMesh(
  bed: OracleTestbed,
  oracles: TestOracle[],
  count: number,
  options: { confirmations?: number; feeModel?: FeeModelSetting } = {},
): Promise<void> {
  const peers: string[][] = Array.from({ length: count }, () => []);
  const started: TestOracle[] = [];
  for (let i = 0; i < count; i++) {
    const oracle = await startTestOracle({
      audit: bed.audit,
      reward: bed.reward,
      key: ORACLE_KEYS[i],
      dir: bed.dir,
      name: `o${i}`,
      sources: [bed.relayer.url, bed.mirror.url],
      peers: peers[i],
      ...options,
    });
    started.push(oracle);
    oracles.push(oracle);
  }
  for (let i = 0; i < count; i++) for (let j = 0; j < count; j++) if (i !== j) peers[i].push(started[j].url);
}

/** Waits (mining) until every one of `oracles` shows its latest epoch posted with `total`; answers their epochs. */
export function allPosted(
  audit: AuditChain,
  oracles: readonly TestOracle[],
  total: bigint,
  what: string,
  timeoutMs?: number,
): Promise<any[]> {
  return untilMining(
    audit,
    async () => {
      const answers = await Promise.all(oracles.map((o) => postedWithTotal(o.url, total)));
      return answers.every((a) => a !== undefined) ? answers : undefined;
    },
    what,
    timeoutMs,
  );
}

/** The start of the audit chain's next minute (unix seconds): readings from there on fall in fresh minutes. */
export async function nextMinute(audit: AuditChain): Promise<number> {
  return (Math.floor((await chainTime(audit)) / 60) + 1) * 60;
}

/** Posts one reading of `device` to the relayer and waits until the relayer reports it confirmed. */
export async function submitConfirmed(
  bed: { audit: AuditChain; relayer: TestRelayer },
  device: TestDevice,
  seq: number,
  timestamp: number,
): Promise<ReadingBody> {
  const body = signedReading(device, { chainId: bed.audit.chainId, anchor: bed.audit.anchor }, { seq, timestamp });
  const answer = await postJson(`${bed.relayer.url}/v1/readings`, body);
  assert.equal(answer.status, 202, answer.text);
  await waitFor(
    async () => (await request(`${bed.relayer.url}/v1/readings/${device.address}/${seq}`)).body?.status === "confirmed",
    `reading ${seq} confirmed`,
  );
  return body;
}
