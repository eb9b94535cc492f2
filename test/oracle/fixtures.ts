/**
 * Shared pieces of the oracle tests: two real chains, a relayer, devices with beneficiaries, a
 * manifest mirror, oracles in-process (each its own SQLite file and key). Importing this file does nothing.
 */
import path from "node:path";

import express from "express";
import { createPublicClient, createWalletClient, http, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { generatePrivateKey, type KeyScheme } from "../../oracle/core/keys.js";
import { buildBatch, type BatchItem } from "../../oracle/core/manifest.js";
import { createOracle, type Oracle } from "../../oracle/oracle/oracle.js";
import type { RewardRules } from "../../oracle/oracle/rules.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import type { RewardChain } from "../helpers/reward-chain.js";
import { newDevice, request, type ReadingBody, type TestDevice } from "../relayer/fixtures.js";

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

/** Serves extra manifests at `GET /v1/batches/:root/manifest` (a mirror / a second relayer). */
export async function startManifestMirror(): Promise<{ url: string; add(root: Hex, bytes: Uint8Array): void; close(): Promise<void> }> {
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
 * Anchors a batch of hand-made items as a second relayer (granted RELAYER_ROLE by the admin) and
 * publishes its manifest on `mirror`. Answers the batch root and block.
 */
export async function anchorManually(chain: AuditChain, mirror: { add(root: Hex, bytes: Uint8Array): void }, items: BatchItem[]): Promise<{ root: Hex; blockNumber: bigint }> {
  const rpcChain = { id: chain.chainId, name: "audit", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [chain.rpcUrl] } } };
  const transport = http(chain.rpcUrl);
  const admin = createWalletClient({ account: privateKeyToAccount(chain.keys.admin), chain: rpcChain, transport });
  const stranger = createWalletClient({ account: privateKeyToAccount(chain.keys.stranger), chain: rpcChain, transport });
  const role = await chain.publicClient.readContract({ address: chain.anchor, abi: readingAnchorAbi, functionName: "RELAYER_ROLE" });
  const has = await chain.publicClient.readContract({ address: chain.anchor, abi: readingAnchorAbi, functionName: "hasRole", args: [role, stranger.account.address] });
  if (!has) {
    const hash = await admin.writeContract({ address: chain.anchor, abi: readingAnchorAbi, functionName: "grantRole", args: [role, stranger.account.address] });
    await chain.publicClient.waitForTransactionReceipt({ hash });
  }
  const batch = buildBatch({ chainId: chain.chainId, anchor: chain.anchor, items });
  mirror.add(batch.root, batch.manifestBytes);
  const hash = await stranger.writeContract({ address: chain.anchor, abi: readingAnchorAbi, functionName: "anchorBatch", args: [batch.root, batch.leafCount, batch.manifestHash] });
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  return { root: batch.root, blockNumber: receipt.blockNumber };
}

/** A reading body (as the relayer takes it) as a manifest item. */
export function itemOf(body: ReadingBody): BatchItem {
  return { reading: { device: body.device, seq: BigInt(body.seq), timestamp: BigInt(body.timestamp), dataHash: body.dataHash }, signature: body.signature };
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
    reward: { rpcUrl: reward.rpcUrl, chainId: reward.chainId, distributor: reward.distributor, deployBlock: reward.deployBlock },
    privateKey: input.key,
    manifestSources: input.sources,
    peers: input.peers,
    confirmations: input.confirmations ?? 2,
    epochBlocks: input.epochBlocks ?? 10,
    startBlock: 0,
    pollMs: 100,
    postDelayMs: 400,
    httpTimeoutMs: 2000,
    ...(input.rules === undefined ? {} : { rules: input.rules }),
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
export async function untilMining<T>(audit: AuditChain, check: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
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
