/**
 * Quotas kept by rate-limiter-flexible: in process memory when the service's store is SQLite (one
 * process writes it), in one PostgreSQL table when the store is PostgreSQL, so every instance of a
 * service behind a load balancer spends and sees the same per-address and per-device quotas.
 *
 * A quota is a fixed window: `points` per `windowMs`, all back when the window ends (the library's
 * model). The services configure token-bucket sizes (`ratePerSecond`, `burst`); {@link quotaOf} maps
 * them to a window of the same burst and the same long-run rate (`burst / ratePerSecond` seconds), so
 * Retry-After is the time left in the window. A refused take costs nothing (what it counted is given
 * back), and a give-back never leaves more than a window's points.
 *
 * @module
 */
import rateLimiterFlexible, { type RateLimiterAbstract, type RateLimiterRes } from "rate-limiter-flexible";
import pg from "pg";

import { postgresPool, type SqlDatabase } from "../store/sql.js";
import type { Logger } from "./logger.js";

const { RateLimiterMemory, RateLimiterPostgres, RLWrapperTimeouts } = rateLimiterFlexible;

/**
 * How long a quota operation waits for PostgreSQL before the in-memory insurance answers: far above a
 * consume's 0.2–0.3 ms on a loaded machine, far below what a client waits for an answer.
 */
export const DEFAULT_QUOTA_STORE_TIMEOUT_MS = 200;

/** How shared (PostgreSQL) quotas behave when the store is slow or down. */
export interface SharedQuotaOptions {
  /** Ms a quota operation waits for PostgreSQL before the in-memory insurance answers it (> 0). */
  storeTimeoutMs?: number;
  /** Counts, by limiter name, the quota checks the insurance answered (e.g. a prom-client counter). */
  fallbacks?: { inc(labels: { limiter: string }): void };
}

/** `points` per `windowMs`, refilled whole at the end of the window. */
export interface Quota {
  points: number;
  windowMs: number;
}

/** Token-bucket sizes, as the services' options give them. */
export interface BucketSizes {
  ratePerSecond: number;
  burst: number;
}

/**
 * The fixed window with the same burst and long-run rate as a token bucket.
 * @example quotaOf({ ratePerSecond: 2, burst: 120 }); // { points: 120, windowMs: 60_000 }
 */
export function quotaOf({ ratePerSecond, burst }: BucketSizes): Quota {
  // Whole milliseconds: the PostgreSQL backend stores `now + windowMs` in a BIGINT.
  return { points: Math.max(1, Math.floor(burst)), windowMs: Math.max(1, Math.round((burst / ratePerSecond) * 1000)) };
}

/** The answer to a take: allowed, or how long until the window ends (ms, ≥ 1). */
export interface Consumed {
  allowed: boolean;
  retryAfterMs: number;
}

/** Whole seconds for a Retry-After header (≥ 1). */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** One named quota of a service, keyed by a string (client address, device). */
export class Limiter {
  readonly quota: Quota;
  readonly #limiter: RateLimiterAbstract;

  constructor(quota: Quota, limiter: RateLimiterAbstract) {
    this.quota = quota;
    this.#limiter = limiter;
  }

  /**
   * Takes up to `count` points of `key`: answers how many it got (the first ones of a bulk) and, if
   * not all, how long until the window ends. One store round trip, two when some are refused.
   * @example const { granted } = await limiter.take("203.0.113.7", 20);
   */
  async take(key: string, count: number): Promise<{ granted: number; retryAfterMs: number }> {
    if (count <= 0) return { granted: 0, retryAfterMs: 0 };
    let res: RateLimiterRes;
    try {
      await this.#limiter.consume(key, count);
      return { granted: count, retryAfterMs: 0 };
    } catch (refusal) {
      res = asRefusal(refusal);
    }
    const before = res.consumedPoints - count;
    const granted = Math.min(count, Math.max(0, this.quota.points - before));
    // The library counts a refused take too; give the refused part back, as a token bucket would not take it.
    await this.#giveBack(key, count - granted);
    return { granted, retryAfterMs: Math.max(1, res.msBeforeNext) };
  }

  /**
   * Takes `cost` points of `key` if they are all there, else none.
   * @example const { allowed, retryAfterMs } = await limiter.consume("127.0.0.1");
   */
  async consume(key: string, cost = 1): Promise<Consumed> {
    try {
      await this.#limiter.consume(key, cost);
      return { allowed: true, retryAfterMs: 0 };
    } catch (refusal) {
      const res = asRefusal(refusal);
      await this.#giveBack(key, cost);
      return { allowed: false, retryAfterMs: Math.max(1, res.msBeforeNext) };
    }
  }

  /**
   * One point for each of `keys` (a bulk's devices): the first ones of each key get its points, in order.
   * One take per distinct key, all at once.
   */
  async consumeEach(keys: readonly string[]): Promise<Consumed[]> {
    const byKey = new Map<string, number[]>();
    keys.forEach((key, i) => byKey.set(key, [...(byKey.get(key) ?? []), i]));
    const answers = new Array<Consumed>(keys.length);
    await Promise.all(
      [...byKey].map(async ([key, indexes]) => {
        const { granted, retryAfterMs } = await this.take(key, indexes.length);
        indexes.forEach(
          (index, k) => (answers[index] = k < granted ? { allowed: true, retryAfterMs: 0 } : { allowed: false, retryAfterMs }),
        );
      }),
    );
    return answers;
  }

  /** Whether `cost` points of `key` are there now, taking nothing (a read). */
  async peek(key: string, cost = 1): Promise<Consumed> {
    const res = await this.#limiter.get(key);
    // An ended window still in memory (its timer not yet run) counts as a fresh one.
    if (res === null || res.msBeforeNext <= 0 || this.quota.points - res.consumedPoints >= cost) return { allowed: true, retryAfterMs: 0 };
    return { allowed: false, retryAfterMs: res.msBeforeNext };
  }

  /** The points of `key` left in its window now, and how long until the window ends (a read). */
  async remaining(key: string): Promise<{ points: number; retryAfterMs: number }> {
    const res = await this.#limiter.get(key);
    if (res === null || res.msBeforeNext <= 0) return { points: this.quota.points, retryAfterMs: 0 };
    return { points: Math.max(0, this.quota.points - res.consumedPoints), retryAfterMs: res.msBeforeNext };
  }

  async #giveBack(key: string, count: number): Promise<void> {
    if (count <= 0) return;
    const res = await this.#limiter.reward(key, count);
    // The window ended between the refused take and now: the new window starts full, never fuller.
    if (res.consumedPoints < 0) await this.#limiter.penalty(key, -res.consumedPoints);
  }
}

function asRefusal(refusal: unknown): RateLimiterRes {
  // The library rejects with its result when over the quota, with an Error when the store failed
  // (never with the insurance limiter in place, which then answers instead).
  if (refusal instanceof Error) throw refusal;
  return refusal as RateLimiterRes;
}

/** Connections of a service's quota pool on PostgreSQL (one consume takes ~0.3 ms of one). */
const QUOTA_POOL_SIZE = 4;

/** The table every limiter of every service shares on PostgreSQL (keys carry the service and quota name). */
export const LIMITS_TABLE = "sensorseal_limits";

/**
 * UNLOGGED: a consume is a write on every request, and an unlogged table's writes skip the WAL.
 * The price: the table is emptied by crash recovery and not replicated to standbys, so a crash or a
 * fail-over resets the windows in flight, which quotas of seconds to minutes can afford. Columns as
 * rate-limiter-flexible's own DDL (its upsert inserts them positionally).
 */
const LIMITS_DDL = `CREATE UNLOGGED TABLE IF NOT EXISTS ${LIMITS_TABLE} (
  key varchar(255) PRIMARY KEY,
  points integer NOT NULL DEFAULT 0,
  expire bigint
)`;

/**
 * Where a service's quotas live: `Limiters.memory` (one process), or `Limiters.open(db)` which
 * shares them in PostgreSQL when `db` is PostgreSQL (a small pool of its own on the store's settings; `close()` ends it) and keeps them in
 * memory on SQLite. On PostgreSQL each operation waits at most `storeTimeoutMs`: when PostgreSQL
 * fails or hangs (a lock held, a server that stops answering), an in-memory limiter answers instead,
 * so a quota check never holds a request longer than that.
 *
 * @example
 * const limiters = await Limiters.open("platform", db, logger);
 * const devices = limiters.limiter("device", quotaOf({ ratePerSecond: 2, burst: 120 }));
 * const { allowed } = await devices.consume(device);
 */
export class Limiters {
  readonly #service: string;
  readonly #pool: pg.Pool | undefined;
  readonly #logger: Logger | undefined;
  readonly #timeoutMs: number;
  readonly #fallbacks: SharedQuotaOptions["fallbacks"];
  #lastFallbackLogMs = 0;

  private constructor(service: string, pool: pg.Pool | undefined, logger: Logger | undefined, options: SharedQuotaOptions = {}) {
    this.#service = service;
    this.#pool = pool;
    this.#logger = logger;
    this.#timeoutMs = options.storeTimeoutMs ?? DEFAULT_QUOTA_STORE_TIMEOUT_MS;
    this.#fallbacks = options.fallbacks;
  }

  /** Quotas in this process's memory. */
  static memory(service: string): Limiters {
    return new Limiters(service, undefined, undefined);
  }

  /** Quotas in `db` when it is PostgreSQL (shared by every instance on it), else in memory; creates the table. */
  static async open(service: string, db: SqlDatabase, logger: Logger, options: SharedQuotaOptions = {}): Promise<Limiters> {
    // The library's timer would fire at once with 0: every answer would come from the insurance.
    const timeoutMs = options.storeTimeoutMs ?? DEFAULT_QUOTA_STORE_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new RangeError(`storeTimeoutMs must be > 0, got ${timeoutMs}`);
    const store = postgresPool(db);
    if (store === undefined) return Limiters.memory(service);
    try {
      await store.query(LIMITS_DDL);
    } catch (error) {
      // Two instances starting at once race on the table's type row; the other one made it.
      if ((error as { code?: string }).code !== "23505") throw error;
    }
    // A pool of its own, on the store's settings: a statement stuck behind a lock would otherwise hold
    // one of the store's connections until the lock goes, and a few of them would stall the store.
    // PostgreSQL cancels a statement after the timeout (its point is then not counted), and nothing
    // waits longer than that for a connection, so a timed-out quota check leaves no work behind.
    const pool = new pg.Pool({
      ...store.options,
      max: QUOTA_POOL_SIZE,
      statement_timeout: timeoutMs,
      connectionTimeoutMillis: timeoutMs,
      allowExitOnIdle: true,
    });
    pool.on("error", (error) => logger.warn({ err: error }, "quota store: PostgreSQL idle client failed; the pool replaces it"));
    return new Limiters(service, pool, logger, options);
  }

  /** Closes the quota store's connections (PostgreSQL); quotas are not usable after. */
  async close(): Promise<void> {
    if (this.#pool === undefined || this.#pool.ended) return;
    await this.#pool.end();
  }

  /** Whether the quotas are shared through PostgreSQL (else each process counts its own). */
  get shared(): boolean {
    return this.#pool !== undefined;
  }

  /** The quota `name` of this service (keys are prefixed `service:name:`, so services never share one by accident). */
  limiter(name: string, quota: Quota): Limiter {
    const options = { keyPrefix: `${this.#service}:${name}`, points: quota.points, duration: quota.windowMs / 1000 };
    if (this.#pool === undefined) return new Limiter(quota, new RateLimiterMemory(options));
    const insurance = new InsuranceLimiter(options, (operation) => this.#fallingBack(name, operation));
    const store = new RateLimiterPostgres({
      ...options,
      storeClient: this.#pool,
      storeType: "pool",
      tableName: LIMITS_TABLE,
      tableCreated: true,
    });
    // The insurance sits on the wrapper, not on the store's limiter: it answers once, whether PostgreSQL
    // failed or did not answer in time.
    const bounded = new RLWrapperTimeouts({ limiter: store, timeoutMs: this.#timeoutMs, insuranceLimiter: insurance });
    return new Limiter(quota, bounded);
  }

  #fallingBack(name: string, operation: "consume" | "reward"): void {
    if (operation === "consume") this.#fallbacks?.inc({ limiter: name });
    const now = Date.now();
    if (now - this.#lastFallbackLogMs < 10_000) return;
    this.#lastFallbackLogMs = now;
    this.#logger?.warn(
      { limiter: name, timeoutMs: this.#timeoutMs },
      "quota store failed or did not answer in time: counting quotas in this process's memory until PostgreSQL answers",
    );
  }
}

/** The in-memory limiter that answers while PostgreSQL fails or hangs; says when it is used. */
class InsuranceLimiter extends RateLimiterMemory {
  readonly #used: (operation: "consume" | "reward") => void;

  constructor(options: { keyPrefix: string; points: number; duration: number }, used: (operation: "consume" | "reward") => void) {
    super(options);
    this.#used = used;
  }

  override consume(...args: Parameters<RateLimiterAbstract["consume"]>): Promise<RateLimiterRes> {
    this.#used("consume");
    return super.consume(...args);
  }

  override reward(...args: Parameters<RateLimiterAbstract["reward"]>): Promise<RateLimiterRes> {
    this.#used("reward");
    return super.reward(...args);
  }
}
