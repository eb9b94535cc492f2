/**
 * The device's durable outbox: every signed reading is written here,
 * with its seq, before anything is sent; each delivery target (platform, relayer) has its own
 * delivery state per reading; the next seq of each device is persisted with the reading that
 * used the previous one, so a restart continues where the last run stopped.
 *
 * One file holds any number of devices (one device client, or a whole simulator process).
 *
 * Storage ({@link OutboxStorage}, option `storage`): by default SQLite through Node's built-in
 * `node:sqlite` (Node ≥ 22.13), else an append-only journal file ({@link JournalOutboxStore}) —
 * neither pins a Node ABI. `better-sqlite3` (a native addon built for one Node version) is an
 * option; it reads and writes the same SQLite file as `node:sqlite`. Or pass your own
 * {@link OutboxStore}.
 *
 * SQLite tables:
 * - `devices(device, next_seq)`: the next seq of each device.
 * - `readings(device, seq, ts, payload, data_hash, signature, created_at)`: the signed readings
 *   (payload is the canonical JSON text, verbatim).
 * - `deliveries(device, target, seq, state, attempts, next_attempt_at, http_status, error_code,
 *   error_message, response, updated_at)`: `state` is {@link DeliveryState}.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";

import type { Address } from "viem";

import { DeviceConfigError, OutboxError } from "./errors.js";
import { isJournalFile, JournalOutboxStore } from "./outbox-journal.js";
import { sqlDriverAvailable } from "./outbox-sql-driver.js";
import { SqliteOutboxStore, type OutboxStore } from "./outbox-store.js";
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
export { JournalOutboxStore } from "./outbox-journal.js";
export { SqliteOutboxStore, type FinishUpdate, type OutboxStore, type RetryUpdate } from "./outbox-store.js";

/**
 * Where an outbox keeps its records: `"auto"` (default: `node:sqlite` where Node has it, else the
 * journal; an existing file keeps the format it has), `"node:sqlite"`, `"better-sqlite3"`,
 * `"journal"`, or an {@link OutboxStore} of your own.
 */
export type OutboxStorage = "auto" | "node:sqlite" | "better-sqlite3" | "journal" | OutboxStore;

const SQLITE_MAGIC = "SQLite format 3\0";

function isSqliteFile(file: string): boolean {
  return existsSync(file) && readFileSync(file).subarray(0, SQLITE_MAGIC.length).toString("latin1") === SQLITE_MAGIC;
}

function openStore(file: string, storage: OutboxStorage, durability: "full" | "normal"): OutboxStore {
  if (typeof storage === "object") return storage;
  let kind = storage;
  if (kind === "auto") {
    const sqlite = sqlDriverAvailable("node:sqlite") ? "node:sqlite" : "better-sqlite3";
    if (isSqliteFile(file)) kind = sqlite;
    else if (isJournalFile(file)) kind = "journal";
    else kind = sqlite === "node:sqlite" ? "node:sqlite" : "journal";
  }
  if (kind === "journal") return JournalOutboxStore.open(file, { durability });
  return SqliteOutboxStore.open(file, { durability, driver: kind });
}

const RESPONSE_LIMIT = 16 * 1024;

/**
 * The durable outbox. Synchronous: every method returns once the change is committed.
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
  readonly #store: OutboxStore;
  readonly #now: () => number;
  readonly #pending: Record<DeliveryTarget, number>;
  #closed = false;

  private constructor(file: string, options: OutboxOptions) {
    const targets = options.targets ?? DELIVERY_TARGETS;
    if (targets.length === 0 || targets.some((t) => !DELIVERY_TARGETS.includes(t)) || new Set(targets).size !== targets.length) {
      throw new DeviceConfigError("targets", `must be a non-empty subset of ${DELIVERY_TARGETS.join(", ")}`);
    }
    this.file = file;
    this.targets = [...targets];
    this.retention = options.retention ?? "keep";
    this.#now = options.now ?? Date.now;
    this.#store = openStore(file, options.storage ?? "auto", options.durability ?? "full");
    this.#pending = this.#store.pendingByTarget();
  }

  /** What the records live in: `"node:sqlite"`, `"better-sqlite3"`, `"journal"` or a custom store's kind. */
  get storage(): string {
    return this.#store.kind;
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
    return this.#store.nextSeq(device) ?? 1;
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
    return this.#store.nextSeqs();
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
    this.#store.appendMany(entries, this.targets, this.#now());
    for (const t of this.targets) this.#pending[t] += entries.length;
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
    const row = this.#store.head(target, afterDevice);
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
    const response = info.response === null || info.response === undefined ? null : info.response.slice(0, RESPONSE_LIMIT);
    const changed = this.#store.finish(device, target, seq, {
      state,
      httpStatus: info.httpStatus ?? null,
      code: info.code ?? null,
      message: info.message ?? null,
      response,
      at: this.#now(),
      drop: state === DeliveryState.Delivered && this.retention === "delete",
    });
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
    return this.#store.retry(device, target, seq, {
      nextAttemptAt: info.nextAttemptAt,
      httpStatus: info.httpStatus ?? null,
      code: info.code,
      message: info.message ?? null,
      at: this.#now(),
    });
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
    return this.#store.retryNow();
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
    return this.#store.counts();
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
    return this.#store.list(device, options);
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
    return this.#store.prune(beforeMs);
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
    this.#store.close();
  }
}
