/**
 * Options of the relayer service ({@link createRelayer} in oracle/relayer/relayer.ts) and its default
 * request limits.
 *
 * @module
 */
import type { Account, Address, Hex, LocalAccount, PublicClient } from "viem";

import type { FeeModelSetting } from "../chain/fee-model.js";
import { DEFAULT_QUOTA_STORE_TIMEOUT_MS } from "../service/limiter.js";
import type { Logger } from "../service/logger.js";
import type { SqlDatabase } from "../store/sql.js";
import type { RegistryView } from "./intake.js";

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
  /**
   * Requests per client address, every route but reading submissions, which cost a point only when
   * refused for what the client sent (4xx but 429: carrier NAT); undefined: off.
   */
  requestRate?: { ratePerSecond: number; burst: number };
  /**
   * Readings per client address, valid ones included (a bulk request costs its length); undefined: off
   * (the default: devices behind one carrier NAT share an address, so honest traffic is limited per
   * device, and per address only what is refused — `refusedReadingRate`).
   */
  readingRate?: { ratePerSecond: number; burst: number };
  /**
   * The check budget (oracle/service/signature-budget.ts): each refused reading (bad signature, unknown
   * device, malformed) costs its client address a point of its window, authentic ones nothing; an
   * address has at most its window's points left in its checks at once. Rate 0: off.
   */
  refusedReadingRate: { ratePerSecond: number; burst: number };
  /**
   * Readings per device; undefined: off. Every quota here is a window of `burst` per `burst / ratePerSecond`
   * seconds, kept in memory on SQLite and shared by all instances on PostgreSQL (oracle/service/limiter.ts).
   */
  deviceQuota?: { ratePerSecond: number; burst: number };
  /** Ms a quota check waits for PostgreSQL before the in-memory insurance answers (oracle/service/limiter.ts). */
  quotaStoreTimeoutMs: number;
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
  refusedReadingRate: { ratePerSecond: 20, burst: 400 },
  deviceQuota: { ratePerSecond: 2, burst: 120 },
  quotaStoreTimeoutMs: DEFAULT_QUOTA_STORE_TIMEOUT_MS,
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
    /**
     * How anchoring transactions are typed and priced: "auto" (default) detects EIP-1559, legacy or
     * free gas at start-up; "legacy" forces legacy transactions (a node that refuses type 2).
     */
    feeModel?: FeeModelSetting;
  };
  /**
   * The base URL clients and oracles reach this relayer at (manifests are `<publicUrl>/v1/batches/<root or on-chain id>/manifest`).
   * When given, the relayer refuses to start (ConfigError) unless the anchor's `relayerInfo` of its account
   * records this URL and its receipt signer (TRUST-MODEL §1, §6). Tests on ephemeral ports check after listening
   * with `checkRelayerRegistration`.
   */
  publicUrl?: string;
  /** How often the anchor's `maxAnchorDelay` is re-read, ms (default 60 000). */
  anchorDelayRefreshMs?: number;
  /** secp256k1 private key signing inclusion receipts. */
  receiptKey: Hex;
  batch: { maxSize: number; maxAgeMs: number };
  /** Blocks (the anchoring one included) before a batch is confirmed. */
  confirmations: number;
  logger: Logger;
  limits?: Partial<RelayerLimits>;
  /** express "trust proxy" (client addresses for rate limits behind a reverse proxy). */
  trustProxy?: boolean | number | string;
  /** Worker threads checking device signatures off the event loop (default: one per core; 0: on the event loop). */
  signatureThreads?: number;
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
    /**
     * Several relayer instances on one PostgreSQL store: the anchoring lease's lifetime, ms (default
     * 15 000 on PostgreSQL, 0 = no lease on SQLite, where one process writes a store). Only the holder
     * anchors; when it is killed another instance takes over after at most this long.
     */
    leaseMs?: number;
  };
  now?: () => number;
}
