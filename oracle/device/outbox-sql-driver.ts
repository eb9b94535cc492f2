/**
 * The SQLite drivers the outbox runs on, behind one small interface: Node's built-in `node:sqlite`
 * (Node ≥ 22.13, or 22.5 with `--experimental-sqlite`; no native addon, so no pinned Node ABI) or
 * `better-sqlite3` (a native addon compiled for one Node ABI; an optional peer dependency). Both
 * read and write the same file format, so an outbox file moves between them.
 *
 * @module
 */
import { createRequire } from "node:module";

import { OutboxError } from "./errors.js";

/** A prepared statement, as both drivers shape it. */
export interface SqlStatement<P extends unknown[] = unknown[], R = unknown> {
  get(...params: P): R | undefined;
  all(...params: P): R[];
  run(...params: P): { changes: number | bigint };
}

/** An open SQLite database, as both drivers shape it. */
export interface SqlDatabase {
  prepare(sql: string): SqlStatement<unknown[], unknown>;
  exec(sql: string): unknown;
  close(): void;
}

/** The SQLite drivers an outbox can use. */
export type SqlDriverName = "node:sqlite" | "better-sqlite3";

const require = createRequire(import.meta.url);

type NodeSqlite = { DatabaseSync: new (file: string) => SqlDatabase };
type BetterSqlite = new (file: string) => SqlDatabase;

/**
 * Whether a driver loads in this process (node:sqlite needs Node ≥ 22.13; better-sqlite3 needs its
 * addon built for this Node).
 *
 * @example
 * ```ts
 * sqlDriverAvailable("node:sqlite"); // true on Node 22.13+, false on Node 20
 * ```
 */
export function sqlDriverAvailable(driver: SqlDriverName): boolean {
  try {
    loadDriver(driver);
    return true;
  } catch {
    return false;
  }
}

function loadDriver(driver: SqlDriverName): (file: string) => SqlDatabase {
  if (driver === "node:sqlite") {
    const { DatabaseSync } = require("node:sqlite") as NodeSqlite;
    return (file) => new DatabaseSync(file);
  }
  const Database = require("better-sqlite3") as BetterSqlite;
  // Instantiating is what loads the addon: a wrong-ABI build fails here, not at require.
  new Database(":memory:").close();
  return (file) => new Database(file);
}

/**
 * Opens a SQLite file with the given driver.
 *
 * @throws {OutboxError} `OUTBOX_STORAGE_UNAVAILABLE` if the driver does not load in this Node.
 * @example
 * ```ts
 * const db = openSqlDatabase(":memory:", "node:sqlite");
 * db.prepare("SELECT 1 AS one").get(); // { one: 1 }
 * db.close();
 * ```
 */
export function openSqlDatabase(file: string, driver: SqlDriverName): SqlDatabase {
  let open: (file: string) => SqlDatabase;
  try {
    open = loadDriver(driver);
  } catch (cause) {
    throw new OutboxError(
      "OUTBOX_STORAGE_UNAVAILABLE",
      `The outbox storage ${driver} does not load on Node ${process.versions.node}: ${(cause as Error).message.split("\n")[0]}`,
      { driver, node: process.versions.node },
      cause,
    );
  }
  return open(file);
}

/**
 * Runs `fn` in a `BEGIN IMMEDIATE` transaction (the write lock taken up front), committing on
 * return and rolling back on a throw.
 *
 * @example
 * ```ts
 * const db = openSqlDatabase(":memory:", "node:sqlite");
 * db.exec("CREATE TABLE t (x INTEGER)");
 * inImmediateTransaction(db, () => db.prepare("INSERT INTO t VALUES (1)").run()); // { changes: 1, … }
 * db.close();
 * ```
 */
export function inImmediateTransaction<T>(db: SqlDatabase, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}
