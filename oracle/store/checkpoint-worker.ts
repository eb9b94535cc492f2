/**
 * The SQLite store's checkpointer (oracle/store/sql.ts): a worker thread with its own connection to
 * the database file that copies the write-ahead log back into the database (`wal_checkpoint(PASSIVE)`,
 * which waits for no reader or writer) when asked, so the page copying and the database's fsync never
 * run inside a COMMIT on the service's event loop.
 *
 * Messages in: `{ open: file }` first, then `{ checkpoint: true }` (answered `{}` once done, or
 * `{ error }`), and `{ close: true }` (the thread ends).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

import Database from "better-sqlite3";

let db: Database.Database | undefined;

parentPort!.on("message", (message: { open?: string; checkpoint?: true; close?: true }) => {
  if (message.close) {
    db?.close();
    parentPort!.close();
    return;
  }
  try {
    if (message.open !== undefined) {
      db = new Database(message.open, { fileMustExist: true });
      db.pragma("wal_autocheckpoint = 0");
      db.pragma("busy_timeout = 5000");
      return;
    }
    if (db === undefined) throw new Error("no database open");
    db.pragma("wal_checkpoint(PASSIVE)");
    parentPort!.postMessage({});
  } catch (error) {
    parentPort!.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
});
