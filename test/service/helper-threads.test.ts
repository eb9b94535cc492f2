/**
 * A service's signature workers run at a lower priority than the event loop they serve, the SQLite
 * checkpointer (which the store waits on) at the loop's own (oracle/service/thread-priority.ts,
 * runBehindEventLoop). Read from Linux's per-thread nice values in /proc; elsewhere the test is
 * skipped, as the priority is left alone there.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";

import { HELPER_THREAD_NICE_INCREMENT } from "../../oracle/service/thread-priority.js";
import { generatePrivateKey, publicKeyFromPrivate, signDigest } from "../../oracle/core/keys.js";
import { SignaturePool } from "../../oracle/service/signature-pool.js";
import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";

const TASKS = "/proc/self/task";

/** The nice value of each of this process's threads, by thread id (field 19 of /proc/…/stat). */
function threadNices(): Map<string, number> {
  const nices = new Map<string, number>();
  for (const tid of readdirSync(TASKS)) {
    let stat: string;
    try {
      stat = readFileSync(path.join(TASKS, tid, "stat"), "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    // After "pid (comm) ": state is field 3, nice field 19.
    nices.set(tid, Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]));
  }
  return nices;
}

/** Threads started since `before` whose nice value is `nice`. */
const newThreadsAt = (before: Map<string, number>, nice: number) =>
  [...threadNices()].filter(([tid, n]) => !before.has(tid) && n === nice).length;

/** Checkpoints its thread ran (SQLite stores only). */
const checkpointsOf = (db: SqlDatabase) => (db as unknown as { checkpoints: number }).checkpoints;

const eventLoopNice = () => threadNices().get(String(process.pid)) as number;
const helperNice = () => Math.min(19, eventLoopNice() + HELPER_THREAD_NICE_INCREMENT);

describe(
  "signature workers run behind the event loop, threads the store waits on do not",
  { skip: !existsSync(TASKS) && "no per-thread /proc (not Linux)" },
  () => {
    it("signature pool workers take nice +5, the event loop keeps its own, and the checks still answer right", async () => {
      const loopBefore = eventLoopNice();
      const before = threadNices();
      const pool = new SignaturePool({ threads: 2 });
      try {
        const scheme = "secp256k1";
        const priv = generatePrivateKey(scheme);
        const publicKey = publicKeyFromPrivate(scheme, priv);
        const digest = new Uint8Array(32).fill(7);
        // Enough checks for both workers (a share is at least 8), so both have run their module.
        const answers = await Promise.all(
          Array.from({ length: 32 }, (_, i) =>
            pool.verify({ scheme, publicKey, digest, signature: signDigest(scheme, priv, i % 4 === 0 ? new Uint8Array(32) : digest) }),
          ),
        );
        assert.deepEqual(
          answers,
          Array.from({ length: 32 }, (_, i) => i % 4 !== 0),
        );
        assert.equal(newThreadsAt(before, helperNice()), 2, "both workers run at the event loop's nice + 5");
        assert.equal(eventLoopNice(), loopBefore, "the event loop's own priority is unchanged");
      } finally {
        await pool.close();
      }
    });

    it("the SQLite checkpoint thread keeps the event loop's priority (the store waits on its last pass)", async () => {
      const dir = await mkdtemp(path.join(os.tmpdir(), "sensorseal-helper-"));
      const before = threadNices();
      const db = await openDatabase(path.join(dir, "store.sqlite"));
      try {
        await db.migrate("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
        let rows = 0;
        // A checkpoint falls due a short interval after the first writes; write until one has run.
        while (checkpointsOf(db) === 0) {
          assert.ok(rows < 2_000_000, `no checkpoint after ${rows} rows`);
          await db.transaction(async (tx) => {
            for (let k = 0; k < 100; k++) await tx.run("INSERT INTO t (v) VALUES (?)", [new Uint8Array(256).fill(rows++ % 251)]);
          });
        }
        assert.equal(newThreadsAt(before, helperNice()), 0, "no new thread runs behind the loop");
        assert.ok(newThreadsAt(before, eventLoopNice()) >= 1, "the checkpointer runs at the loop's own nice value");
      } finally {
        await db.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  },
);
