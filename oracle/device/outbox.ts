/**
 * The device's durable outbox (SQLite, better-sqlite3): every signed reading is written here,
 * with its seq, before anything is sent; each delivery target (platform, relayer) has its own
 * delivery state per reading; the next seq of each device is persisted with the reading that
 * used the previous one, so a restart continues where the last run stopped.
 *
 * One file holds any number of devices (one device client, or a whole simulator process).
 *
 * Tables:
 * - `devices(device, next_seq)`: the next seq of each device.
 * - `readings(device, seq, ts, payload, data_hash, signature, created_at)`: the signed readings
 *   (payload is the canonical JSON text, verbatim).
 * - `deliveries(device, target, seq, state, attempts, next_attempt_at, http_status, error_code,
 *   error_message, response, updated_at)`: `state` is {@link DeliveryState}.
 *
 * @module
 */
import { mkdirSync } from "node:fs";
import path from "node:path";

import Database from "better-sqlite3";
import type { Address, Hex } from "viem";

import { DeviceConfigError, OutboxError } from "./errors.js";

/** Where a reading goes: the raw payload to the platform, the signed header to the relayer. */
export type DeliveryTarget = "platform" | "relayer";

/** Both targets, in the order they are listed in stats. */
export const DELIVERY_TARGETS: readonly DeliveryTarget[] = ["platform", "relayer"];

/**
 * Lifecycle of one reading at one target: `pending` (queued or being retried) → `delivered`
 * (2xx or a duplicate answer) or `rejected` (a 4xx that retrying cannot fix; final).
 */
export enum DeliveryState {
  Pending = "pending",
  Delivered = "delivered",
  Rejected = "rejected",
}

/** A signed reading as written to the outbox. */
export type OutboxEntry = {
  device: Address;
  seq: number;
  /** Unix seconds, as in the payload. */
  ts: number;
  /** The canonical payload JSON, verbatim. */
  payload: string;
  dataHash: Hex;
  signature: Hex;
};

/** One reading's delivery state at one target. */
export type DeliveryRecord = {
  target: DeliveryTarget;
  state: DeliveryState;
  attempts: number;
  /** Epoch ms before which no retry is made. */
  nextAttemptAt: number;
  httpStatus: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** The service's answer body on delivery (e.g. the relayer's signed receipt), JSON text, truncated to 16 KiB. */
  response: string | null;
  updatedAt: number;
};

/** An outbox entry with its delivery records. */
export type OutboxItem = OutboxEntry & { createdAt: number; deliveries: DeliveryRecord[] };

/** The oldest pending delivery of one device at one target (the only one that may be sent). */
export type DeliveryHead = OutboxEntry & {
  target: DeliveryTarget;
  attempts: number;
  nextAttemptAt: number;
};

/** Options of {@link Outbox.open}. */
export type OutboxOptions = {
  /** Targets each new reading is queued for (default both). */
  targets?: readonly DeliveryTarget[];
  /**
   * What to do with a reading once every target has it: `"keep"` (default; prune with
   * {@link Outbox.prune}) or `"delete"` (the simulator's choice: the file holds only the backlog).
   */
  retention?: "keep" | "delete";
  /**
   * `"full"` (default): every append is fsynced before it returns, so a reading survives a power
   * cut. `"normal"`: survives a process crash, not a power cut (faster; simulations).
   */
  durability?: "full" | "normal";
  /** Clock (epoch ms); tests replace it. */
  now?: () => number;
};

/** Counts of deliveries by target and state. */
export type OutboxCounts = Record<DeliveryTarget, Record<DeliveryState, number>>;

const RESPONSE_LIMIT = 16 * 1024;

const SCHEMA = `
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

type HeadRow = {
  device: Address;
  seq: number;
  attempts: number;
  next_attempt_at: number;
  ts: number;
  payload: string;
  data_hash: Hex;
  signature: Hex;
};

/**
 * The durable outbox. Synchronous (better-sqlite3): every method returns once the change is committed.
 *
 * @example
 * ```ts
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Outbox } from "./outbox.js";
 * const outbox = Outbox.open(join(mkdtempSync(join(tmpdir(), "sensorseal-")), "outbox.sqlite"));
 * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
 * outbox.nextSeq(device); // 1 on a new file
 * outbox.append({ device, seq: 1, ts: 1_700_000_000, payload: "{…canonical JSON…}",
 *   dataHash: `0x${"11".repeat(32)}`, signature: `0x${"22".repeat(64)}` });
 * outbox.pendingCount(); // 2: one delivery to the platform, one to the relayer
 * outbox.close();
 * ```
 */
export class Outbox {
  readonly file: string;
  readonly targets: readonly DeliveryTarget[];
  readonly retention: "keep" | "delete";
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #pending: Record<DeliveryTarget, number> = { platform: 0, relayer: 0 };
  #closed = false;
  readonly #stmt: {
    nextSeq: Database.Statement<[string], { next_seq: number }>;
    setNextSeq: Database.Statement<[string, number]>;
    insertReading: Database.Statement<[string, number, number, string, string, string, number]>;
    insertDelivery: Database.Statement<[string, string, number, number]>;
    head: Database.Statement<[string, string], HeadRow>;
    finish: Database.Statement<[string, number | null, string | null, string | null, string | null, number, string, string, number]>;
    retry: Database.Statement<[number, number | null, string | null, string | null, number, string, string, number]>;
    deleteDelivery: Database.Statement<[string, string, number]>;
    remaining: Database.Statement<[string, number], { n: number }>;
    deleteReading: Database.Statement<[string, number]>;
  };

  private constructor(file: string, options: OutboxOptions) {
    const targets = options.targets ?? DELIVERY_TARGETS;
    if (targets.length === 0 || targets.some((t) => !DELIVERY_TARGETS.includes(t)) || new Set(targets).size !== targets.length) {
      throw new DeviceConfigError("targets", `must be a non-empty subset of ${DELIVERY_TARGETS.join(", ")}`);
    }
    this.file = file;
    this.targets = [...targets];
    this.retention = options.retention ?? "keep";
    this.#now = options.now ?? Date.now;
    if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.#db = new Database(file);
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma(`synchronous = ${options.durability === "normal" ? "NORMAL" : "FULL"}`);
    this.#db.pragma("busy_timeout = 5000");
    this.#db.exec(SCHEMA);
    const db = this.#db;
    this.#stmt = {
      nextSeq: db.prepare("SELECT next_seq FROM devices WHERE device = ?"),
      setNextSeq: db.prepare(
        "INSERT INTO devices (device, next_seq) VALUES (?, ?) ON CONFLICT (device) DO UPDATE SET next_seq = excluded.next_seq",
      ),
      insertReading: db.prepare(
        "INSERT INTO readings (device, seq, ts, payload, data_hash, signature, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      insertDelivery: db.prepare(
        "INSERT INTO deliveries (device, target, seq, state, attempts, next_attempt_at, updated_at) VALUES (?, ?, ?, 'pending', 0, 0, ?)",
      ),
      head: db.prepare(
        `SELECT d.device, d.seq, d.attempts, d.next_attempt_at, r.ts, r.payload, r.data_hash, r.signature
           FROM deliveries d JOIN readings r ON r.device = d.device AND r.seq = d.seq
          WHERE d.state = 'pending' AND d.target = ? AND d.device > ?
          ORDER BY d.target, d.device, d.seq LIMIT 1`,
      ),
      finish: db.prepare(
        `UPDATE deliveries SET state = ?, attempts = attempts + 1, http_status = ?, error_code = ?, error_message = ?,
                response = ?, updated_at = ?
          WHERE device = ? AND target = ? AND seq = ? AND state = 'pending'`,
      ),
      retry: db.prepare(
        `UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, http_status = ?, error_code = ?,
                error_message = ?, updated_at = ?
          WHERE device = ? AND target = ? AND seq = ? AND state = 'pending'`,
      ),
      deleteDelivery: db.prepare("DELETE FROM deliveries WHERE device = ? AND target = ? AND seq = ?"),
      remaining: db.prepare("SELECT COUNT(*) AS n FROM deliveries WHERE device = ? AND seq = ?"),
      deleteReading: db.prepare("DELETE FROM readings WHERE device = ? AND seq = ?"),
    };
    for (const row of db
      .prepare("SELECT target, COUNT(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY target")
      .all() as { target: DeliveryTarget; n: number }[]) {
      this.#pending[row.target] = row.n;
    }
  }

  /**
   * Opens (creating if needed) an outbox file. `":memory:"` gives a throw-away outbox.
   *
   * @example
   * ```ts
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * const file = join(mkdtempSync(join(tmpdir(), "sensorseal-")), "sim-outbox.sqlite");
   * const outbox = Outbox.open(file, { retention: "delete", durability: "normal" });
   * outbox.close();
   * ```
   */
  static open(file: string, options: OutboxOptions = {}): Outbox {
    return new Outbox(file, options);
  }

  #check(): void {
    if (this.#closed) throw new OutboxError("OUTBOX_CLOSED", `Outbox ${this.file} is closed.`, { file: this.file });
  }

  /**
   * The seq the device's next reading must carry (1 for a device never seen).
   *
   * @example
   * ```ts
   * Outbox.open(":memory:").nextSeq("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"); // 1
   * ```
   */
  nextSeq(device: Address): number {
    this.#check();
    return this.#stmt.nextSeq.get(device)?.next_seq ?? 1;
  }

  /**
   * Every known device's next seq (for a simulator's start-up).
   *
   * @example
   * ```ts
   * const seqs = Outbox.open(":memory:").nextSeqs(); // Map(0) {}
   * ```
   */
  nextSeqs(): Map<Address, number> {
    this.#check();
    const rows = this.#db.prepare("SELECT device, next_seq FROM devices").all() as { device: Address; next_seq: number }[];
    return new Map(rows.map((r) => [r.device, r.next_seq]));
  }

  /**
   * Writes one signed reading and queues it for every target, atomically, and advances the
   * device's seq. The reading's seq must be the device's {@link Outbox.nextSeq}.
   *
   * @throws {OutboxError} `OUTBOX_SEQUENCE_CONFLICT` if it is not.
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.append(entry(outbox.nextSeq(device)));
   * outbox.nextSeq(device); // 2
   * ```
   */
  append(entry: OutboxEntry): void {
    this.appendMany([entry]);
  }

  /**
   * {@link Outbox.append} for many readings in one transaction (all or none); a device may appear
   * several times, with consecutive seqs in order.
   *
   * @throws {OutboxError} `OUTBOX_SEQUENCE_CONFLICT` if any seq is not its device's next one.
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.appendMany([entry(1), entry(2)]);
   * outbox.nextSeq(device); // 3
   * ```
   */
  appendMany(entries: readonly OutboxEntry[]): void {
    this.#check();
    if (entries.length === 0) return;
    const now = this.#now();
    const s = this.#stmt;
    const targets = this.targets;
    const run = this.#db.transaction((items: readonly OutboxEntry[]) => {
      const next = new Map<string, number>();
      for (const e of items) {
        const expected = next.get(e.device) ?? s.nextSeq.get(e.device)?.next_seq ?? 1;
        if (e.seq !== expected) {
          throw new OutboxError(
            "OUTBOX_SEQUENCE_CONFLICT",
            `Reading seq ${e.seq} of ${e.device} is not the next seq ${expected}.`,
            { device: e.device, seq: e.seq, expected },
          );
        }
        s.insertReading.run(e.device, e.seq, e.ts, e.payload, e.dataHash, e.signature, now);
        for (const t of targets) s.insertDelivery.run(e.device, t, e.seq, now);
        next.set(e.device, e.seq + 1);
      }
      for (const [device, seq] of next) s.setNextSeq.run(device, seq);
    });
    run.immediate(entries);
    for (const t of targets) this.#pending[t] += entries.length;
  }

  /**
   * The oldest pending delivery at `target` of the first device after `afterDevice` (in address
   * order) that has one: one index seek. A worker walks devices with it round-robin.
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.appendMany([entry(1), entry(2)]);
   * outbox.headAfter("relayer", "")?.seq; // 1: the oldest pending reading of the first device
   * ```
   */
  headAfter(target: DeliveryTarget, afterDevice: string): DeliveryHead | undefined {
    this.#check();
    const row = this.#stmt.head.get(target, afterDevice);
    if (row === undefined) return undefined;
    return {
      target,
      device: row.device,
      seq: row.seq,
      ts: row.ts,
      payload: row.payload,
      dataHash: row.data_hash,
      signature: row.signature,
      attempts: row.attempts,
      nextAttemptAt: row.next_attempt_at,
    };
  }

  #finish(
    device: Address,
    seq: number,
    target: DeliveryTarget,
    state: DeliveryState.Delivered | DeliveryState.Rejected,
    info: { httpStatus?: number | null; code?: string | null; message?: string | null; response?: string | null },
  ): boolean {
    this.#check();
    const s = this.#stmt;
    const response = info.response == null ? null : info.response.slice(0, RESPONSE_LIMIT);
    const changed = this.#db.transaction(() => {
      const { changes } = s.finish.run(
        state,
        info.httpStatus ?? null,
        info.code ?? null,
        info.message ?? null,
        response,
        this.#now(),
        device,
        target,
        seq,
      );
      if (changes === 0) return false;
      if (state === DeliveryState.Delivered && this.retention === "delete") {
        s.deleteDelivery.run(device, target, seq);
        if (s.remaining.get(device, seq)?.n === 0) s.deleteReading.run(device, seq);
      }
      return true;
    }).immediate();
    if (changed) this.#pending[target]--;
    return changed;
  }

  /**
   * Marks a pending delivery delivered (final). Answers false if it was not pending.
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.append(entry(1));
   * outbox.markDelivered(device, 1, "relayer", { httpStatus: 202, response: '{"receipt":"…"}' }); // true
   * outbox.pendingCount("relayer"); // 0
   * ```
   */
  markDelivered(
    device: Address,
    seq: number,
    target: DeliveryTarget,
    info: { httpStatus?: number; code?: string; response?: string } = {},
  ): boolean {
    return this.#finish(device, seq, target, DeliveryState.Delivered, info);
  }

  /**
   * Marks a pending delivery rejected (final: it is never retried). Answers false if it was not pending.
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.append(entry(1));
   * outbox.markRejected(device, 1, "platform", { httpStatus: 400, code: "INVALID_SIGNATURE", message: "…" }); // true
   * outbox.counts().platform; // { pending: 0, delivered: 0, rejected: 1 }
   * ```
   */
  markRejected(
    device: Address,
    seq: number,
    target: DeliveryTarget,
    info: { httpStatus?: number | null; code: string; message?: string | null },
  ): boolean {
    return this.#finish(device, seq, target, DeliveryState.Rejected, info);
  }

  /**
   * Records a failed attempt and when to try again (the delivery stays pending).
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.append(entry(1));
   * outbox.markRetry(device, 1, "relayer", { nextAttemptAt: Date.now() + 2_000, httpStatus: 503, code: "HTTP_503" }); // true
   * outbox.headAfter("relayer", "")?.attempts; // 1
   * ```
   */
  markRetry(
    device: Address,
    seq: number,
    target: DeliveryTarget,
    info: { nextAttemptAt: number; httpStatus?: number | null; code: string; message?: string | null },
  ): boolean {
    this.#check();
    const { changes } = this.#stmt.retry.run(
      info.nextAttemptAt,
      info.httpStatus ?? null,
      info.code,
      info.message ?? null,
      this.#now(),
      device,
      target,
      seq,
    );
    return changes > 0;
  }

  /**
   * Makes every pending delivery due now (e.g. when the network comes back).
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.append(entry(1));
   * outbox.markRetry(device, 1, "relayer", { nextAttemptAt: Date.now() + 60_000, code: "ECONNREFUSED" });
   * outbox.retryNow(); // 1 delivery made due now
   * ```
   */
  retryNow(): number {
    this.#check();
    return this.#db.prepare("UPDATE deliveries SET next_attempt_at = 0 WHERE state = 'pending' AND next_attempt_at > 0").run()
      .changes;
  }

  /**
   * Pending deliveries (kept in memory, O(1)): at one target, or at all targets together.
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.append(entry(1));
   * outbox.pendingCount("relayer"); // 1
   * outbox.pendingCount(); // 2
   * ```
   */
  pendingCount(target?: DeliveryTarget): number {
    return target === undefined ? this.#pending.platform + this.#pending.relayer : this.#pending[target];
  }

  /**
   * Exact counts by target and state (a table scan: for reports, not hot loops). With
   * `retention: "delete"`, delivered readings are gone and counted as 0.
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.append(entry(1));
   * outbox.counts().relayer; // { pending: 1, delivered: 0, rejected: 0 }
   * ```
   */
  counts(): OutboxCounts {
    this.#check();
    const counts: OutboxCounts = {
      platform: { pending: 0, delivered: 0, rejected: 0 },
      relayer: { pending: 0, delivered: 0, rejected: 0 },
    };
    for (const row of this.#db.prepare("SELECT target, state, COUNT(*) AS n FROM deliveries GROUP BY target, state").all() as {
      target: DeliveryTarget;
      state: DeliveryState;
      n: number;
    }[]) {
      counts[row.target][row.state] = row.n;
    }
    return counts;
  }

  /**
   * A device's readings still in the outbox, by seq, with their delivery records.
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.append(entry(1));
   * outbox.list(device).map((item) => [item.seq, item.deliveries.map((d) => d.state)]); // [[1, ["pending", "pending"]]]
   * ```
   */
  list(device: Address, options: { fromSeq?: number; limit?: number } = {}): OutboxItem[] {
    this.#check();
    const rows = this.#db
      .prepare(
        "SELECT device, seq, ts, payload, data_hash, signature, created_at FROM readings WHERE device = ? AND seq >= ? ORDER BY seq LIMIT ?",
      )
      .all(device, options.fromSeq ?? 1, options.limit ?? 1000) as {
      device: Address;
      seq: number;
      ts: number;
      payload: string;
      data_hash: Hex;
      signature: Hex;
      created_at: number;
    }[];
    const deliveries = this.#db.prepare(
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
      deliveries: (
        deliveries.all(r.device, r.seq) as {
          target: DeliveryTarget;
          state: DeliveryState;
          attempts: number;
          next_attempt_at: number;
          http_status: number | null;
          error_code: string | null;
          error_message: string | null;
          response: string | null;
          updated_at: number;
        }[]
      ).map((d) => ({
        target: d.target,
        state: d.state,
        attempts: d.attempts,
        nextAttemptAt: d.next_attempt_at,
        httpStatus: d.http_status,
        errorCode: d.error_code,
        errorMessage: d.error_message,
        response: d.response,
        updatedAt: d.updated_at,
      })),
    }));
  }

  /**
   * Deletes readings delivered to every target before `beforeMs` (epoch ms). Seqs are kept.
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.append(entry(1));
   * outbox.markDelivered(device, 1, "platform");
   * outbox.markDelivered(device, 1, "relayer");
   * outbox.prune(Date.now() + 1); // 1 reading removed
   * outbox.nextSeq(device); // still 2
   * ```
   */
  prune(beforeMs: number): number {
    this.#check();
    return this.#db.transaction(() => {
      const done = `SELECT device, seq FROM deliveries GROUP BY device, seq
                     HAVING SUM(state <> 'delivered') = 0 AND MAX(updated_at) < ?`;
      const removed = this.#db
        .prepare(`DELETE FROM readings WHERE (device, seq) IN (${done})`)
        .run(beforeMs).changes;
      this.#db
        .prepare(
          "DELETE FROM deliveries WHERE state = 'delivered' AND NOT EXISTS (SELECT 1 FROM readings r WHERE r.device = deliveries.device AND r.seq = deliveries.seq)",
        )
        .run();
      return removed;
    }).immediate();
  }

  /** Whether {@link Outbox.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the file. Further calls throw `OUTBOX_CLOSED`.
   *
   * @example
   * ```ts
   * const outbox = Outbox.open(":memory:");
   * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
   * const entry = (seq: number) => ({ device, seq, ts: 1_700_000_000 + seq, payload: `{"seq":${seq}}`,
   *   dataHash: `0x${"11".repeat(32)}` as const, signature: `0x${"22".repeat(64)}` as const });
   * outbox.close();
   * outbox.closed; // true
   * ```
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
