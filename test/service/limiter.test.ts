import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import pg from "pg";
import rateLimiterFlexible, { type RateLimiterAbstract } from "rate-limiter-flexible";

import { LIMITS_TABLE, Limiter, Limiters, quotaOf } from "../../oracle/service/limiter.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";

const { RateLimiterMemory, RateLimiterPostgres } = rateLimiterFlexible;
const PG_URL = process.env.SENSORSEAL_TEST_PG_URL;
const logger = createLogger("limiter-test", "silent");

/** Waits until `condition` holds (polling), failing after `timeoutMs`. */
async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let namespace = 0;
const fresh = () => `t${process.pid}-${Date.now()}-${namespace++}`;

/** The behaviour every backend shares; `limiters()` gives a fresh service namespace each time. */
function behaves(limiters: () => Promise<Limiters>) {
  it("counts a quota, refuses with the rest of the window as retry-after, and refills when the window ends", async () => {
    const limiter = (await limiters()).limiter("device", { points: 3, windowMs: 400 });
    for (let i = 0; i < 3; i++) assert.deepEqual(await limiter.consume("0xabc"), { allowed: true, retryAfterMs: 0 });
    const refused = await limiter.consume("0xabc");
    assert.equal(refused.allowed, false);
    assert.ok(refused.retryAfterMs >= 1 && refused.retryAfterMs <= 400, String(refused.retryAfterMs));
    assert.equal((await limiter.consume("0xdef")).allowed, true, "another key has its own quota");
    assert.equal((await limiter.peek("0xabc")).allowed, false);
    await waitFor(async () => (await limiter.peek("0xabc")).allowed);
    for (let i = 0; i < 3; i++) assert.equal((await limiter.consume("0xabc")).allowed, true);
    assert.equal((await limiter.consume("0xabc")).allowed, false);
  });

  it("a refused take costs nothing; take grants the first of a bulk, then none until the window ends", async () => {
    const limiter = (await limiters()).limiter("checks", { points: 5, windowMs: 60_000 });
    assert.equal((await limiter.consume("a", 4)).allowed, true);
    assert.equal((await limiter.consume("a", 2)).allowed, false, "2 > 1 left");
    assert.equal((await limiter.consume("a", 1)).allowed, true, "the refused 2 were not counted");
    const taken = await limiter.take("b", 8);
    assert.equal(taken.granted, 5);
    assert.ok(taken.retryAfterMs > 0);
    assert.equal((await limiter.take("b", 1)).granted, 0);
    const left = await limiter.remaining("b");
    assert.equal(left.points, 0);
    assert.ok(left.retryAfterMs > 50_000 && left.retryAfterMs <= 60_000, String(left.retryAfterMs));
    assert.equal((await limiter.take("f", 3)).granted, 3);
    assert.equal((await limiter.take("f", 4)).granted, 2, "the first 2 of a bulk of 4 when 2 are left");
    const each = await limiter.consumeEach(["c", "d", "c", "c", "c", "c", "c"]);
    assert.deepEqual(
      each.map((c) => c.allowed),
      [true, true, true, true, true, true, false],
    );
  });
}

/**
 * `store` whose rewards wait until the key's window has ended: a refused take's give-back then lands
 * in the next window, a race that cannot be timed for real (it needs the window to end between the
 * take's two round trips).
 */
function rewardingAfterWindowEnds(store: RateLimiterAbstract): RateLimiterAbstract {
  return new Proxy(store, {
    get(target, property) {
      if (property === "reward")
        return async (key: string, points: number) => {
          await waitFor(async () => {
            const res = await target.get(key);
            return res === null || res.msBeforeNext <= 0;
          });
          return target.reward(key, points);
        };
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The give-back guard on a backend's raw store (`store(points, duration)`, a fresh key prefix each time). */
function givesBackIntoAnEndedWindow(store: (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract) {
  it("a refused take whose give-back lands after its window ended leaves a full window, not more (give-back held back by a wrapper)", async () => {
    const quota = { points: 2, windowMs: 300 };
    const options = { keyPrefix: fresh(), points: quota.points, duration: quota.windowMs / 1000 };
    const raw = store(options);
    const limiter = new Limiter(quota, rewardingAfterWindowEnds(raw));
    assert.equal((await limiter.take("e", 2)).granted, 2);
    // Refused: counted 3 in this window, given back in the next one (as -3 there without the guard).
    assert.equal((await limiter.take("e", 3)).granted, 0);
    assert.equal((await limiter.remaining("e")).points, 2, "a fresh window, not one of 5 points");
    assert.equal((await limiter.take("e", 5)).granted, 2);
  });
}

describe("Limiter (rate-limiter-flexible)", () => {
  it("maps token-bucket sizes to a window of the same burst and long-run rate", () => {
    assert.deepEqual(quotaOf({ ratePerSecond: 2, burst: 120 }), { points: 120, windowMs: 60_000 });
    assert.deepEqual(quotaOf({ ratePerSecond: 0.2, burst: 3 }), { points: 3, windowMs: 15_000 });
  });

  it("refuses a quota-store timeout that is not > 0 (the library would time out at once)", async () => {
    const db = await openDatabase(":memory:");
    try {
      await assert.rejects(Limiters.open("x", db, logger, { storeTimeoutMs: 0 }), RangeError);
    } finally {
      await db.close();
    }
  });

  describe("in memory (SQLite stores)", () => {
    behaves(async () => Limiters.memory(fresh()));
    givesBackIntoAnEndedWindow((options) => new RateLimiterMemory(options));

    it("Limiters.open on a SQLite store keeps quotas in memory", async () => {
      const db = await openDatabase(":memory:");
      try {
        assert.equal((await Limiters.open("x", db, logger)).shared, false);
      } finally {
        await db.close();
      }
    });
  });

  describe("in PostgreSQL", { skip: PG_URL === undefined && "SENSORSEAL_TEST_PG_URL not set" }, () => {
    // A fresh database (random name), dropped after; two stores (two pools) on it stand for two instances.
    let database: TestDatabase;
    let db: SqlDatabase;
    let other: SqlDatabase;
    let storePool: pg.Pool;
    before(async () => {
      database = await createTestDatabase(PG_URL!);
      db = await openDatabase(database.url);
      other = await openDatabase(database.url);
      await open(fresh(), db, logger); // creates the quota table the raw store below writes to
      storePool = new pg.Pool({ connectionString: database.url });
    });
    // Every quota pool opened here is closed after (each Limiters.open on PostgreSQL has one).
    const opened: Limiters[] = [];
    const open = async (...args: Parameters<typeof Limiters.open>) => {
      const limiters = await Limiters.open(...args);
      opened.push(limiters);
      return limiters;
    };
    after(async () => {
      for (const limiters of opened) await limiters.close();
      await storePool?.end();
      await db?.close();
      await other?.close();
      await database?.drop();
    });

    behaves(() => open(fresh(), db, logger));
    givesBackIntoAnEndedWindow(
      (options) =>
        new RateLimiterPostgres({ ...options, storeClient: storePool, storeType: "pool", tableName: LIMITS_TABLE, tableCreated: true }),
    );

    it("two instances (two pools) on one database share a device quota: the second refuses once the first spent it", async () => {
      const service = fresh();
      const first = (await open(service, db, logger)).limiter("device", quotaOf({ ratePerSecond: 0.05, burst: 3 }));
      const second = (await open(service, other, logger)).limiter("device", quotaOf({ ratePerSecond: 0.05, burst: 3 }));
      for (let i = 0; i < 3; i++) assert.equal((await first.consume("0xdevice")).allowed, true);
      const refused = await second.consume("0xdevice");
      assert.equal(refused.allowed, false);
      assert.ok(refused.retryAfterMs > 50_000 && refused.retryAfterMs <= 60_000, String(refused.retryAfterMs));
      assert.equal((await second.peek("0xdevice")).allowed, false);
      assert.equal((await second.consume("0xother")).allowed, true);
      const rows = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM sensorseal_limits WHERE key LIKE ?", [`${service}:device:%`]);
      assert.equal(Number(rows[0]!.n), 2);
    });

    it("answers from its in-memory insurance while PostgreSQL fails (its pool ended)", async () => {
      const warnings: unknown[] = [];
      const watching = { ...logger, warn: (...args: unknown[]) => void warnings.push(args) } as unknown as typeof logger;
      const limiters = await open(fresh(), db, watching);
      const limiter = limiters.limiter("device", { points: 2, windowMs: 60_000 });
      await limiters.close();
      assert.equal((await limiter.consume("0xdevice")).allowed, true);
      assert.equal((await limiter.consume("0xdevice")).allowed, true);
      assert.equal((await limiter.consume("0xdevice")).allowed, false, "the insurance counts the quota too");
      assert.equal(warnings.length, 1, "one warning per 10 s, not one per consume");
    });

    it("answers from its in-memory insurance within the timeout while PostgreSQL hangs (a real table lock held), then from PostgreSQL again", async () => {
      const service = fresh();
      const fallbacks: string[] = [];
      const warnings: unknown[] = [];
      const watching = { ...logger, warn: (...args: unknown[]) => void warnings.push(args) } as unknown as typeof logger;
      // Long enough to see the limiter's statement waiting on the lock on a loaded machine.
      const timeoutMs = 1000;
      const limiters = await open(service, db, watching, {
        storeTimeoutMs: timeoutMs,
        fallbacks: { inc: ({ limiter }) => void fallbacks.push(limiter) },
      });
      const limiter = limiters.limiter("device", { points: 2, windowMs: 60_000 });
      const points = async (key: string) => {
        const rows = await other.query<{ points: number }>("SELECT points FROM sensorseal_limits WHERE key = ?", [
          `${service}:device:${key}`,
        ]);
        return rows[0]?.points;
      };
      // Statements waiting for a lock on the quota table (seen from another pool).
      const blocked = async () =>
        Number(
          (
            await other.query<{ n: number }>(
              "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE ?",
              ["%sensorseal_limits%"],
            )
          )[0]!.n,
        );
      const timed = async (key: string) => {
        const start = performance.now();
        const answer = await limiter.consume(key);
        return { ...answer, ms: performance.now() - start };
      };
      assert.equal((await limiter.consume("0xwarm")).allowed, true, "PostgreSQL answers before the hang");
      assert.equal(await points("0xwarm"), 1);

      // Another session takes the table and keeps its transaction open: every statement on it blocks.
      const holder = new pg.Client({ connectionString: database.url });
      await holder.connect();
      try {
        const holderPid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
        await holder.query("BEGIN");
        await holder.query("LOCK TABLE sensorseal_limits IN ACCESS EXCLUSIVE MODE");
        const holding = async () =>
          Number(
            (
              await other.query<{ n: number }>(
                "SELECT COUNT(*) AS n FROM pg_locks WHERE pid = ? AND mode = 'AccessExclusiveLock' AND granted",
                [holderPid],
              )
            )[0]!.n,
          ) === 1;

        const pending = timed("0xhung");
        await waitFor(async () => (await blocked()) >= 1); // the limiter's own statement waits on the lock
        const first = await pending;
        assert.equal(first.allowed, true);
        assert.ok(first.ms >= timeoutMs - 5 && first.ms < timeoutMs + 5_000, `answered in ${first.ms} ms`);
        assert.ok(await holding(), "answered while the lock is still held");

        // More consumes at once than the quota pool has connections: each answered by the insurance,
        // which counts the quota (1 + 6 takes for 2 points).
        const burst = await Promise.all(Array.from({ length: 6 }, () => timed("0xhung")));
        assert.equal(burst.filter((b) => b.allowed).length, 1);
        for (const { ms } of burst) assert.ok(ms < 2 * timeoutMs + 5_000, `answered in ${ms} ms`);
        // PostgreSQL cancelled the timed-out statements: none is left waiting, none holds a connection.
        await waitFor(async () => (await blocked()) === 0);
        assert.ok(await holding(), "the lock is still held");
        assert.equal(fallbacks.length, 7, "each consume answered by the insurance is counted");
        assert.ok(fallbacks.every((name) => name === "device"));
        assert.equal(warnings.length, 1, "one warning per 10 s, not one per consume");
        assert.match(JSON.stringify(warnings[0]), /did not answer in time/);
      } finally {
        await holder.query("COMMIT").catch(() => undefined);
        await holder.end();
      }

      // The lock is gone: PostgreSQL answers again, without the insurance; the cancelled statements
      // counted nothing there.
      assert.equal(await points("0xhung"), undefined);
      assert.equal((await limiter.consume("0xhung")).allowed, true);
      assert.equal(await points("0xhung"), 1, "counted in PostgreSQL");
      assert.equal((await limiter.consume("0xwarm")).allowed, true);
      assert.equal(await points("0xwarm"), 2);
      assert.equal(fallbacks.length, 7, "no insurance answer once PostgreSQL answers");
    });

    it("p50 of one consume, PostgreSQL vs memory (printed, not asserted)", async () => {
      const p50 = async (limiter: Limiter) => {
        const times: number[] = [];
        for (let i = 0; i < 200; i++) {
          const start = process.hrtime.bigint();
          await limiter.consume(`k${i % 10}`);
          times.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
        return times.sort((a, b) => a - b)[100]!;
      };
      const quota = { points: 1_000_000, windowMs: 60_000 };
      const pg = await p50((await open(fresh(), db, logger)).limiter("bench", quota));
      const memory = await p50(Limiters.memory(fresh()).limiter("bench", quota));
      console.log(`limiter consume p50: PostgreSQL ${pg.toFixed(3)} ms, memory ${memory.toFixed(3)} ms (200 sequential consumes)`);
      assert.ok(pg > 0 && memory > 0);
    });
  });
});
