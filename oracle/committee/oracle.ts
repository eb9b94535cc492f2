/**
 * The oracle service: follows the audit chain K blocks behind its head, rechecks every anchored
 * batch from its manifest, folds the readings into a deterministic reward ledger (rules in
 * ./rules.ts), cuts epochs by block ranges, signs each epoch's cumulative reward root (EIP-712 oracle
 * message), exchanges signatures with its peers and, once it holds the threshold, posts the root to
 * the RewardDistributor. Serves claim proofs.
 *
 * Endpoints:
 * - `GET /v1/claims/:account` → `{ account, cumulative, proof, epoch, root, distributor, chainId }` (404 NO_ENTITLEMENT)
 * - `GET /v1/epochs/latest`, `GET /v1/epochs/:epoch` → `{ epoch, status, root, cumulativeTotal, fromBlock, toBlock,
 *   rulesVersion, oracleSetVersion, digest, message, signatures, signaturesCollected, threshold, posted, postedRoot, txHash, postedByUs }`
 * - `POST /v1/epochs/:epoch/signatures` `{ message, signature }` → 202 `{ status: "accepted" | "pending", signaturesCollected? }`;
 *   409 CONFLICTING_MESSAGE (we computed another message), 403 UNKNOWN_SIGNER, 400 INVALID_SIGNATURE / INVALID_ORACLE_MESSAGE
 * - `GET /v1/ledger` (per beneficiary totals), `GET /v1/status`, `/healthz`, `/readyz` (503 while halted), `/metrics`
 *
 * @module
 */
import express, { type Express } from "express";
import {
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  isAddress,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi, rewardDistributorAbi } from "../chain/abis.js";
import { revertName, rpcChain } from "../chain/rpc.js";
import type { RegistryIndex } from "../chain/registry-index.js";
import { keccak256Hex } from "../core/keccak.js";
import {
  OracleMessageDigester,
  oracleMessageFromJson,
  oracleMessageToJson,
  recoverOracleSigner,
  signOracleMessage,
  sortOracleSignatures,
  type OracleMessage,
} from "../core/oracle-message.js";
import { ReadingDigester } from "../core/reading.js";
import { buildRewardTree, type RewardTree } from "../core/reward.js";
import { createServiceApp, handle } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { PROMETHEUS_CONTENT_TYPE } from "../service/metrics.js";
import type { SqlDatabase } from "../store/sql.js";
import { createOracleMetrics, type OracleMetrics } from "./metrics.js";
import { epochRange, evaluateBatch, RULES_V1, type AnchoredBatch, type RewardRules } from "./rules.js";
import { OracleStore, type BatchRecord, type EpochRow, type HaltReport } from "./store.js";

/** Options of {@link createOracle}. */
export interface OracleOptions {
  /** The SQL store, opened by the caller and closed by it after `stop()`. */
  store: SqlDatabase;
  /** Device keys and status history (a started RegistryIndex on the audit chain). */
  registry: RegistryIndex;
  audit: { client: PublicClient; chainId: number; anchor: Address };
  reward: { rpcUrl: string; chainId: number; distributor: Address; /** First block to look for RootPosted in. */ deployBlock: number };
  /** The oracle's secp256k1 key: signs oracle messages and pays for postRoot. */
  privateKey: Hex;
  /** Base URLs serving `GET /v1/batches/:root/manifest` (relayers, mirrors); any is fine: the hash is checked. */
  manifestSources: readonly string[];
  /** Base URLs of the other oracles (read at every push: a caller may fill the array later). */
  peers: readonly string[];
  /** Blocks on top of a block before it is read (K). */
  confirmations: number;
  /** Audit-chain blocks per epoch (E). */
  epochBlocks: number;
  /** First block of epoch 1 (every oracle of the committee must use the same). */
  startBlock: number;
  logger: Logger;
  rules?: RewardRules;
  /** Worker period (default 1000 ms). */
  pollMs?: number;
  /** Wait `rank × postDelayMs` once the threshold is reached before posting (rank in the oracle set), so one oracle posts. */
  postDelayMs?: number;
  /** Per-request timeout for manifests and peers (default 5000 ms). */
  httpTimeoutMs?: number;
  bodyLimit?: string;
}

/** A running oracle. */
export interface Oracle {
  app: Express;
  store: OracleStore;
  metrics: OracleMetrics;
  address: Address;
  /** One pass of the worker (tests call it directly). */
  tick(): Promise<void>;
  start(): void;
  /** Stops the worker and waits for its tick; the HTTP server and the store stay the caller's to close. */
  stop(): Promise<void>;
}

const UINT_PARAM = /^[1-9][0-9]{0,15}$/;

/** A reorg seen while reading a range: read again on the next tick. */
class ReorgDuringRead extends Error {}
/** No source served the manifest with the anchored hash: wait for one. */
class ManifestUnavailable extends Error {}

function epochJson(row: EpochRow, signatures: { signer: Address; signature: Hex }[], threshold: number | undefined) {
  const posted = row.status === "posted" || row.status === "posted_other";
  return {
    epoch: row.epoch,
    status: row.status,
    root: row.root,
    cumulativeTotal: row.cumulativeTotal.toString(),
    entries: row.entries,
    fromBlock: row.fromBlock,
    toBlock: row.toBlock,
    rulesVersion: row.rulesVersion,
    oracleSetVersion: row.oracleSetVersion,
    digest: row.digest,
    message: row.message === null ? null : JSON.parse(row.message),
    signatures,
    signaturesCollected: signatures.length,
    threshold: threshold ?? null,
    posted,
    postedRoot: row.postedRoot,
    txHash: row.txHash,
    postedByUs: row.postedByUs,
  };
}

/** `GET /v1/ledger`: the oracle's reward ledger (amounts in token wei, decimal strings). */
export interface LedgerJson {
  rulesVersion: number;
  processedEpoch: number;
  processedBlock: number;
  total: string;
  beneficiaries: { beneficiary: Address; cumulative: string; readings: number }[];
}

/**
 * Builds an oracle: opens its tables, binds them to this configuration, and returns the app plus
 * `start` / `stop` / `tick`.
 *
 * @example
 * const oracle = await createOracle({ store: db, registry, audit: { client, chainId: 31337, anchor },
 *   reward: { rpcUrl: "http://127.0.0.1:8546", chainId: 31338, distributor, deployBlock: 0 }, privateKey,
 *   manifestSources: ["http://127.0.0.1:8547"], peers: ["http://127.0.0.1:8549"], confirmations: 6,
 *   epochBlocks: 100, startBlock: 0, logger: createLogger("oracle") });
 * const server = await listen(oracle.app, 8548);
 * oracle.start();
 */
export async function createOracle(options: OracleOptions): Promise<Oracle> {
  const { logger, registry, audit } = options;
  const rules = options.rules ?? RULES_V1;
  const pollMs = options.pollMs ?? 1000;
  const postDelayMs = options.postDelayMs ?? 2000;
  const httpTimeoutMs = options.httpTimeoutMs ?? 5000;
  const K = BigInt(options.confirmations);
  const cut = { startBlock: BigInt(options.startBlock), epochBlocks: BigInt(options.epochBlocks) };
  if (cut.epochBlocks < 1n) throw new Error("createOracle: epochBlocks must be ≥ 1");
  const anchor = getAddress(audit.anchor);
  const distributor = getAddress(options.reward.distributor);
  const account = privateKeyToAccount(options.privateKey);
  const address = account.address;
  const sources = options.manifestSources.map((u) => u.replace(/\/+$/, ""));

  const rewardChain = rpcChain(options.reward.chainId, "reward", options.reward.rpcUrl);
  const rewardClient = createPublicClient({ chain: rewardChain, transport: http(options.reward.rpcUrl) }) as PublicClient;
  const wallet = createWalletClient({ account, chain: rewardChain, transport: http(options.reward.rpcUrl) });
  const actualReward = await rewardClient.getChainId();
  if (actualReward !== options.reward.chainId)
    throw new Error(`createOracle: the reward RPC serves chain ${actualReward}, expected ${options.reward.chainId}`);
  const actualAudit = await audit.client.getChainId();
  if (actualAudit !== audit.chainId) throw new Error(`createOracle: the audit RPC serves chain ${actualAudit}, expected ${audit.chainId}`);

  const store = await OracleStore.open(options.store);
  await store.bind({
    auditChainId: String(audit.chainId),
    anchor,
    rewardChainId: String(options.reward.chainId),
    distributor,
    startBlock: cut.startBlock.toString(),
    epochBlocks: cut.epochBlocks.toString(),
    rulesVersion: String(rules.version),
    oracle: address,
  });
  const metrics = createOracleMetrics();
  const readingDigester = new ReadingDigester(audit.chainId, anchor);
  const messageDigester = new OracleMessageDigester(options.reward.chainId, distributor);
  const domain = { chainId: audit.chainId, anchor };

  let halted: HaltReport | undefined = await store.halt();
  metrics.halted.set(halted ? 1 : 0);
  let oracleSet: { version: number; oracles: Address[]; threshold: number } | undefined;
  let lastHead = 0n;
  /** Unconfirmed blocks seen at the head: number → hash (shallow-reorg detection). */
  const tipSeen = new Map<bigint, Hex>();
  /** Peers that answered our signature for an epoch: `${epoch} ${peer}`. */
  const delivered = new Set<string>();
  /** When we first held the threshold for an epoch (ms). */
  const thresholdSince = new Map<number, number>();
  const treeCache = new Map<number, RewardTree>();

  async function loadOracleSet(): Promise<NonNullable<typeof oracleSet>> {
    const version = await rewardClient.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "oracleSetVersion" });
    const set = await rewardClient.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "getOracleSet", args: [version] });
    oracleSet = { version: Number(version), oracles: set.oracles.map((a) => getAddress(a)), threshold: Number(set.threshold) };
    return oracleSet;
  }

  async function fetchWithTimeout(url: string, init: RequestInit = {}): Promise<Response> {
    return fetch(url, { ...init, signal: AbortSignal.timeout(httpTimeoutMs) });
  }

  async function fetchManifest(batch: AnchoredBatch): Promise<Uint8Array> {
    for (const source of sources) {
      try {
        const res = await fetchWithTimeout(`${source}/v1/batches/${batch.root}/manifest`);
        if (!res.ok) continue;
        const bytes = new Uint8Array(await res.arrayBuffer());
        if (keccak256Hex(bytes).toLowerCase() === batch.manifestHash.toLowerCase()) return bytes;
        logger.warn({ source, batchId: batch.batchId.toString() }, "a source served a manifest that does not hash to the anchored manifestHash");
      } catch (error) {
        logger.debug({ source, err: error }, "manifest source failed");
      }
    }
    metrics.manifestFailures.inc();
    throw new ManifestUnavailable(`no source serves the manifest of batch ${batch.batchId} (manifestHash ${batch.manifestHash})`);
  }

  async function haltOn(block: number, storedHash: Hex, chainHash: Hex | null): Promise<void> {
    const report: HaltReport = {
      reason: "DEEP_REORG",
      message:
        `audit-chain block ${block} was ${storedHash} when it was folded into the ledger (≥ ${options.confirmations} confirmations) ` +
        `and is now ${chainHash ?? "missing"}: a reorganisation deeper than the confirmation depth. The oracle stopped; ` +
        `an operator must check the chain and rebuild this oracle's store.`,
      block,
      storedHash,
      chainHash,
      confirmations: options.confirmations,
      detectedAt: new Date().toISOString(),
    };
    halted = report;
    await store.setHalt(report);
    metrics.halted.set(1);
    metrics.reorgs.inc({ depth: "deep" });
    logger.fatal(report, "deep reorg: halted");
  }

  /** Compares the stored hashes of processed blocks with the chain, newest first; halts on a change. */
  async function checkProcessed(): Promise<boolean> {
    const recent = await store.recentBlocks(64);
    if (recent.length === 0) return true;
    const newest = recent[0];
    const block = await audit.client.getBlock({ blockNumber: BigInt(newest.number) }).catch(() => null);
    if (block !== null && block.hash === newest.hash) return true;
    // Find the oldest stored block that changed, for the report.
    let changed = { number: newest.number, stored: newest.hash, now: block?.hash ?? null };
    for (const b of recent.slice(1)) {
      const now = await audit.client.getBlock({ blockNumber: BigInt(b.number) }).catch(() => null);
      if (now !== null && now.hash === b.hash) break;
      changed = { number: b.number, stored: b.hash, now: now?.hash ?? null };
    }
    await haltOn(changed.number, changed.stored, changed.now);
    return false;
  }

  /** Remembers the unconfirmed head; a seen block whose hash changed is a shallow reorg (nothing was built on it). */
  async function watchTip(head: bigint): Promise<void> {
    for (const [number, hash] of tipSeen) {
      if (number > head) {
        // The chain got shorter: a reorg.
        tipSeen.delete(number);
        metrics.reorgs.inc({ depth: "shallow" });
        logger.warn({ block: number.toString() }, "shallow reorg: a seen block is gone; re-reading (nothing was built on it)");
        continue;
      }
      const now = await audit.client.getBlock({ blockNumber: number });
      if (now.hash !== hash) {
        metrics.reorgs.inc({ depth: "shallow" });
        logger.warn({ block: number.toString(), was: hash, now: now.hash }, "shallow reorg: re-reading (nothing was built on it)");
        tipSeen.delete(number);
      } else if (number <= head - K) tipSeen.delete(number);
    }
    if (K > 0n && !tipSeen.has(head)) {
      const block = await audit.client.getBlock({ blockNumber: head });
      if (block.hash !== null) tipSeen.set(head, block.hash);
    }
  }

  async function processEpoch(epoch: number): Promise<void> {
    const { fromBlock, toBlock } = epochRange(BigInt(epoch), cut);
    const toHeader = await audit.client.getBlock({ blockNumber: toBlock });
    // The registry must be read at least up to the epoch's last block.
    await registry.sync();
    if (registry.syncedTimestamp < Number(toHeader.timestamp)) throw new ReorgDuringRead("registry index behind the epoch");
    const logs = await audit.client.getContractEvents({ address: anchor, abi: readingAnchorAbi, eventName: "BatchAnchored", fromBlock, toBlock, strict: true });
    logs.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
    // Every log must come from the blocks the chain has now (else a reorg raced the read).
    const blocks = new Map<bigint, Hex>([[toBlock, toHeader.hash]]);
    for (const log of logs) {
      if (!blocks.has(log.blockNumber)) blocks.set(log.blockNumber, (await audit.client.getBlock({ blockNumber: log.blockNumber })).hash);
      if (blocks.get(log.blockNumber) !== log.blockHash) throw new ReorgDuringRead(`block ${log.blockNumber} changed while reading`);
    }
    if (epoch > 1) {
      const previous = await store.blockHash(fromBlock - 1n);
      if (previous !== undefined) {
        const prevNow = (await audit.client.getBlock({ blockNumber: fromBlock - 1n })).hash;
        if (prevNow !== previous) {
          await haltOn(Number(fromBlock - 1n), previous, prevNow);
          return;
        }
      }
    }

    const devices = await store.deviceStates();
    const touched = new Map<string, { lastSeq: bigint; lastMinute: bigint }>();
    const state = devices;
    const balances = await store.balances();
    const before = [...balances.values()].reduce((sum, b) => sum + b.cumulative, 0n);
    const records: BatchRecord[] = [];
    for (const log of logs) {
      const anchored: AnchoredBatch = {
        batchId: log.args.batchId,
        root: log.args.root,
        manifestHash: log.args.manifestHash,
        leafCount: Number(log.args.leafCount),
        blockNumber: log.blockNumber,
      };
      const manifestBytes = await fetchManifest(anchored);
      const evaluation = evaluateBatch({ manifestBytes, anchored, domain, digester: readingDigester, registry, state, rules });
      for (const r of evaluation.rewards) {
        const key = r.beneficiary.toLowerCase();
        const b = balances.get(key) ?? { beneficiary: getAddress(r.beneficiary), cumulative: 0n, readings: 0 };
        b.cumulative += r.amount;
        b.readings += 1;
        balances.set(key, b);
      }
      for (const r of [...evaluation.rewards, ...evaluation.rejected]) {
        const key = r.device.toLowerCase();
        const s = state.get(key);
        if (s !== undefined) touched.set(key, s);
      }
      records.push({
        batchId: anchored.batchId,
        blockNumber: log.blockNumber,
        logIndex: log.logIndex,
        blockHash: log.blockHash,
        txHash: log.transactionHash,
        root: anchored.root,
        manifestHash: anchored.manifestHash,
        leafCount: anchored.leafCount,
        evaluation,
      });
    }
    // The chain must still be the one read.
    const toAgain = await audit.client.getBlock({ blockNumber: toBlock });
    if (toAgain.hash !== toHeader.hash) throw new ReorgDuringRead(`block ${toBlock} changed while reading`);

    const entries = [...balances.values()].filter((b) => b.cumulative > 0n);
    const total = entries.reduce((sum, b) => sum + b.cumulative, 0n);
    let status: "empty" | "signed" = "empty";
    let root: Hex | null = null;
    let message: OracleMessage | undefined;
    let ownSignature: { signer: Address; signature: Hex } | undefined;
    let oracleSetVersion: number | null = null;
    if (entries.length > 0 && total !== before) {
      const tree = buildRewardTree(entries.map((b) => ({ account: b.beneficiary, cumulative: b.cumulative })));
      const set = await loadOracleSet();
      oracleSetVersion = set.version;
      root = tree.root;
      message = {
        sourceChainId: BigInt(audit.chainId),
        destinationChainId: BigInt(options.reward.chainId),
        distributor,
        epoch: BigInt(epoch),
        root,
        cumulativeTotal: tree.total,
        fromBlock,
        toBlock,
        rulesVersion: rules.version,
        oracleSetVersion: set.version,
      };
      ownSignature = signOracleMessage(options.privateKey, messageDigester, message);
      status = "signed";
      treeCache.set(epoch, tree);
    }
    await store.commitEpoch({
      epoch: {
        epoch,
        fromBlock: Number(fromBlock),
        toBlock: Number(toBlock),
        status,
        root,
        cumulativeTotal: total,
        entries: entries.length,
        rulesVersion: rules.version,
        oracleSetVersion,
        digest: message === undefined ? null : messageDigester.digestHex(message).toLowerCase() as Hex,
        message: message === undefined ? null : JSON.stringify(oracleMessageToJson(message)),
      },
      batches: records,
      devices: touched,
      balances,
      blocks: [...blocks].map(([number, hash]) => ({ number, hash })),
      ...(ownSignature === undefined ? {} : { ownSignature }),
    });
    for (const r of records) {
      metrics.batches.inc({ status: r.evaluation.status, ...(r.evaluation.reason ? { reason: r.evaluation.reason } : {}) });
      if (r.evaluation.rewards.length > 0) metrics.readings.inc({ result: "rewarded" }, r.evaluation.rewards.length);
      for (const j of r.evaluation.rejected) metrics.readings.inc({ result: "rejected", reason: j.reason });
      if (r.evaluation.status === "rejected") metrics.readings.inc({ result: "rejected", reason: r.evaluation.reason ?? "INVALID_BATCH" }, r.leafCount);
      if (r.evaluation.status === "rejected" || r.evaluation.rejected.length > 0)
        logger.warn({ batchId: r.batchId.toString(), reason: r.evaluation.reason, rejected: r.evaluation.rejected.map((j) => ({ device: j.device, seq: j.seq.toString(), reason: j.reason })) }, "readings not rewarded");
    }
    metrics.epochs.inc({ status });
    metrics.processedBlock.set(Number(toBlock));
    logger.info({ epoch, fromBlock: fromBlock.toString(), toBlock: toBlock.toString(), batches: records.length, status, root, total: total.toString() }, "epoch processed");
  }

  /** Follows RootPosted for our unposted epochs up to the distributor's lastEpoch. */
  async function syncPosted(): Promise<bigint> {
    const lastEpoch = await rewardClient.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "lastEpoch" });
    for (const row of await store.epochsWithStatus("signed")) {
      if (BigInt(row.epoch) > lastEpoch) continue;
      const events = await rewardClient.getContractEvents({
        address: distributor,
        abi: rewardDistributorAbi,
        eventName: "RootPosted",
        args: { epoch: BigInt(row.epoch) },
        fromBlock: BigInt(options.reward.deployBlock),
        strict: true,
      });
      const event = events[0];
      if (event === undefined) {
        await store.setEpochOutcome(row.epoch, "superseded", null, null);
        continue;
      }
      const ours = event.args.root.toLowerCase() === row.root?.toLowerCase();
      const byUs = ours && (await rewardClient.getTransaction({ hash: event.transactionHash })).from.toLowerCase() === address.toLowerCase();
      await store.setEpochOutcome(row.epoch, ours ? "posted" : "posted_other", event.args.root, event.transactionHash, byUs);
      if (ours) await store.pruneSnapshots(row.epoch);
      else logger.error({ epoch: row.epoch, ours: row.root, posted: event.args.root }, "the committee posted another root than ours for this epoch");
    }
    return lastEpoch;
  }

  async function pushSignatures(lastEpoch: bigint): Promise<void> {
    for (const row of await store.epochsWithStatus("signed")) {
      if (BigInt(row.epoch) <= lastEpoch || row.digest === null || row.message === null) continue;
      const own = (await store.signatures(row.epoch, row.digest)).find((s) => s.signer === address);
      if (own === undefined) continue;
      for (const peer of options.peers.map((u) => u.replace(/\/+$/, ""))) {
        const key = `${row.epoch} ${peer}`;
        if (delivered.has(key)) continue;
        try {
          const res = await fetchWithTimeout(`${peer}/v1/epochs/${row.epoch}/signatures`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ message: JSON.parse(row.message), signature: own.signature }),
          });
          if (res.status === 202 || res.status === 409) delivered.add(key);
          if (res.status === 409) logger.warn({ epoch: row.epoch, peer, answer: await res.text() }, "a peer computed another message for this epoch");
        } catch (error) {
          logger.debug({ peer, err: error }, "peer unreachable");
        }
      }
    }
  }

  async function tryPost(lastEpoch: bigint): Promise<void> {
    const signed = await store.epochsWithStatus("signed");
    const set = oracleSet ?? (await loadOracleSet());
    for (const row of signed.reverse()) {
      if (BigInt(row.epoch) <= lastEpoch || row.digest === null || row.message === null) continue;
      const signatures = (await store.signatures(row.epoch, row.digest)).filter((s) => set.oracles.includes(getAddress(s.signer)));
      if (signatures.length < set.threshold || row.oracleSetVersion !== set.version) continue;
      const since = thresholdSince.get(row.epoch) ?? Date.now();
      thresholdSince.set(row.epoch, since);
      const rank = Math.max(0, set.oracles.indexOf(address));
      if (Date.now() - since < rank * postDelayMs) return;
      const message = oracleMessageFromJson(JSON.parse(row.message));
      try {
        const { request } = await rewardClient.simulateContract({
          account,
          address: distributor,
          abi: rewardDistributorAbi,
          functionName: "postRoot",
          args: [message, sortOracleSignatures(signatures)],
        });
        // The full ABI, not the simulation's one-function request ABI: a revert at gas estimation (e.g.
        // another oracle's postRoot for this epoch waiting in the mempool) must decode to its error name.
        const hash = await wallet.writeContract({ ...request, abi: rewardDistributorAbi });
        const receipt = await rewardClient.waitForTransactionReceipt({ hash });
        if (receipt.status !== "success") throw new Error(`postRoot transaction ${hash} reverted`);
        await store.setEpochOutcome(row.epoch, "posted", row.root, hash, true);
        await store.pruneSnapshots(row.epoch);
        metrics.rootsPosted.inc();
        logger.info({ epoch: row.epoch, root: row.root, txHash: hash, signatures: signatures.length }, "root posted");
      } catch (error) {
        const name = revertName(error);
        if (name === "RewardDistributorStaleEpoch" || name === "RootAlreadyPosted") {
          logger.info({ epoch: row.epoch }, "another oracle posted first");
        } else {
          metrics.postFailures.inc({ error: name ?? "ERROR" });
          logger.warn({ epoch: row.epoch, err: error, revert: name }, "postRoot failed; will retry");
        }
      }
      return; // only the newest ready epoch matters
    }
  }

  async function tick(): Promise<void> {
    if (halted) return;
    const head = await audit.client.getBlockNumber({ cacheTime: 0 });
    if (!(await checkProcessed())) return;
    await watchTip(head);
    // Only once the head's hash is remembered: /v1/status `head` = the newest block watched for reorgs.
    lastHead = head;
    metrics.headBlock.set(Number(head));
    for (let n = 0; n < 50; n++) {
      const next = (await store.lastProcessedEpoch()) + 1;
      const { toBlock } = epochRange(BigInt(next), cut);
      if (toBlock + K > head) break;
      try {
        await processEpoch(next);
      } catch (error) {
        if (error instanceof ReorgDuringRead) {
          metrics.reorgs.inc({ depth: "shallow" });
          logger.warn({ epoch: next, err: error.message }, "chain changed while reading an epoch; re-reading");
          return;
        }
        if (error instanceof ManifestUnavailable) {
          logger.warn({ epoch: next, err: error.message }, "waiting for a manifest");
          return;
        }
        throw error;
      }
      if (halted) return;
    }
    await loadOracleSet();
    const lastEpoch = await syncPosted();
    await pushSignatures(lastEpoch);
    await tryPost(lastEpoch);
  }

  // ---------------------------------------------------------------- HTTP
  const router = express.Router();

  router.get(
    "/v1/claims/:account",
    handle(async (req, res) => {
      const account = String(req.params.account);
      if (!isAddress(account, { strict: false })) throw new ServiceError(400, "INVALID_ACCOUNT", "account must be a 0x address");
      const row = await store.latestEpoch("posted");
      const noEntitlement = () => new ServiceError(404, "NO_ENTITLEMENT", `no posted reward entitlement for ${getAddress(account)}`, { account: getAddress(account) });
      if (row === undefined || row.root === null) throw noEntitlement();
      let tree = treeCache.get(row.epoch);
      if (tree === undefined) {
        const entries = await store.epochBalances(row.epoch);
        if (entries.length === 0) throw noEntitlement();
        tree = buildRewardTree(entries);
        treeCache.clear();
        treeCache.set(row.epoch, tree);
      }
      const entry = tree.entry(getAddress(account));
      if (entry === undefined) throw noEntitlement();
      res.json({
        account: entry.account,
        cumulative: entry.cumulative.toString(),
        proof: tree.proof(entry.account),
        epoch: row.epoch,
        root: tree.root,
        distributor,
        chainId: options.reward.chainId,
      });
    }),
  );

  async function epochAnswer(row: EpochRow) {
    const signatures = row.digest === null ? [] : await store.signatures(row.epoch, row.digest);
    return epochJson(row, signatures, oracleSet?.threshold);
  }

  router.get(
    "/v1/epochs/latest",
    handle(async (_req, res) => {
      const row = await store.latestEpoch();
      if (row === undefined) throw new ServiceError(404, "NO_EPOCH", "no epoch with a reward root yet");
      res.json(await epochAnswer(row));
    }),
  );

  router.get(
    "/v1/epochs/:epoch",
    handle(async (req, res) => {
      const param = String(req.params.epoch);
      if (!UINT_PARAM.test(param)) throw new ServiceError(400, "INVALID_EPOCH", "epoch must be a positive integer");
      const row = await store.epoch(Number(param));
      if (row === undefined) throw new ServiceError(404, "EPOCH_NOT_FOUND", `epoch ${param} is not processed yet`);
      res.json(await epochAnswer(row));
    }),
  );

  router.post(
    "/v1/epochs/:epoch/signatures",
    handle(async (req, res) => {
      const param = String(req.params.epoch);
      if (!UINT_PARAM.test(param)) throw new ServiceError(400, "INVALID_EPOCH", "epoch must be a positive integer");
      const body = req.body as { message?: unknown; signature?: unknown } | undefined;
      if (typeof body !== "object" || body === null || typeof body.signature !== "string")
        throw new ServiceError(400, "INVALID_BODY", "body must be { message, signature }");
      const message = oracleMessageFromJson(body.message);
      if (message.epoch !== BigInt(param)) throw new ServiceError(400, "EPOCH_MISMATCH", `the message is for epoch ${message.epoch}, not ${param}`);
      messageDigester.checkDestination(message);
      if (message.sourceChainId !== BigInt(audit.chainId))
        throw new ServiceError(400, "WRONG_SOURCE_CHAIN", `the message's source chain is ${message.sourceChainId}, not ${audit.chainId}`);
      const digest = messageDigester.digestHex(message).toLowerCase() as Hex;
      const signer = recoverOracleSigner(digest, body.signature as Hex);
      const set = oracleSet !== undefined && oracleSet.version === message.oracleSetVersion ? oracleSet : await loadOracleSet();
      if (set.version !== message.oracleSetVersion || !set.oracles.includes(signer)) {
        metrics.signaturesReceived.inc({ result: "unknown_signer" });
        throw new ServiceError(403, "UNKNOWN_SIGNER", `${signer} is not in the current oracle set (version ${set.version})`, { signer, oracleSetVersion: set.version });
      }
      const ours = await store.epoch(Number(param));
      if (ours !== undefined && ours.digest !== digest) {
        metrics.signaturesReceived.inc({ result: "conflicting" });
        logger.warn({ epoch: param, signer, theirs: { root: message.root, total: message.cumulativeTotal.toString() }, ours: { root: ours.root, total: ours.cumulativeTotal.toString() } }, "a peer signed another message");
        throw new ServiceError(409, "CONFLICTING_MESSAGE", `epoch ${param}: this oracle computed another message`, {
          signer,
          ours: { root: ours.root, cumulativeTotal: ours.cumulativeTotal.toString(), digest: ours.digest },
          theirs: { root: message.root, cumulativeTotal: message.cumulativeTotal.toString(), digest },
        });
      }
      await store.addSignature(Number(param), digest, signer, body.signature as Hex);
      metrics.signaturesReceived.inc({ result: ours === undefined ? "pending" : "accepted" });
      const collected = (await store.signatures(Number(param), digest)).length;
      res.status(202).json({ status: ours === undefined ? "pending" : "accepted", signer, signaturesCollected: collected });
    }),
  );

  router.get(
    "/v1/ledger",
    handle(async (_req, res) => {
      const ledger = await store.ledger();
      res.json(<LedgerJson>{
        rulesVersion: rules.version,
        processedEpoch: await store.lastProcessedEpoch(),
        processedBlock: Number((await store.getMeta("last_block")) ?? "-1"),
        total: ledger.reduce((sum, b) => sum + b.cumulative, 0n).toString(),
        beneficiaries: ledger.map((b) => ({ beneficiary: b.beneficiary, cumulative: b.cumulative.toString(), readings: b.readings })),
      });
    }),
  );

  router.get(
    "/v1/status",
    handle(async (_req, res) => {
      res.json({
        oracle: address,
        halted: halted ?? null,
        head: Number(lastHead),
        processedEpoch: await store.lastProcessedEpoch(),
        processedBlock: Number((await store.getMeta("last_block")) ?? "-1"),
        confirmations: options.confirmations,
        epochBlocks: options.epochBlocks,
        startBlock: options.startBlock,
        rulesVersion: rules.version,
        oracleSet: oracleSet ?? null,
      });
    }),
  );

  router.get("/metrics", (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(metrics.registry.render());
  });

  const app = createServiceApp({ name: "oracle", logger, router, bodyLimit: options.bodyLimit ?? "64kb", ready: () => halted === undefined });

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const runTick = (): Promise<void> => {
    running ??= tick()
      .catch((error: unknown) => logger.error({ err: error }, "oracle tick failed"))
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  return {
    app,
    store,
    metrics,
    address,
    tick: runTick,
    start() {
      if (timer !== undefined || stopped) return;
      const loop = () => {
        void runTick().finally(() => {
          if (!stopped) timer = setTimeout(loop, pollMs);
        });
      };
      loop();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
