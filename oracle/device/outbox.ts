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
import type Database from "better-sqlite3";
import type { Address } from "viem";

import { DeviceConfigError, OutboxError } from "./errors.js";
import { countDeliveries, listReadings, pruneDelivered } from "./outbox-queries.js";
import { openOutboxDatabase, prepareOutboxStatements, type OutboxStatements } from "./outbox-schema.js";
import {
  DELIVERY_TARGETS,
  DeliveryState,
  type DeliveryHead,
  type DeliveryTarget,
  type OutboxCounts,
  type OutboxEntry,
  type OutboxItem,
  type OutboxOptions,
} from "./outbox-types.js";

export * from "./outbox-types.js";

const RESPONSE_LIMIT = 16 * 1024;

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
  readonly #stmt: OutboxStatements;

  private constructor(file: string, options: OutboxOptions) {
    const targets = options.targets ?? DELIVERY_TARGETS;
    if (targets.length === 0 || targets.some((t) => !DELIVERY_TARGETS.includes(t)) || new Set(targets).size !== targets.length) {
      throw new DeviceConfigError("targets", `must be a non-empty subset of ${DELIVERY_TARGETS.join(", ")}`);
    }
    this.file = file;
    this.targets = [...targets];
    this.retention = options.retention ?? "keep";
    this.#now = options.now ?? Date.now;
    this.#db = openOutboxDatabase(file, options.durability ?? "full");
    const db = this.#db;
    this.#stmt = prepareOutboxStatements(db);
    for (const row of db.prepare("SELECT target, COUNT(*) AS n FROM deliveries WHERE state = 'pending' GROUP BY target").all() as {
      target: DeliveryTarget;
      n: number;
    }[]) {
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
          throw new OutboxError("OUTBOX_SEQUENCE_CONFLICT", `Reading seq ${e.seq} of ${e.device} is not the next seq ${expected}.`, {
            device: e.device,
            seq: e.seq,
            expected,
          });
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
    const response = info.response === null || info.response === undefined ? null : info.response.slice(0, RESPONSE_LIMIT);
    const changed = this.#db
      .transaction(() => {
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
      })
      .immediate();
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
    return this.#db.prepare("UPDATE deliveries SET next_attempt_at = 0 WHERE state = 'pending' AND next_attempt_at > 0").run().changes;
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
    return countDeliveries(this.#db);
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
    return listReadings(this.#db, device, options);
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
    return pruneDelivered(this.#db, beforeMs);
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
