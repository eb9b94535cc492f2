/**
 * The SQLite store's durability (oracle/store/sql.ts): every write resolves only after the write-ahead
 * log holding it was flushed, the flush running off the event loop and shared by the commits made
 * while one runs; reads flush nothing.
 */
import assert from "node:assert/strict";
import { closeSync, openSync, readSync } from "node:fs";
import { mkdtemp, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, it } from "node:test";

import Database from "better-sqlite3";

import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";

const syncsOf = (db: SqlDatabase) => (db as unknown as { syncs: number }).syncs;
const checkpointsOf = (db: SqlDatabase) => (db as unknown as { checkpoints: number }).checkpoints;
const durableOf = (db: SqlDatabase) => (db as unknown as { durableWrites: number }).durableWrites;

/** The salt in a write-ahead log's header (bytes 16–19 of the WAL format): it changes each time the log restarts from its beginning. */
function walSalt(walFile: string): number {
  const header = Buffer.alloc(32);
  const fd = openSync(walFile, "r");
  try {
    readSync(fd, header, 0, 32, 0);
  } finally {
    closeSync(fd);
  }
  return header.readUInt32BE(16);
}

/** Rows of table t and their bytes, read back from the database file by another connection (what a restart would find). */
function storedRows(file: string): { n: number; bytes: number } {
  const reopened = new Database(file, { readonly: true });
  try {
    return reopened.prepare("SELECT COUNT(*) AS n, SUM(length(v)) AS bytes FROM t").get() as { n: number; bytes: number };
  } finally {
    reopened.close();
  }
}

/**
 * Writes group-commit-sized transactions of `rowBytes` rows into table t until the log restarted
 * `restarts` times: a condition, not a time or a size. A restart happens only once a checkpoint has
 * copied the whole log, which steady writes never let a checkpoint that runs beside them do (the log
 * then grows without end). Answers the rows written.
 */
async function writeUntilLogRestarts(db: SqlDatabase, walFile: string, restarts: number, rowBytes: number): Promise<number> {
  let rows = 0;
  let seen = 0;
  let last = walSalt(walFile);
  while (seen < restarts) {
    assert.ok(rows < 600_000, `the log restarted ${seen} times in ${rows} rows (${checkpointsOf(db)} checkpoints on the thread)`);
    await db.transaction(async (tx) => {
      for (let k = 0; k < 200; k++) await tx.run("INSERT INTO t (v) VALUES (?)", [new Uint8Array(rowBytes).fill(rows++ % 251)]);
    });
    const now = walSalt(walFile);
    if (now !== last) seen++;
    last = now;
  }
  return rows;
}

describe("SQLite store: write-ahead log flushed before a write resolves", () => {
  it("flushes after each committed write (transaction, run, INSERT … RETURNING, DDL), never after reads or a rolled-back transaction", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sensorseal-sqlite-"));
    const file = path.join(dir, "store.sqlite");
    const db = await openDatabase(file);
    try {
      await db.migrate("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
      let syncs = syncsOf(db);
      assert.ok(syncs >= 1, "the DDL was flushed");

      await db.run("INSERT INTO t (v) VALUES (?)", ["a"]);
      assert.equal(syncsOf(db), ++syncs, "a write through run");
      const returned = await db.query<{ id: number }>("INSERT INTO t (v) VALUES (?) RETURNING id", ["b"]);
      assert.deepEqual(returned, [{ id: 2 }]);
      assert.equal(syncsOf(db), ++syncs, "a write through query (RETURNING)");
      await db.transaction(async (tx) => {
        await tx.run("INSERT INTO t (v) VALUES (?)", ["c"]);
        await tx.run("INSERT INTO t (v) VALUES (?)", ["d"]);
      });
      assert.equal(syncsOf(db), ++syncs, "one flush per transaction");

      assert.equal((await db.query("SELECT * FROM t")).length, 4);
      await db.transaction(async (tx) => tx.query("SELECT COUNT(*) AS n FROM t"));
      assert.equal(syncsOf(db), syncs, "reads flush nothing");
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.run("INSERT INTO t (v) VALUES (?)", ["e"]);
          throw new Error("abort");
        }),
        /abort/,
      );
      assert.equal(syncsOf(db), syncs, "a rolled-back transaction flushes nothing");

      // Concurrent writers commit one after another without waiting for each other's flush; each resolves
      // only once a flush covers it (the i-th commit is durable), and commits made while a flush runs share the next.
      const base = durableOf(db);
      const durableAtAnswer = await Promise.all(
        Array.from({ length: 20 }, (_, i) => db.run("INSERT INTO t (v) VALUES (?)", [`w${i}`]).then(() => durableOf(db))),
      );
      durableAtAnswer.forEach((durable, i) => assert.ok(durable >= base + i + 1, `write ${i} answered before a flush covered it`));
      assert.equal(durableOf(db), base + 20);
      const flushes = syncsOf(db) - syncs;
      assert.ok(flushes >= 1 && flushes < 20, `20 concurrent writes shared flushes (${flushes} flushes)`);
      assert.equal((await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM t"))[0].n, 24);

      // Another connection sees every answered write (what a crash-restart would read back).
      const other = new Database(file, { readonly: true });
      assert.equal((other.prepare("SELECT COUNT(*) AS n FROM t").get() as { n: number }).n, 24);
      other.close();
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("keeps flushing the same log file after a checkpoint restarts it", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sensorseal-sqlite-"));
    const file = path.join(dir, "store.sqlite");
    const db = await openDatabase(file);
    try {
      await db.migrate("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
      await db.run("INSERT INTO t (v) VALUES (?)", ["a"]);
      const before = await stat(`${file}-wal`);
      await db.query("PRAGMA wal_checkpoint(TRUNCATE)");
      assert.equal((await stat(`${file}-wal`)).size, 0, "the checkpoint emptied the log");
      const syncs = syncsOf(db);
      await db.run("INSERT INTO t (v) VALUES (?)", ["b"]);
      const after = await stat(`${file}-wal`);
      assert.equal(after.ino, before.ino, "the same log file (the handle flushed is still SQLite's log)");
      assert.ok(after.size > 0);
      assert.equal(syncsOf(db), syncs + 1);
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an in-memory store (no log to flush) answers as before", async () => {
    const db = await openDatabase(":memory:");
    try {
      await db.migrate("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
      await db.run("INSERT INTO t (v) VALUES (?)", ["a"]);
      assert.deepEqual(await db.query("SELECT v FROM t"), [{ v: "a" }]);
      assert.equal(syncsOf(db), 0);
    } finally {
      await db.close();
    }
  });

  it("checkpoints on its own thread, not inside COMMIT: under steady writes the log keeps restarting and every row is kept", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sensorseal-sqlite-"));
    const file = path.join(dir, "store.sqlite");
    const db = await openDatabase(file);
    const rowBytes = 1024;
    let rows = 0;
    try {
      await db.migrate("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
      assert.deepEqual(await db.query("PRAGMA wal_autocheckpoint"), [{ wal_autocheckpoint: 0 }], "SQLite does not checkpoint in COMMIT");
      rows = await writeUntilLogRestarts(db, `${file}-wal`, 3, rowBytes);
      assert.ok(checkpointsOf(db) >= 3, `${checkpointsOf(db)} checkpoints on the thread`);
      const database = (await stat(file)).size;
      assert.ok(database > (rows * rowBytes) / 4, `checkpoints copied the rows into the database file (${database} bytes)`);
    } finally {
      await db.close();
    }
    try {
      await assert.rejects(stat(`${file}-wal`), { code: "ENOENT" }, "the last connection to close checkpointed and removed the log");
      assert.deepEqual(storedRows(file), { n: rows, bytes: rows * rowBytes });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("falls back to SQLite's own checkpoints when the thread cannot checkpoint (its database file renamed away under the service, a real fault): the log keeps restarting and every row is kept", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "sensorseal-sqlite-"));
    const file = path.join(dir, "store.sqlite");
    const moved = path.join(dir, "moved.sqlite");
    const db = await openDatabase(file);
    const rowBytes = 1024;
    let rows = 0;
    try {
      await db.migrate("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
      // The service's connection keeps its open file; the thread, opening the file by name at its first checkpoint, finds none.
      await rename(file, moved);
      rows = await writeUntilLogRestarts(db, `${file}-wal`, 3, rowBytes);
      assert.equal(checkpointsOf(db), 0, "no checkpoint ran on the thread");
      assert.deepEqual(await db.query("PRAGMA wal_autocheckpoint"), [{ wal_autocheckpoint: 1000 }], "SQLite checkpoints in COMMIT again");
    } finally {
      await db.close();
    }
    try {
      await rename(moved, file);
      assert.deepEqual(storedRows(file), { n: rows, bytes: rows * rowBytes });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
