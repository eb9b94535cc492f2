/**
 * The outbox file: its SQLite schema (the same on both drivers), pragmas (WAL; fsync per commit unless `durability:
 * "normal"`), and the prepared statements of the hot paths (append, head, mark).
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import path from "node:path";

import type { Address, Hex } from "viem";

import { openSqlDatabase, type SqlDatabase, type SqlDriverName, type SqlStatement } from "./outbox-sql-driver.js";

export const OUTBOX_SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
  device   TEXT PRIMARY KEY,
  next_seq INTEGER NOT NULL CHECK (next_seq >= 1)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readings (
  device     TEXT NOT NULL,
  seq        INTEGER NOT NULL,
  ts         INTEGER NOT NULL,
  payload    TEXT NOT NULL,
  data_hash  TEXT NOT NULL,
  signature  TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (device, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deliveries (
  device          TEXT NOT NULL,
  target          TEXT NOT NULL CHECK (target IN ('platform', 'relayer')),
  seq             INTEGER NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'rejected')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  http_status     INTEGER,
  error_code      TEXT,
  error_message   TEXT,
  response        TEXT,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (device, target, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (target, device, seq) WHERE state = 'pending';
INSERT OR IGNORE INTO outbox_meta (key, value) VALUES ('schema_version', '1');
`;

export type HeadRow = {
  device: Address;
  seq: number;
  attempts: number;
  next_attempt_at: number;
  ts: number;
  payload: string;
  data_hash: Hex;
  signature: Hex;
};

/** The prepared statements of the outbox's hot paths. */
export type OutboxStatements = {
  nextSeq: SqlStatement<[string], { next_seq: number }>;
  setNextSeq: SqlStatement<[string, number], never>;
  insertReading: SqlStatement<[string, number, number, string, string, string, number], never>;
  insertDelivery: SqlStatement<[string, string, number, number], never>;
  head: SqlStatement<[string, string], HeadRow>;
  finish: SqlStatement<[string, number | null, string | null, string | null, string | null, number, string, string, number], never>;
  retry: SqlStatement<[number, number | null, string | null, string | null, number, string, string, number], never>;
  deleteDelivery: SqlStatement<[string, string, number], never>;
  remaining: SqlStatement<[string, number], { n: number }>;
  deleteReading: SqlStatement<[string, number], never>;
};

/**
 * Opens (creating if needed) an outbox file with its schema, on the given SQLite driver
 * (default `node:sqlite`); `":memory:"` gives a throw-away one.
 *
 * @example
 * ```ts
 * const db = openOutboxDatabase(":memory:", "normal");
 * db.prepare("SELECT value FROM outbox_meta WHERE key = 'schema_version'").get(); // { value: "1" }
 * db.close();
 * ```
 */
export function openOutboxDatabase(file: string, durability: "full" | "normal", driver: SqlDriverName = "node:sqlite"): SqlDatabase {
  if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = openSqlDatabase(file, driver);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${durability === "normal" ? "NORMAL" : "FULL"}`);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec(OUTBOX_SCHEMA);
  return db;
}

/**
 * Prepares the statements of the outbox's hot paths on an open outbox database.
 *
 * @example
 * ```ts
 * const db = openOutboxDatabase(":memory:", "normal");
 * prepareOutboxStatements(db).nextSeq.get("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"); // undefined
 * db.close();
 * ```
 */
export function prepareOutboxStatements(db: SqlDatabase): OutboxStatements {
  const prepare = <P extends unknown[], R>(sql: string) => db.prepare(sql) as unknown as SqlStatement<P, R>;
  return {
    nextSeq: prepare("SELECT next_seq FROM devices WHERE device = ?"),
    setNextSeq: prepare(
      "INSERT INTO devices (device, next_seq) VALUES (?, ?) ON CONFLICT (device) DO UPDATE SET next_seq = excluded.next_seq",
    ),
    insertReading: prepare(
      "INSERT INTO readings (device, seq, ts, payload, data_hash, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    insertDelivery: prepare(
      "INSERT INTO deliveries (device, target, seq, state, attempts, next_attempt_at, updated_at) VALUES (?, ?, ?, 'pending', 0, 0, ?)",
    ),
    head: prepare(
      `SELECT d.device, d.seq, d.attempts, d.next_attempt_at, r.ts, r.payload, r.data_hash, r.signature
         FROM deliveries d JOIN readings r ON r.device = d.device AND r.seq = d.seq
        WHERE d.state = 'pending' AND d.target = ? AND d.device > ?
        ORDER BY d.target, d.device, d.seq LIMIT 1`,
    ),
    finish: prepare(
      `UPDATE deliveries SET state = ?, attempts = attempts + 1, http_status = ?, error_code = ?, error_message = ?,
              response = ?, updated_at = ?
        WHERE device = ? AND target = ? AND seq = ? AND state = 'pending'`,
    ),
    retry: prepare(
      `UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, http_status = ?, error_code = ?,
              error_message = ?, updated_at = ?
        WHERE device = ? AND target = ? AND seq = ? AND state = 'pending'`,
    ),
    deleteDelivery: prepare("DELETE FROM deliveries WHERE device = ? AND target = ? AND seq = ?"),
    remaining: prepare("SELECT COUNT(*) AS n FROM deliveries WHERE device = ? AND seq = ?"),
    deleteReading: prepare("DELETE FROM readings WHERE device = ? AND seq = ?"),
  };
}
