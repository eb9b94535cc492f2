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
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

import express, { type Express } from "express";
import { getAddress, type Address, type LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ReadingDigester } from "../core/reading.js";
import { readingAnchorAbi } from "../chain/abis.js";
import { detectFeeModel, type FeeModel } from "../chain/fee-model.js";
import { createServiceApp } from "../service/app.js";
import { inheritFastRoute } from "../service/fast-route.js";
import type { Logger } from "../service/logger.js";
import { Limiters, quotaOf } from "../service/limiter.js";
import { refusalRecorder } from "../service/process-metrics.js";
import { SignatureBudget } from "../service/signature-budget.js";
import { servicePool } from "../service/signature-pool.js";
import { RelayerAccountError } from "./anchor-errors.js";
import { AnchorDelayWatch } from "./anchor-delay.js";
import { Anchorer } from "./anchorer.js";
import { BatchBuilder } from "./batch-builder.js";
import { BatchViews } from "./batch-views.js";
import { ChainMismatchError } from "./errors.js";
import { IntakeWriter, ReadingChecker } from "./intake.js";
import { withDeviceRegistrations } from "./device-registrations.js";
import { countRejections, LoadShedder } from "./load-shedding.js";
import { createRelayerMetrics, type RelayerMetrics } from "./metrics.js";
import { receiptSigner as newReceiptSigner } from "./receipts.js";
import { checkRelayerRegistration } from "./registration.js";
import { DEFAULT_LIMITS, type RelayerLimits, type RelayerOptions } from "./relayer-options.js";
import { relayerRouter, submissionHandlers } from "./routes.js";
import { RelayerStore, type Candidate } from "./store.js";
import { clientAddress, Submissions } from "./submissions.js";

export { DEFAULT_LIMITS, type RelayerLimits, type RelayerOptions } from "./relayer-options.js";
export { EVENT_LOOP_WINDOW_MS } from "./load-shedding.js";
export { checkRelayerRegistration } from "./registration.js";

/** `ReadingAnchor.MAX_LEAF_COUNT`: a batch never holds more readings. */
export const MAX_LEAF_COUNT = 65_536;

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

/** The relayer's transaction account: local, so raw transactions can be persisted before broadcast. */
function localAccount(chain: RelayerOptions["chain"]): LocalAccount {
  const walletAccount = chain.walletClient?.account;
  if (walletAccount !== undefined && walletAccount.type !== "local") throw new RelayerAccountError("not-local");
  const account =
    chain.account ?? (chain.privateKey !== undefined ? privateKeyToAccount(chain.privateKey) : (walletAccount as LocalAccount | undefined));
  if (account === undefined) throw new RelayerAccountError("missing");
  return account;
}

/** Warns early when the relayer key cannot anchor (the role may still be granted later). */
async function warnWithoutRole(chain: RelayerOptions["chain"], anchor: Address, account: Address, logger: Logger): Promise<void> {
  try {
    const role = await chain.publicClient.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "RELAYER_ROLE" });
    const has = await chain.publicClient.readContract({
      address: anchor,
      abi: readingAnchorAbi,
      functionName: "hasRole",
      args: [role, account],
    });
    if (!has) logger.warn({ relayer: account, anchor }, "relayer account lacks RELAYER_ROLE: anchoring will fail until granted");
  } catch (error) {
    logger.warn({ err: error }, "could not check RELAYER_ROLE");
  }
}

/** Default anchoring lease on PostgreSQL (several instances may share the store). */
const DEFAULT_LEASE_MS = 15_000;

/** This process among relayer instances (host, pid and a random part: a restarted pid is another holder). */
const instanceId = () => `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;

/** The anchoring worker over `store`, building batches with the core's buildBatch on `builder`'s worker thread. */
function newAnchorer(
  options: RelayerOptions,
  o: {
    store: RelayerStore;
    account: LocalAccount;
    anchor: Address;
    metrics: RelayerMetrics;
    now: () => number;
    feeModel: FeeModel;
    builder: BatchBuilder;
  },
): Anchorer {
  const { chain } = options;
  const anchoring = { stuckTimeoutMs: 60_000, maxInFlight: 4, pollMs: 1000, ...options.anchoring };
  const leaseMs = anchoring.leaseMs ?? (options.store.dialect === "postgres" ? DEFAULT_LEASE_MS : 0);
  const build = (readings: Candidate[]) => o.builder.build(readings);
  return new Anchorer({
    store: o.store,
    publicClient: chain.publicClient,
    account: o.account,
    anchor: o.anchor,
    chainId: chain.chainId,
    buildBatch: build,
    batch: { ...options.batch, maxSize: Math.min(options.batch.maxSize, MAX_LEAF_COUNT) },
    confirmations: options.confirmations,
    stuckTimeoutMs: anchoring.stuckTimeoutMs,
    maxInFlight: anchoring.maxInFlight,
    pollMs: anchoring.pollMs,
    maxFeePerGasCap: anchoring.maxFeePerGasCap,
    feeModel: o.feeModel,
    recheckBlocks: anchoring.recheckBlocks,
    ...(leaseMs > 0 ? { lease: { name: `anchorer:${o.account.address.toLowerCase()}`, holder: instanceId(), ttlMs: leaseMs } } : {}),
    logger: options.logger,
    metrics: o.metrics,
    now: o.now,
  });
}

/**
 * The outer app: rejected submissions counted by code (also those the service kit answers before the
 * router), then load shedding and the per-address budget of refused readings before the body is
 * read, then the service.
 */
function outerApp(
  service: Express,
  metrics: RelayerMetrics,
  shedder: LoadShedder,
  budget: SignatureBudget,
  trustProxy: RelayerOptions["trustProxy"],
  logger: Logger,
): Express {
  const app = express();
  app.disable("x-powered-by");
  if (trustProxy !== undefined) app.set("trust proxy", trustProxy);
  const before = [
    countRejections(metrics),
    refusalRecorder(metrics.process, logger),
    shedder.middleware(),
    budget.middleware(clientAddress),
  ];
  for (const handler of before) app.use(handler);
  app.use(service);
  inheritFastRoute(app, service, before);
  return app;
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
  const anchor = getAddress(chain.anchor);
  const account = localAccount(chain);
  const actualChainId = await chain.publicClient.getChainId();
  if (actualChainId !== chain.chainId) throw new ChainMismatchError(chain.chainId, actualChainId);
  // Before anything is sent: a node that lacks what the pricing needs or refuses the type stops start-up.
  const feeModel = await detectFeeModel(chain.publicClient, {
    from: account.address,
    setting: chain.feeModel,
    settingNames: { feeModel: "AUDIT_FEE_MODEL", chainId: "AUDIT_CHAIN_ID", rpcUrl: "AUDIT_RPC_URL" },
  });
  logger.info({ feeModel: feeModel.kind, txType: feeModel.txType }, `fee model: ${feeModel.description}`);

  const store = await RelayerStore.open(options.store);
  await store.bindChain(chain.chainId, anchor);
  const metrics = createRelayerMetrics();
  metrics.queueDepth.set(store.queueDepth);

  // The margin: the relayer's batch age + confirmation time. A receipt's deadline is at most that far
  // ahead, and never after t + maxAnchorDelay − margin (TRUST-MODEL §6); intake accepts a reading only
  // while that bound is still a full margin away, so every deadline is kept by an honest relayer.
  const deadlineSlack = Math.ceil(options.batch.maxAgeMs / 1000) + (options.anchoring?.marginSeconds ?? 600);
  const anchorDelay = await AnchorDelayWatch.open(chain.publicClient, anchor, logger);
  const signatures = servicePool(options.signatureThreads);
  const receipts = newReceiptSigner({
    pool: signatures.pool,
    chainId: chain.chainId,
    anchor,
    receiptKey: options.receiptKey,
    deadlineSlack,
    now,
    latestDeadline: (c) => c.timestamp + Number(anchorDelay.seconds) - deadlineSlack,
  });
  const receiptSigner = receipts.address;
  if (options.publicUrl !== undefined)
    await checkRelayerRegistration({
      publicClient: chain.publicClient,
      anchor,
      relayer: account.address,
      receiptSigner,
      publicUrl: options.publicUrl,
    });
  const checker = new ReadingChecker({
    registry: options.registry,
    signatures: signatures.pool,
    receipts,
    digester: new ReadingDigester(chain.chainId, anchor),
    maxClockSkewSeconds: limits.maxClockSkewSeconds,
    intakeWindow: { maxAnchorDelay: () => anchorDelay.seconds, marginSeconds: 2 * deadlineSlack },
    now,
  });
  const writer = new IntakeWriter(store, (fresh) => receipts.signAll(fresh));
  const builder = new BatchBuilder({ chainId: chain.chainId, anchor });
  const anchorer = newAnchorer(options, { store, account, anchor, metrics, now, feeModel, builder });
  await warnWithoutRole(chain, anchor, account.address, logger);

  // Quotas in memory on SQLite; in the store on PostgreSQL, so several relayer instances share them.
  const limiters = await Limiters.open("relayer", options.store, logger, {
    storeTimeoutMs: limits.quotaStoreTimeoutMs,
    fallbacks: metrics.process.quotaFallbacks,
  });
  const budget = new SignatureBudget(
    { readingChecksPerSecond: limits.refusedReadingRate.ratePerSecond, readingCheckBurst: limits.refusedReadingRate.burst },
    limiters,
  );
  const submissions = new Submissions({
    store,
    checker,
    writer,
    deviceQuota: limits.deviceQuota ? limiters.limiter("device", quotaOf(limits.deviceQuota)) : undefined,
    budget,
    metrics,
    anchorer,
    limits,
    batch: options.batch,
    receipts,
  });
  const info = {
    chainId: chain.chainId,
    anchor,
    relayer: account.address,
    receiptSigner,
    batch: options.batch,
    confirmations: options.confirmations,
    receiptDeadlineSeconds: deadlineSlack,
    maxBulk: limits.maxBulk,
  };
  const views = new BatchViews({ store, chainId: chain.chainId, anchor, receipts });
  let started = false;
  const submit = submissionHandlers({ limits, limiters, submissions });
  const service = createServiceApp({
    name: "relayer",
    logger,
    router: withDeviceRegistrations(relayerRouter({ store, metrics, submissions, views, limits, limiters, info, submit }), options),
    fastRoute: { path: "/v1/readings", handlers: submit },
    bodyLimit: limits.bodyLimit,
    rateLimit: limits.requestRate,
    // Carrier NAT: submissions are limited per device (and per address only by what is refused), as on the platform.
    rateLimitExempt: (req) => req.method === "POST" && req.path === "/v1/readings",
    limiters,
    ready: () => started && !submissions.draining && anchorer.healthy,
  });

  const shedder = new LoadShedder(limits, metrics);
  const app = outerApp(service, metrics, shedder, budget, options.trustProxy, logger);

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
      anchorDelay.start(options.anchorDelayRefreshMs ?? 60_000);
      anchorer.start();
      logger.info(
        { relayer: account.address, receiptSigner, anchor, chainId: chain.chainId, queueDepth: store.queueDepth },
        "relayer started",
      );
    },
    async stop() {
      await submissions.drain();
      await writer.idle();
      await anchorer.stop();
      await builder.close();
      anchorDelay.stop();
      shedder.stop();
      await signatures.close();
      await limiters.close();
      started = false;
      // How well group commit grouped (readings accepted per intake transaction) is in this line.
      logger.info({ queueDepth: store.queueDepth, intakeCommits: writer.commits }, "relayer stopped");
    },
  };
}
