/**
 * The outbox's reports and upkeep, off the delivery hot path: counts by target and state, a
 * device's readings with their delivery records (rejected ones stay, with the service's code and
 * message, as the outbox's dead letters), and pruning of readings every target has.
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { inImmediateTransaction, type SqlDatabase } from "./outbox-sql-driver.js";

import type { DeliveryRecord, DeliveryState, DeliveryTarget, OutboxCounts, OutboxItem } from "./outbox-types.js";

type ReadingRow = { device: Address; seq: number; ts: number; payload: string; data_hash: Hex; signature: Hex; created_at: number };

type DeliveryRow = {
  target: DeliveryTarget;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: number;
  http_status: number | null;
  error_code: string | null;
  error_message: string | null;
  response: string | null;
  updated_at: number;
};

/**
 * Exact counts of deliveries by target and state (a table scan).
 *
 * @example
 * ```ts
 * import { openOutboxDatabase } from "./outbox-schema.js";
 * const db = openOutboxDatabase(":memory:", "normal");
 * countDeliveries(db).relayer; // { pending: 0, delivered: 0, rejected: 0 }
 * db.close();
 * ```
 */
export function countDeliveries(db: SqlDatabase): OutboxCounts {
  const counts: OutboxCounts = {
    platform: { pending: 0, delivered: 0, rejected: 0 },
    relayer: { pending: 0, delivered: 0, rejected: 0 },
  };
  const rows = db.prepare("SELECT target, state, COUNT(*) AS n FROM deliveries GROUP BY target, state").all() as {
    target: DeliveryTarget;
    state: DeliveryState;
    n: number;
  }[];
  for (const row of rows) counts[row.target][row.state] = row.n;
  return counts;
}

function deliveryRecord(d: DeliveryRow): DeliveryRecord {
  return {
    target: d.target,
    state: d.state,
    attempts: d.attempts,
    nextAttemptAt: d.next_attempt_at,
    httpStatus: d.http_status,
    errorCode: d.error_code,
    errorMessage: d.error_message,
    response: d.response,
    updatedAt: d.updated_at,
  };
}

/**
 * A device's readings still in the outbox from `fromSeq` (default 1), by seq, at most `limit`
 * (default 1000), each with its delivery records.
 *
 * @example
 * ```ts
 * import { openOutboxDatabase } from "./outbox-schema.js";
 * const db = openOutboxDatabase(":memory:", "normal");
 * listReadings(db, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"); // []
 * db.close();
 * ```
 */
export function listReadings(db: SqlDatabase, device: Address, options: { fromSeq?: number; limit?: number } = {}): OutboxItem[] {
  const rows = db
    .prepare(
      "SELECT device, seq, ts, payload, data_hash, signature, created_at FROM readings WHERE device = ? AND seq >= ? ORDER BY seq LIMIT ?",
    )
    .all(device, options.fromSeq ?? 1, options.limit ?? 1000) as ReadingRow[];
  const deliveries = db.prepare(
    "SELECT target, state, attempts, next_attempt_at, http_status, error_code, error_message, response, updated_at FROM deliveries WHERE device = ? AND seq = ? ORDER BY target",
  );
  return rows.map((r) => ({
    device: r.device,
    seq: r.seq,
    ts: r.ts,
    payload: r.payload,
    dataHash: r.data_hash,
    signature: r.signature,
    createdAt: r.created_at,
    deliveries: (deliveries.all(r.device, r.seq) as DeliveryRow[]).map(deliveryRecord),
  }));
}

/**
 * Deletes readings delivered to every target before `beforeMs` (epoch ms), in one transaction;
 * answers how many readings went. Seqs are kept (they live in `devices`).
 *
 * @example
 * ```ts
 * import { openOutboxDatabase } from "./outbox-schema.js";
 * const db = openOutboxDatabase(":memory:", "normal");
 * pruneDelivered(db, Date.now()); // 0
 * db.close();
 * ```
 */
export function pruneDelivered(db: SqlDatabase, beforeMs: number): number {
  return inImmediateTransaction(db, () => {
    const done = `SELECT device, seq FROM deliveries GROUP BY device, seq
                   HAVING SUM(state <> 'delivered') = 0 AND MAX(updated_at) < ?`;
    const removed = Number(db.prepare(`DELETE FROM readings WHERE (device, seq) IN (${done})`).run(beforeMs).changes);
    db.prepare(
      "DELETE FROM deliveries WHERE state = 'delivered' AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.device = deliveries.device AND r.seq = deliveries.seq)",
    ).run();
    return removed;
  });
}
