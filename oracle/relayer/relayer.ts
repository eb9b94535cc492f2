/**
 * The relayer service: accepts signed readings over HTTP, answers each with a signed inclusion
 * receipt once it is durably queued, batches and anchors them (see {@link Anchorer}), and serves
 * receipts, proofs, batches and manifests.
 *
 * Endpoints:
 * - `POST /v1/readings` one reading `{ device, seq, timestamp, dataHash, signature }` or an array of
 *   them (bulk, up to `limits.maxBulk`): 202 `{ status: "queued", duplicate, receipt }` for one;
 *   for an array 202 when all were accepted, else 207, with `{ accepted, rejected, results: [...] }`.
 * - `GET /v1/readings/:device/:seq` status (queued / batched / anchored / confirmed), receipt and,
 *   once anchored, batchId, root, leaf, proof, txHash, blockNumber, blockHash.
 * - `GET /v1/batches/:id` (on-chain batch id, or the batch root) and `GET /v1/batches/:id/manifest`
 *   (the exact stored manifest bytes, application/json).
 * - `GET /v1/info`, `/healthz`, `/readyz`, `/metrics` (Prometheus text).
 *
 * @module
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

import express, { type Express, type Request, type Response } from "express";
import { getAddress, isAddress, type Account, type Address, type Hex, type LocalAccount, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { hexToBytes } from "../core/bytes.js";
import { type Batch, buildBatch, parseManifest } from "../core/manifest.js";
import { ReadingDigester } from "../core/reading.js";
import { ReceiptDigester, signReceipt, type SignedReceiptJson } from "../core/receipt.js";
import { readingAnchorAbi } from "../chain/abis.js";
import { createServiceApp, handle, rateLimitMiddleware } from "../service/app.js";
import { ServiceError } from "../service/errors.js";
import type { Logger } from "../service/logger.js";
import { RateLimiter } from "../service/rate-limit.js";
import type { SqlDatabase } from "../store/sql.js";
import { RelayerAccountError } from "./anchor-errors.js";
import { Anchorer } from "./anchorer.js";
import { ChainMismatchError, RejectionError } from "./errors.js";
import { IntakeWriter, ReadingChecker, type RegistryView } from "./intake.js";
import { PROMETHEUS_CONTENT_TYPE } from "../service/metrics.js";
import { createRelayerMetrics, type RelayerMetrics } from "./metrics.js";
import { RelayerStore, type AcceptOutcome, type BatchRow, type Candidate, type ReadingRow, type ReadingStatus, type StoredReceipt } from "./store.js";

/** Request limits and abuse protection. */
export interface RelayerLimits {
  /** Largest request body (express syntax). */
  bodyLimit: string;
  /** Most readings in one bulk request. */
  maxBulk: number;
  /**
   * Queued (not yet batched) readings above which submissions get 429 QUEUE_FULL. A hard bound: a
   * submission reserves room for its readings before any await, so concurrent ones cannot overshoot.
   */
  maxQueueDepth: number;
  /**
   * Load shedding: submissions (POST /v1/readings) being handled at once above which new ones get
   * 429 OVERLOADED with Retry-After before their body is read; 0: off.
   */
  maxConcurrentSubmissions: number;
  /**
   * Load shedding: event-loop delay (p99 over the last `EVENT_LOOP_WINDOW_MS` from perf_hooks
   * monitorEventLoopDelay, or the worst lateness of a 50 ms sampling timer, at once) above which
   * new submissions get 429 OVERLOADED while another one is being handled; 0: off.
   */
  maxEventLoopLagMs: number;
  /** Requests per client address, all routes; undefined: off. */
  requestRate?: { ratePerSecond: number; burst: number };
  /** Readings per client address (a bulk request costs its length); undefined: off. */
  readingRate?: { ratePerSecond: number; burst: number };
  /** Readings per device; undefined: off. */
  deviceQuota?: { ratePerSecond: number; burst: number };
  /** Largest accepted `timestamp − now`, seconds. */
  maxClockSkewSeconds: number;
}

export const DEFAULT_LIMITS: RelayerLimits = {
  bodyLimit: "1mb",
  maxBulk: 1000,
  maxQueueDepth: 200_000,
  maxConcurrentSubmissions: 64,
  maxEventLoopLagMs: 500,
  requestRate: { ratePerSecond: 200, burst: 400 },
  readingRate: { ratePerSecond: 5000, burst: 10_000 },
  deviceQuota: { ratePerSecond: 2, burst: 120 },
  maxClockSkewSeconds: 300,
};

/** Options of {@link createRelayer}. */
export interface RelayerOptions {
  /** The SQL store (SQLite or PostgreSQL), opened by the caller and closed by it after `stop()`. */
  store: SqlDatabase;
  /** Device keys and status history (a started `RegistryIndex`). */
  registry: RegistryView;
  chain: {
    publicClient: PublicClient;
    /**
     * The relayer's transaction key (holds RELAYER_ROLE): a local account, its private key, or a wallet
     * client holding a local account. Transactions are signed locally so their raw bytes can be
     * persisted before they are broadcast.
     */
    account?: LocalAccount;
    privateKey?: Hex;
    walletClient?: { account?: Account | undefined };
    anchor: Address;
    chainId: number;
  };
  /** secp256k1 private key signing inclusion receipts. */
  receiptKey: Hex;
  batch: { maxSize: number; maxAgeMs: number };
  /** Blocks (the anchoring one included) before a batch is confirmed. */
  confirmations: number;
  logger: Logger;
  limits?: Partial<RelayerLimits>;
  /** express "trust proxy" (client addresses for rate limits behind a reverse proxy). */
  trustProxy?: boolean | number | string;
  anchoring?: {
    /** Added to maxAge in every receipt deadline: the time allowed to get a batch mined (default 600 s). */
    marginSeconds?: number;
    /** A pending anchoring transaction older than this gets a fee bump (default 60 s). */
    stuckTimeoutMs?: number;
    /** Batches sent and not yet mined at once (default 4). */
    maxInFlight?: number;
    /** Worker period (default 1000 ms). */
    pollMs?: number;
    /** Never sign a maxFeePerGas above this (wei). */
    maxFeePerGasCap?: bigint;
    /**
     * Confirmed batches within this many blocks of the head are rechecked for reorgs deeper than
     * `confirmations` and re-anchored if orphaned (default 256; 0: confirmed is final).
     */
    recheckBlocks?: number;
  };
  now?: () => number;
}

/** A running relayer. */
export interface Relayer {
  /** The express app; serve it with `listen(app, port)` from oracle/service/app.ts. */
  app: Express;
  store: RelayerStore;
  metrics: RelayerMetrics;
  anchorer: Anchorer;
  /** Address of the receipt key (what verifiers check receipts against). */
  receiptSigner: Address;
  /** Address that sends anchoring transactions. */
  relayerAddress: Address;
  /** Starts the batching / anchoring worker. */
  start(): void;
  /**
   * Graceful stop: new submissions get 503, in-flight ones finish (their readings are committed and
   * answered), the worker finishes its tick (batches are cut atomically, never partly). The HTTP
   * server and the store stay the caller's to close.
   */
  stop(): Promise<void>;
}

/** A cached rebuilt batch, for proofs. */
interface TreeEntry {
  batch: Batch;
  index: Map<string, number>;
}

const TREE_CACHE_SIZE = 32;
/** Window of the event-loop delay measure used for load shedding. */
export const EVENT_LOOP_WINDOW_MS = 500;
const LAG_SAMPLE_MS = 50;
const UINT_PARAM = /^[1-9][0-9]{0,15}$/;
const ROOT_PARAM = /^0x[0-9a-fA-F]{64}$/;

function receiptJson(row: { device: Address; seq: number; dataHash: Hex }, receipt: StoredReceipt, signer: Address): SignedReceiptJson {
  return { device: row.device, seq: String(row.seq), dataHash: row.dataHash, deadline: String(receipt.deadline), signature: receipt.signature, signer };
}

function readingStatus(batch: BatchRow | undefined): ReadingStatus {
  if (batch === undefined) return "queued";
  if (batch.status === "mined") return "anchored";
  if (batch.status === "confirmed") return "confirmed";
  return "batched";
}

/**
 * Builds the relayer: opens its tables on `store`, checks the RPC serves `chain.chainId`, and
 * returns the app plus `start`/`stop`.
 *
 * @example
 * const relayer = await createRelayer({ store: db, registry, chain: { publicClient, privateKey, anchor, chainId: 31337 },
 *   receiptKey, batch: { maxSize: 1000, maxAgeMs: 10_000 }, confirmations: 2, logger: createLogger("relayer") });
 * const server = await listen(relayer.app, 8547);
 * relayer.start();
 * // … on SIGTERM:
 * await relayer.stop(); await server.close(); await db.close();
 */
export async function createRelayer(options: RelayerOptions): Promise<Relayer> {
  const { logger, chain } = options;
  const now = options.now ?? Date.now;
  const limits: RelayerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const anchoring = { marginSeconds: 600, stuckTimeoutMs: 60_000, maxInFlight: 4, pollMs: 1000, ...options.anchoring };
  const anchor = getAddress(chain.anchor);
  const walletAccount = chain.walletClient?.account;
  if (walletAccount !== undefined && walletAccount.type !== "local")
    throw new RelayerAccountError("createRelayer: the wallet client's account must be local (raw transactions are persisted before broadcast)");
  const account =
    chain.account ?? (chain.privateKey !== undefined ? privateKeyToAccount(chain.privateKey) : (walletAccount as LocalAccount | undefined));
  if (account === undefined) throw new RelayerAccountError("createRelayer: chain.account, chain.privateKey or chain.walletClient (local account) is required");

  const actualChainId = await chain.publicClient.getChainId();
  if (actualChainId !== chain.chainId) throw new ChainMismatchError(chain.chainId, actualChainId);

  const store = await RelayerStore.open(options.store);
  await store.bindChain(chain.chainId, anchor);
  const metrics = createRelayerMetrics();
  metrics.queueDepth.set(store.queueDepth);

  const receiptSigner = privateKeyToAccount(options.receiptKey).address;
  const receiptDigester = new ReceiptDigester(chain.chainId, anchor);
  const receiptKey = hexToBytes(options.receiptKey, 32);
  const deadlineSlack = Math.ceil(options.batch.maxAgeMs / 1000) + anchoring.marginSeconds;
  const sign = (c: Candidate): StoredReceipt => {
    const deadline = Math.floor(now() / 1000) + deadlineSlack;
    return {
      deadline,
      signature: signReceipt(receiptDigester, receiptKey, { device: c.device, seq: BigInt(c.seq), dataHash: c.dataHash, deadline: BigInt(deadline) }),
    };
  };

  const checker = new ReadingChecker({
    registry: options.registry,
    digester: new ReadingDigester(chain.chainId, anchor),
    maxClockSkewSeconds: limits.maxClockSkewSeconds,
    now,
  });
  const writer = new IntakeWriter(store, sign);
  const deviceQuota = limits.deviceQuota ? new RateLimiter(limits.deviceQuota) : undefined;

  const build = (readings: Candidate[]) =>
    buildBatch({
      chainId: chain.chainId,
      anchor,
      items: readings.map((r) => ({
        reading: { device: r.device, seq: BigInt(r.seq), timestamp: BigInt(r.timestamp), dataHash: r.dataHash },
        signature: r.signature,
      })),
    });

  const anchorer = new Anchorer({
    store,
    publicClient: chain.publicClient,
    account,
    anchor,
    chainId: chain.chainId,
    buildBatch: build,
    batch: options.batch,
    confirmations: options.confirmations,
    stuckTimeoutMs: anchoring.stuckTimeoutMs,
    maxInFlight: anchoring.maxInFlight,
    pollMs: anchoring.pollMs,
    maxFeePerGasCap: anchoring.maxFeePerGasCap,
    recheckBlocks: anchoring.recheckBlocks,
    logger,
    metrics,
    now,
  });

  // Warn early when the relayer key cannot anchor (the role may still be granted later).
  try {
    const role = await chain.publicClient.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "RELAYER_ROLE" });
    const has = await chain.publicClient.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "hasRole", args: [role, account.address] });
    if (!has) logger.warn({ relayer: account.address, anchor }, "relayer account lacks RELAYER_ROLE: anchoring will fail until granted");
  } catch (error) {
    logger.warn({ err: error }, "could not check RELAYER_ROLE");
  }

  let started = false;
  let draining = false;
  const inFlight = new Set<Promise<unknown>>();
  /** Queue room held by submissions between their bound check and their commit (hard queue bound). */
  let reserved = 0;

  // ---- load shedding ----
  /** Submissions being handled (from arrival, before the body is read, until the answer is sent). */
  let submissions = 0;
  /** Event-loop delay over the last window (or a stall just seen), ms (0 when not measured). */
  let eventLoopLagMs = 0;
  let lagMonitor: ReturnType<typeof monitorEventLoopDelay> | undefined;
  let lagTimer: NodeJS.Timeout | undefined;
  if (limits.maxEventLoopLagMs > 0) {
    lagMonitor = monitorEventLoopDelay({ resolution: 10 });
    lagMonitor.enable();
    // Also this process's own lateness, sampled every LAG_SAMPLE_MS: a stall shows at once.
    let due = performance.now() + LAG_SAMPLE_MS;
    let worst = 0;
    let samples = 0;
    lagTimer = setInterval(() => {
      const monitor = lagMonitor as NonNullable<typeof lagMonitor>;
      const t = performance.now();
      worst = Math.max(worst, t - due);
      due = t + LAG_SAMPLE_MS;
      if (worst > limits.maxEventLoopLagMs) eventLoopLagMs = Math.max(eventLoopLagMs, worst);
      if (++samples * LAG_SAMPLE_MS < EVENT_LOOP_WINDOW_MS) return;
      eventLoopLagMs = Math.max(worst, monitor.count > 0 ? monitor.percentile(99) / 1e6 : 0);
      monitor.reset();
      worst = 0;
      samples = 0;
    }, LAG_SAMPLE_MS);
    lagTimer.unref();
  }
  const stopLagMonitor = () => {
    if (lagTimer !== undefined) clearInterval(lagTimer);
    lagMonitor?.disable();
    lagTimer = undefined;
    lagMonitor = undefined;
  };
  /** Why a new submission is shed now, if it is. */
  function shedReason(): "in_flight" | "event_loop_lag" | undefined {
    if (limits.maxConcurrentSubmissions > 0 && submissions >= limits.maxConcurrentSubmissions) return "in_flight";
    // A lone submission is never shed for lag: the lag may be the relayer's own batch building.
    if (limits.maxEventLoopLagMs > 0 && submissions > 0 && eventLoopLagMs > limits.maxEventLoopLagMs) return "event_loop_lag";
    return undefined;
  }

  // ---- trees for proofs (rebuilt from the stored manifest, cached) ----
  const trees = new Map<number, TreeEntry>();
  async function treeOf(batch: BatchRow): Promise<TreeEntry> {
    let entry = trees.get(batch.id);
    if (entry !== undefined) {
      trees.delete(batch.id);
      trees.set(batch.id, entry);
      return entry;
    }
    const bytes = await store.manifest(batch.id);
    if (bytes === undefined) throw new ServiceError(500, "INTERNAL", "batch manifest missing");
    const manifest = parseManifest(bytes);
    const rebuilt = buildBatch(manifest);
    if (rebuilt.root !== batch.root || rebuilt.manifestHash !== batch.manifestHash)
      throw new ServiceError(500, "INTERNAL", "stored manifest does not rebuild the batch", { batch: batch.id });
    const index = new Map<string, number>();
    manifest.items.forEach((item, i) => index.set(`${item.reading.device}:${item.reading.seq}`, i));
    entry = { batch: rebuilt, index };
    trees.set(batch.id, entry);
    if (trees.size > TREE_CACHE_SIZE) trees.delete(trees.keys().next().value as number);
    return entry;
  }

  // ---- routes ----
  const router = express.Router();

  const perClient = limits.readingRate
    ? [
        rateLimitMiddleware(
          new RateLimiter(limits.readingRate),
          (req) => req.ip ?? "unknown",
          // A bulk request costs its readings (capped: an oversize array is refused anyway).
          (req) => (Array.isArray(req.body) ? Math.max(1, Math.min(req.body.length, limits.maxBulk)) : 1),
        ),
      ]
    : [];
  router.post(
    "/v1/readings",
    ...perClient,
    handle(async (req, res) => {
      const work = submit(req, res);
      inFlight.add(work);
      try {
        await work;
      } finally {
        inFlight.delete(work);
      }
    }),
  );

  async function submit(req: Request, res: Response): Promise<void> {
    if (draining) {
      res.setHeader("Retry-After", "5");
      throw new RejectionError("SHUTTING_DOWN", "the relayer is shutting down; retry on another instance or later");
    }
    if (!req.is("application/json")) throw new RejectionError("UNSUPPORTED_MEDIA_TYPE", "send application/json");
    const body: unknown = req.body;
    const bulk = Array.isArray(body);
    const items: unknown[] = bulk ? body : [body];
    if (bulk && items.length === 0) throw new RejectionError("EMPTY_BULK", "an array of readings must not be empty");
    if (items.length > limits.maxBulk)
      throw new RejectionError("TOO_MANY_READINGS", `at most ${limits.maxBulk} readings per request`, { max: limits.maxBulk, got: items.length });
    // Hard bound: the room is reserved before anything is awaited, and released once the readings
    // are committed (then counted in queueDepth) or refused.
    if (store.queueDepth + reserved + items.length > limits.maxQueueDepth) {
      const retryAfterSeconds = Math.max(1, Math.ceil(options.batch.maxAgeMs / 1000));
      throw new RejectionError("QUEUE_FULL", "the relayer's queue is full; retry later", { retryAfterSeconds });
    }
    let held = items.length;
    reserved += held;
    try {
      await admit(res, bulk, items, (keep) => {
        reserved -= held - keep;
        held = keep;
      });
    } finally {
      reserved -= held;
    }
  }

  /** The rest of a submission, once it holds room for its readings in the queue (`hold` shrinks it). */
  async function admit(res: Response, bulk: boolean, items: unknown[], hold: (keep: number) => void): Promise<void> {

    const errors = new Array<RejectionError | undefined>(items.length);
    const results = new Array<{ status: number; body: { status: "queued"; duplicate: boolean; receipt: SignedReceiptJson } }>(items.length);
    const candidates: Candidate[] = [];
    const slots: number[] = [];
    let accepted = 0;
    for (let i = 0; i < items.length; i++) {
      try {
        const { candidate, refusal } = await checker.verify(items[i]);
        let blocked = refusal;
        if (blocked === undefined && deviceQuota !== undefined) {
          const wait = deviceQuota.take(candidate.device);
          if (wait > 0)
            blocked = new RejectionError("DEVICE_QUOTA_EXCEEDED", "this device sent too many readings; retry later", {
              device: candidate.device,
              retryAfterSeconds: wait,
            });
        }
        if (blocked !== undefined) {
          // Idempotent even now: an authentic resend of an accepted reading gets its receipt back.
          const existing = await store.reading(candidate.device, candidate.seq);
          if (existing === undefined || existing.timestamp !== candidate.timestamp || existing.dataHash !== candidate.dataHash) throw blocked;
          results[i] = { status: 202, body: { status: "queued", duplicate: true, receipt: receiptJson(existing, existing.receipt, receiptSigner) } };
          accepted++;
          metrics.readingsDuplicate.inc();
          continue;
        }
        candidates.push(candidate);
        slots.push(i);
      } catch (error) {
        if (!(error instanceof RejectionError)) throw error;
        errors[i] = error;
      }
    }
    if (!bulk && errors[0] !== undefined) throw errors[0];
    hold(candidates.length);

    const outcomes = await writer.submit(candidates);
    outcomes.forEach((outcome, k) => {
      const candidate = candidates[k];
      const i = slots[k];
      const answer = outcomeAnswer(candidate, outcome);
      if (answer instanceof RejectionError) errors[i] = answer;
      else {
        results[i] = { status: 202, body: answer };
        accepted++;
        if (outcome.kind === "accepted") metrics.readingsAccepted.inc();
        else metrics.readingsDuplicate.inc();
      }
    });
    metrics.queueDepth.set(store.queueDepth);
    if (store.queueDepth >= options.batch.maxSize) anchorer.kick();

    if (!bulk) {
      if (errors[0] !== undefined) throw errors[0];
      res.status(202).json(results[0].body);
      return;
    }
    let rejected = 0;
    const list = items.map((_, i) => {
      const error = errors[i];
      if (error === undefined) return { index: i, status: 202, duplicate: results[i].body.duplicate, receipt: results[i].body.receipt };
      rejected++;
      metrics.readingsRejected.inc({ code: error.code });
      return { index: i, status: error.status, error: error.toJSON().error };
    });
    res.status(rejected === 0 ? 202 : 207).json({ accepted, rejected, results: list });
  }

  function outcomeAnswer(
    candidate: Candidate,
    outcome: AcceptOutcome,
  ): { status: "queued"; duplicate: boolean; receipt: SignedReceiptJson } | RejectionError {
    switch (outcome.kind) {
      case "accepted":
      case "duplicate":
        return { status: "queued", duplicate: outcome.kind === "duplicate", receipt: receiptJson(candidate, outcome.receipt, receiptSigner) };
      case "conflict":
        return new RejectionError("SEQUENCE_CONFLICT", `another reading was accepted for seq ${candidate.seq} of this device`, {
          device: candidate.device,
          seq: String(candidate.seq),
          acceptedDataHash: outcome.existing.dataHash,
          acceptedTimestamp: String(outcome.existing.timestamp),
        });
      case "stale":
        return new RejectionError("STALE_SEQUENCE", `seq ${candidate.seq} is not above the last accepted seq ${outcome.lastSeq}`, {
          device: candidate.device,
          seq: String(candidate.seq),
          lastSeq: String(outcome.lastSeq),
        });
    }
  }

  router.get(
    "/v1/readings/:device/:seq",
    handle(async (req, res) => {
      const { device, seq } = req.params as { device: string; seq: string };
      if (!isAddress(device, { strict: false })) throw new ServiceError(400, "INVALID_PARAMETER", "device must be an address");
      if (!UINT_PARAM.test(seq)) throw new ServiceError(400, "INVALID_PARAMETER", "seq must be a positive decimal integer");
      const row = await store.reading(getAddress(device), Number(seq));
      if (row === undefined) throw new ServiceError(404, "READING_NOT_FOUND", "no accepted reading for this device and seq");
      res.json(await readingAnswer(row));
    }),
  );

  async function readingAnswer(row: ReadingRow): Promise<Record<string, unknown>> {
    const batch = row.batchId === null ? undefined : await store.batch(row.batchId);
    const status = readingStatus(batch);
    const answer: Record<string, unknown> = {
      status,
      device: row.device,
      seq: String(row.seq),
      timestamp: String(row.timestamp),
      dataHash: row.dataHash,
      signature: row.signature,
      receivedAt: new Date(row.receivedAt).toISOString(),
      receipt: receiptJson(row, row.receipt, receiptSigner),
      chainId: chain.chainId,
      anchor,
    };
    if (batch !== undefined) {
      answer.batch = { root: batch.root, leafCount: batch.leafCount, manifestHash: batch.manifestHash, status: batch.status };
      if (status === "anchored" || status === "confirmed") {
        const tree = await treeOf(batch);
        const k = tree.index.get(`${row.device}:${row.seq}`);
        if (k === undefined) throw new ServiceError(500, "INTERNAL", "reading missing from its batch manifest");
        Object.assign(answer, {
          batchId: batch.anchorBatchId,
          root: batch.root,
          leaf: tree.batch.leaves[k],
          proof: tree.batch.proofs[k],
          txHash: batch.txHash,
          blockNumber: batch.blockNumber,
          blockHash: batch.blockHash,
        });
      }
    }
    return answer;
  }

  async function batchFromParam(id: string): Promise<BatchRow> {
    let batch: BatchRow | undefined;
    if (UINT_PARAM.test(id)) batch = await store.batchByAnchorId(Number(id));
    else if (ROOT_PARAM.test(id)) batch = await store.batchByRoot(id as Hex);
    else throw new ServiceError(400, "INVALID_PARAMETER", "a batch is named by its on-chain id or its root");
    if (batch === undefined) throw new ServiceError(404, "BATCH_NOT_FOUND", "no such batch");
    return batch;
  }

  router.get(
    "/v1/batches/:id",
    handle(async (req, res) => {
      const batch = await batchFromParam(String(req.params.id));
      const txs = await store.txs(batch.id);
      res.json({
        batchId: batch.anchorBatchId,
        status: batch.status,
        root: batch.root,
        leafCount: batch.leafCount,
        manifestHash: batch.manifestHash,
        createdAt: new Date(batch.createdAt).toISOString(),
        txHash: batch.txHash,
        blockNumber: batch.blockNumber,
        blockHash: batch.blockHash,
        gasUsed: batch.gasUsed?.toString() ?? null,
        minedAt: batch.minedAt === null ? null : new Date(batch.minedAt).toISOString(),
        confirmedAt: batch.confirmedAt === null ? null : new Date(batch.confirmedAt).toISOString(),
        reorgs: batch.reorgs,
        lastError: batch.lastError,
        chainId: chain.chainId,
        anchor,
        transactions: txs.map((t) => ({
          hash: t.hash,
          nonce: t.nonce,
          kind: t.kind,
          status: t.status,
          gas: t.gas.toString(),
          maxFeePerGas: t.maxFeePerGas.toString(),
          maxPriorityFeePerGas: t.maxPriorityFeePerGas.toString(),
        })),
      });
    }),
  );

  router.get(
    "/v1/batches/:id/manifest",
    handle(async (req, res) => {
      const batch = await batchFromParam(String(req.params.id));
      const bytes = await store.manifest(batch.id);
      if (bytes === undefined) throw new ServiceError(404, "BATCH_NOT_FOUND", "no such batch");
      res.status(200).setHeader("Content-Type", "application/json").setHeader("ETag", `"${batch.manifestHash}"`);
      res.end(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }),
  );

  router.get("/v1/info", (_req, res) => {
    res.json({
      chainId: chain.chainId,
      anchor,
      relayer: account.address,
      receiptSigner,
      batch: options.batch,
      confirmations: options.confirmations,
      receiptDeadlineSeconds: deadlineSlack,
      maxBulk: limits.maxBulk,
    });
  });

  router.get(
    "/metrics",
    handle(async (_req, res) => {
      metrics.queueDepth.set(store.queueDepth);
      for (const [status, n] of Object.entries(await store.batchCounts())) metrics.batches.set(n, { status });
      res.setHeader("Content-Type", PROMETHEUS_CONTENT_TYPE);
      res.send(metrics.registry.render());
    }),
  );

  const service = createServiceApp({
    name: "relayer",
    logger,
    router,
    bodyLimit: limits.bodyLimit,
    rateLimit: limits.requestRate,
    ready: () => started && !draining && anchorer.healthy,
  });

  // Outer app: counts every rejected submission by code, including the ones the service kit answers
  // before the router (bad JSON, oversize body, per-client rate limit).
  const app = express();
  app.disable("x-powered-by");
  if (options.trustProxy !== undefined) app.set("trust proxy", options.trustProxy);
  app.use((req, res, next) => {
    if (req.method === "POST" && req.path === "/v1/readings") {
      const json = res.json.bind(res);
      res.json = (body: unknown) => {
        const code = (body as { error?: { code?: unknown } })?.error?.code;
        if (res.statusCode >= 400 && typeof code === "string") metrics.readingsRejected.inc({ code });
        return json(body);
      };
    }
    next();
  });
  // Load shedding, before the body is read: too many submissions at once, or an event loop so late
  // that a new one would only wait. Cheap 429s keep the latency of the admitted ones bounded.
  app.use((req, res, next) => {
    if (req.method !== "POST" || req.path !== "/v1/readings") return next();
    const reason = shedReason();
    if (reason !== undefined) {
      metrics.requestsShed.inc({ reason });
      const error = new RejectionError("OVERLOADED", "the relayer is overloaded; retry later", {
        reason,
        retryAfterSeconds: 1,
        ...(reason === "in_flight" ? { maxConcurrentSubmissions: limits.maxConcurrentSubmissions } : { eventLoopLagMs: Math.round(eventLoopLagMs) }),
      });
      res.setHeader("Retry-After", "1");
      res.status(error.status).json(error.toJSON());
      return;
    }
    submissions++;
    metrics.submissionsInFlight.set(submissions);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      submissions--;
      metrics.submissionsInFlight.set(submissions);
    };
    res.once("finish", finish);
    res.once("close", finish);
    next();
  });
  app.use(service);

  return {
    app,
    store,
    metrics,
    anchorer,
    receiptSigner,
    relayerAddress: account.address,
    start() {
      if (started) return;
      started = true;
      anchorer.start();
      logger.info({ relayer: account.address, receiptSigner, anchor, chainId: chain.chainId, queueDepth: store.queueDepth }, "relayer started");
    },
    async stop() {
      draining = true;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      await writer.idle();
      await anchorer.stop();
      stopLagMonitor();
      started = false;
      logger.info({ queueDepth: store.queueDepth }, "relayer stopped");
    },
  };
}
