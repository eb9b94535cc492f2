/**
 * The oracle service: follows the audit chain K blocks behind its head, rechecks every anchored
 * batch from its manifest, folds the readings into a deterministic reward ledger (rules in
 * ./rules.ts), cuts epochs by block ranges, signs each epoch's cumulative reward root (EIP-712 oracle
 * message), exchanges signatures with its peers and, once it holds the threshold, posts the root to
 * the RewardDistributor. Serves claim proofs.
 *
 * Parts, one concern each: ./context.ts (options, clients, store, shared state), ./follower.ts (K
 * confirmations, tip watch, reorgs and halt), ./epochs.ts (cutting and processing epochs with the
 * rules into the ledger), ./signatures.ts (the signature exchange), ./poster.ts (RootPosted sync and
 * postRoot), ./routes.ts (HTTP). This file composes them and runs the worker.
 *
 * Endpoints:
 * - `GET /v1/claims/:account[?token=0x…]` → `{ account, token, cumulative, proof, epoch, root, distributor, chainId }` (404 NO_ENTITLEMENT);
 *   the reward token's leaf by default, a settlement token's with `token` (data sales, docs/MARKET.md §5)
 * - `GET /v1/claims/:account/tokens` → `{ account, epoch, root, distributor, chainId, claims: [<the above>, one per token] }`
 * - `GET /v1/epochs/latest`, `GET /v1/epochs/:epoch` (the distributor's epoch number: empty block ranges are not numbered) → `{ epoch, range, status, root, cumulativeTotal, fromBlock, toBlock,
 *   rulesVersion, oracleSetVersion, digest, message, signatures, signaturesCollected, threshold, posted, postedRoot, txHash, postedByUs }`
 * - `POST /v1/epochs/:epoch/signatures` `{ message, signature }` → 202 `{ status: "accepted" | "pending", signaturesCollected? }`;
 *   409 CONFLICTING_MESSAGE (we computed another message), 403 UNKNOWN_SIGNER, 400 INVALID_SIGNATURE / INVALID_ORACLE_MESSAGE
 * - `GET /v1/manifests/:manifestHash` → the bytes of an anchored manifest this oracle fetched (for peers: ./manifest-copies.ts);
 *   400 INVALID_MANIFEST_HASH, 404 MANIFEST_NOT_FOUND
 * - `GET /v1/ledger` (per beneficiary totals), `GET /v1/status`, `/healthz`, `/readyz` (503 while halted), `/metrics`
 *
/**
 * @module
 */
import type { Express } from "express";
import type { Address } from "viem";

import { createServiceApp } from "../service/app.js";
import { openCommittee, type OracleOptions } from "./context.js";
import { createEpochs } from "./epochs.js";
import { createFollower } from "./follower.js";
import type { OracleMetrics } from "./metrics.js";
import { createPoster } from "./poster.js";
import { committeeRouter } from "./routes.js";
import { createSignatureExchange } from "./signatures.js";
import type { OracleStore } from "./store.js";

export type { OracleOptions } from "./context.js";
export type { LedgerJson } from "./routes.js";

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

/**
 * Builds an oracle: opens its tables, binds them to this configuration, and returns the app plus
 * `start` / `stop` / `tick`.
 *
 * @throws {CommitteeConfigError} INVALID_COMMITTEE_CONFIG; {@link ChainMismatchError} CHAIN_MISMATCH when an RPC serves another chain
 * @example
 * const oracle = await createOracle({ store: db, registry, audit: { client, chainId: 31337, anchor },
 *   reward: { rpcUrl: "http://127.0.0.1:8546", chainId: 31338, distributor, deployBlock: 0 }, privateKey,
 *   peers: ["http://127.0.0.1:8549"], confirmations: 6,
 *   epochBlocks: 100, startBlock: 0, logger: createLogger("oracle") });
 * const server = await listen(oracle.app, 8548);
 * oracle.start();
 */
export async function createOracle(options: OracleOptions): Promise<Oracle> {
  const ctx = await openCommittee(options);
  const follower = createFollower(ctx);
  const epochs = createEpochs(ctx, follower);
  const exchange = createSignatureExchange(ctx);
  const poster = createPoster(ctx);

  async function tick(): Promise<void> {
    if (ctx.state.halted) return;
    const head = await options.audit.client.getBlockNumber({ cacheTime: 0 });
    if (!(await follower.follow(head))) return;
    if (!(await epochs.processReady(head))) return;
    await ctx.loadOracleSet();
    const lastEpoch = await poster.syncPosted();
    await exchange.push(lastEpoch);
    await poster.tryPost(lastEpoch);
  }

  const app = createServiceApp({
    name: "oracle",
    logger: ctx.logger,
    router: committeeRouter(ctx, exchange),
    bodyLimit: options.bodyLimit ?? "64kb",
    ready: () => ctx.state.halted === undefined,
  });
  const pollMs = options.pollMs ?? 1000;

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const runTick = (): Promise<void> => {
    running ??= tick()
      .catch((error: unknown) => ctx.logger.error({ err: error }, "oracle tick failed"))
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  return {
    app,
    store: ctx.store,
    metrics: ctx.metrics,
    address: ctx.address,
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
