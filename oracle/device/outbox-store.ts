/**
 * Where the outbox keeps its records: the {@link OutboxStore} interface, its SQLite implementation
 * (on `node:sqlite` or `better-sqlite3`), and the rule every store applies inside its write
 * transaction (a reading's seq is its device's next one).
 *
 * @module
 */
import type { Address } from "viem";

import { OutboxError } from "./errors.js";
import { countDeliveries, listReadings, pruneDelivered } from "./outbox-queries.js";
import { openOutboxDatabase, prepareOutboxStatements, type HeadRow, type OutboxStatements } from "./outbox-schema.js";
import { inImmediateTransaction, type SqlDatabase, type SqlDriverName } from "./outbox-sql-driver.js";
import type { DeliveryState, DeliveryTarget, OutboxCounts, OutboxEntry, OutboxItem } from "./outbox-types.js";

export type { HeadRow } from "./outbox-schema.js";

/** How a pending delivery ends (delivered or rejected), with the service's answer. */
export type FinishUpdate = {
  state: DeliveryState.Delivered | DeliveryState.Rejected;
  httpStatus: number | null;
  code: string | null;
  message: string | null;
  response: string | null;
  at: number;
  /** Drop the delivery (and the reading, once no target still has it) instead of keeping it. */
  drop: boolean;
};

/** A failed attempt: when to try again, and what the service said. */
export type RetryUpdate = { nextAttemptAt: number; httpStatus: number | null; code: string; message: string | null; at: number };

/**
 * The records behind an {@link Outbox}: every method is synchronous and returns once its change is
 * durable (per the outbox's `durability`). Implementations: {@link SqliteOutboxStore} and
 * {@link JournalOutboxStore}; a custom one (e.g. on a device's own flash database) implements this.
 */
export interface OutboxStore {
  /** What the records live in, for logs and stats (e.g. `"node:sqlite"`). */
  readonly kind: string;
  nextSeq(device: Address): number | undefined;
  nextSeqs(): Map<Address, number>;
  /** Writes readings and their pending deliveries atomically; throws `OUTBOX_SEQUENCE_CONFLICT` (see {@link checkNextSeqs}). */
  appendMany(entries: readonly OutboxEntry[], targets: readonly DeliveryTarget[], at: number): void;
  head(target: DeliveryTarget, afterDevice: string): HeadRow | undefined;
  finish(device: Address, target: DeliveryTarget, seq: number, update: FinishUpdate): boolean;
  retry(device: Address, target: DeliveryTarget, seq: number, update: RetryUpdate): boolean;
  retryNow(): number;
  pendingByTarget(): Record<DeliveryTarget, number>;
  counts(): OutboxCounts;
  list(device: Address, options: { fromSeq?: number; limit?: number }): OutboxItem[];
  prune(beforeMs: number): number;
  close(): void;
}

/**
 * Checks that each entry's seq is its device's next one (entries of one device consecutive, in
 * order) and answers each device's next seq after them.
 *
 * @throws {OutboxError} `OUTBOX_SEQUENCE_CONFLICT` at the first entry that is not.
 * @example
 * ```ts
 * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
 * const e = (seq: number) => ({ device, seq, ts: 1, payload: "{}", dataHash: "0x00", signature: "0x00" }) as const;
 * checkNextSeqs([e(1), e(2)], () => undefined).get(device); // 3
 * ```
 */
export function checkNextSeqs(entries: readonly OutboxEntry[], nextSeq: (device: Address) => number | undefined): Map<Address, number> {
  const next = new Map<Address, number>();
  for (const e of entries) {
    const expected = next.get(e.device) ?? nextSeq(e.device) ?? 1;
    if (e.seq !== expected) {
      throw new OutboxError("OUTBOX_SEQUENCE_CONFLICT", `Reading seq ${e.seq} of ${e.device} is not the next seq ${expected}.`, {
        device: e.device,
        seq: e.seq,
        expected,
      });
    }
    next.set(e.device, e.seq + 1);
  }
  return next;
}

/**
 * The outbox in one SQLite file (WAL), on `node:sqlite` (built in, no native addon) or
 * `better-sqlite3`. The file format is the same on both.
 *
 * @example
 * ```ts
 * const store = SqliteOutboxStore.open(":memory:", { durability: "normal", driver: "node:sqlite" });
 * store.nextSeq("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"); // undefined
 * store.close();
 * ```
 */
export class SqliteOutboxStore implements OutboxStore {
  readonly kind: SqlDriverName;
  readonly #db: SqlDatabase;
  readonly #stmt: OutboxStatements;

  private constructor(db: SqlDatabase, driver: SqlDriverName) {
    this.kind = driver;
    this.#db = db;
    this.#stmt = prepareOutboxStatements(db);
  }

  /**
   * Opens (creating if needed) an outbox SQLite file; `":memory:"` gives a throw-away one.
   *
   * @example
   * ```ts
   * SqliteOutboxStore.open(":memory:", { durability: "full", driver: "node:sqlite" }).kind; // "node:sqlite"
   * ```
   */
  static open(file: string, options: { durability: "full" | "normal"; driver: SqlDriverName }): SqliteOutboxStore {
    return new SqliteOutboxStore(openOutboxDatabase(file, options.durability, options.driver), options.driver);
  }

  nextSeq(device: Address): number | undefined {
    return this.#stmt.nextSeq.get(device)?.next_seq;
  }

  nextSeqs(): Map<Address, number> {
    const rows = this.#db.prepare("SELECT device, next_seq FROM devices").all() as { device: Address; next_seq: number }[];
    return new Map(rows.map((r) => [r.device, r.next_seq]));
  }

  appendMany(entries: readonly OutboxEntry[], targets: readonly DeliveryTarget[], at: number): void {
    const s = this.#stmt;
    inImmediateTransaction(this.#db, () => {
      const next = checkNextSeqs(entries, (device) => this.nextSeq(device));
      for (const e of entries) {
        s.insertReading.run(e.device, e.seq, e.ts, e.payload, e.dataHash, e.signature, at);
        for (const t of targets) s.insertDelivery.run(e.device, t, e.seq, at);
      }
      for (const [device, seq] of next) s.setNextSeq.run(device, seq);
    });
  }

  head(target: DeliveryTarget, afterDevice: string): HeadRow | undefined {
    return this.#stmt.head.get(target, afterDevice);
  }

  finish(device: Address, target: DeliveryTarget, seq: number, u: FinishUpdate): boolean {
    const s = this.#stmt;
    return inImmediateTransaction(this.#db, () => {
      const { changes } = s.finish.run(u.state, u.httpStatus, u.code, u.message, u.response, u.at, device, target, seq);
      if (Number(changes) === 0) return false;
      if (u.drop) {
        s.deleteDelivery.run(device, target, seq);
        if (s.remaining.get(device, seq)?.n === 0) s.deleteReading.run(device, seq);
      }
      return true;
    });
  }

  retry(device: Address, target: DeliveryTarget, seq: number, u: RetryUpdate): boolean {
    const { changes } = this.#stmt.retry.run(u.nextAttemptAt, u.httpStatus, u.code, u.message, u.at, device, target, seq);
    return Number(changes) > 0;
  }

  retryNow(): number {
    return Number(
      this.#db.prepare("UPDATE deliveries SET next_attempt_at = 0 WHERE state = 'pending' AND next_attempt_at > 0").run().changes,
    );
  }

  pendingByTarget(): Record<DeliveryTarget, number> {
    const pending: Record<DeliveryTarget, number> = { platform: 0, relayer: 0 };
    const rows = this.#db.prepare("SELECT target, COUNT(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY target").all() as {
      target: DeliveryTarget;
      n: number;
    }[];
    for (const row of rows) pending[row.target] = row.n;
    return pending;
  }

  counts(): OutboxCounts {
    return countDeliveries(this.#db);
  }

  list(device: Address, options: { fromSeq?: number; limit?: number }): OutboxItem[] {
    return listReadings(this.#db, device, options);
  }

  prune(beforeMs: number): number {
    return pruneDelivered(this.#db, beforeMs);
  }

  close(): void {
    this.#db.close();
  }
}
