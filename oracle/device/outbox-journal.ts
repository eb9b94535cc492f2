/**
 * The outbox as an append-only journal file (JSON lines): the embedded store for a Node without
 * `node:sqlite` (Node 20, or 22 before 22.13), with no native addon. Every change is one line,
 * written (and fsynced, with `durability: "full"`) before the call returns; the state lives in
 * memory and is rebuilt from the file on open, which then compacts the file to one snapshot line.
 * A line torn by a crash mid-write (the last one, without its newline) is dropped on open: that
 * change had not returned. One process per journal file (SQLite is the choice for sharing one).
 *
 * @module
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import path from "node:path";

import type { Address, Hex } from "viem";

import { OutboxError } from "./errors.js";
import type { HeadRow } from "./outbox-schema.js";
import { checkNextSeqs, type FinishUpdate, type OutboxStore, type RetryUpdate } from "./outbox-store.js";
import {
  DELIVERY_TARGETS,
  DeliveryState,
  type DeliveryRecord,
  type DeliveryTarget,
  type OutboxCounts,
  type OutboxEntry,
  type OutboxItem,
} from "./outbox-types.js";

/** The journal's first line; {@link isJournalFile} looks for it. */
export const JOURNAL_HEADER = '{"sensorsealOutboxJournal":1}';

type StoredReading = { ts: number; payload: string; dataHash: Hex; signature: Hex; createdAt: number };
type Snapshot = { devices: [Address, number][]; readings: OutboxItem[] };
type Op =
  | { op: "append"; at: number; targets: DeliveryTarget[]; entries: OutboxEntry[] }
  | ({ op: "finish"; device: Address; target: DeliveryTarget; seq: number } & FinishUpdate)
  | ({ op: "retry"; device: Address; target: DeliveryTarget; seq: number } & RetryUpdate)
  | { op: "retryNow" }
  | { op: "prune"; before: number }
  | ({ op: "snapshot" } & Snapshot);

/**
 * Whether a file is an outbox journal (rather than an outbox SQLite file).
 *
 * @example
 * ```ts
 * isJournalFile("/nonexistent/outbox"); // false
 * ```
 */
export function isJournalFile(file: string): boolean {
  if (!existsSync(file)) return false;
  return readFileSync(file, "utf8").slice(0, JOURNAL_HEADER.length) === JOURNAL_HEADER;
}

/**
 * The journal store (see the module doc). `":memory:"` keeps nothing on disk.
 *
 * @example
 * ```ts
 * const store = JournalOutboxStore.open(":memory:", { durability: "normal" });
 * const device = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
 * store.appendMany([{ device, seq: 1, ts: 1, payload: "{}", dataHash: "0x11", signature: "0x22" }], ["relayer"], Date.now());
 * store.head("relayer", "")?.seq; // 1
 * store.close();
 * ```
 */
export class JournalOutboxStore implements OutboxStore {
  readonly kind = "journal";
  readonly #file: string;
  readonly #fsync: boolean;
  #fd: number | undefined;
  readonly #nextSeq = new Map<Address, number>();
  readonly #readings = new Map<Address, Map<number, StoredReading>>();
  readonly #deliveries = new Map<string, DeliveryRecord>();
  /** Pending seqs per target and device, ascending (seqs are appended in order). */
  readonly #pending: Record<DeliveryTarget, Map<Address, Set<number>>> = { platform: new Map(), relayer: new Map() };

  private constructor(file: string, durability: "full" | "normal") {
    this.#file = file;
    this.#fsync = durability === "full";
  }

  /**
   * Opens (creating if needed) a journal file, replays it and compacts it.
   *
   * @throws {OutboxError} `OUTBOX_CORRUPT` (with file and line) if a line other than a torn last one does not parse.
   * @example
   * ```ts
   * JournalOutboxStore.open(":memory:", { durability: "full" }).kind; // "journal"
   * ```
   */
  static open(file: string, options: { durability: "full" | "normal" }): JournalOutboxStore {
    const store = new JournalOutboxStore(file, options.durability);
    if (file === ":memory:") return store;
    mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    if (existsSync(file)) store.#replay(readFileSync(file, "utf8"));
    store.#compact();
    return store;
  }

  #replay(text: string): void {
    const lines = text.split("\n");
    const torn = !text.endsWith("\n");
    if (lines[0] !== JOURNAL_HEADER) {
      throw new OutboxError("OUTBOX_CORRUPT", `${this.#file}:1: not an outbox journal`, { file: this.#file, line: 1 });
    }
    for (let i = 1; i < lines.length; i++) {
      if (lines[i] === "") continue;
      let op: Op;
      try {
        op = JSON.parse(lines[i]) as Op;
      } catch (cause) {
        if (torn && i === lines.length - 1) break;
        throw new OutboxError(
          "OUTBOX_CORRUPT",
          `${this.#file}:${i + 1}: unreadable journal line`,
          { file: this.#file, line: i + 1 },
          cause,
        );
      }
      this.#apply(op);
    }
  }

  #compact(): void {
    const snapshot: Op = {
      op: "snapshot",
      devices: [...this.#nextSeq],
      readings: [...this.#readings.keys()].flatMap((d) => this.list(d, {})),
    };
    const tmp = `${this.#file}.tmp`;
    const fd = openSync(tmp, "w");
    writeSync(fd, `${JOURNAL_HEADER}\n${JSON.stringify(snapshot)}\n`);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.#file);
    this.#fd = openSync(this.#file, "a");
  }

  #write(op: Op): void {
    if (this.#fd !== undefined) {
      writeSync(this.#fd, `${JSON.stringify(op)}\n`);
      if (this.#fsync) fsyncSync(this.#fd);
    }
    this.#apply(op);
  }

  #apply(op: Op): void {
    switch (op.op) {
      case "append":
        return this.#applyAppend(op.entries, op.targets, op.at);
      case "finish":
        return this.#applyFinish(op.device, op.target, op.seq, op);
      case "retry": {
        const d = this.#deliveries.get(key(op.device, op.target, op.seq));
        if (d === undefined || d.state !== DeliveryState.Pending) return;
        Object.assign(d, { attempts: d.attempts + 1, nextAttemptAt: op.nextAttemptAt, httpStatus: op.httpStatus, errorCode: op.code });
        Object.assign(d, { errorMessage: op.message, updatedAt: op.at });
        return;
      }
      case "retryNow":
        for (const d of this.#deliveries.values()) if (d.state === DeliveryState.Pending) d.nextAttemptAt = 0;
        return;
      case "prune":
        this.#applyPrune(op.before);
        return;
      case "snapshot":
        for (const [device, seq] of op.devices) this.#nextSeq.set(device, seq);
        for (const item of op.readings) this.#restore(item);
    }
  }

  #restore(item: OutboxItem): void {
    this.#readingsOf(item.device).set(item.seq, {
      ts: item.ts,
      payload: item.payload,
      dataHash: item.dataHash,
      signature: item.signature,
      createdAt: item.createdAt,
    });
    for (const d of item.deliveries) {
      this.#deliveries.set(key(item.device, d.target, item.seq), { ...d });
      if (d.state === DeliveryState.Pending) this.#pendingOf(d.target, item.device).add(item.seq);
    }
  }

  #readingsOf(device: Address): Map<number, StoredReading> {
    let map = this.#readings.get(device);
    if (map === undefined) this.#readings.set(device, (map = new Map()));
    return map;
  }

  #pendingOf(target: DeliveryTarget, device: Address): Set<number> {
    let set = this.#pending[target].get(device);
    if (set === undefined) this.#pending[target].set(device, (set = new Set()));
    return set;
  }

  #applyAppend(entries: readonly OutboxEntry[], targets: readonly DeliveryTarget[], at: number): void {
    for (const e of entries) {
      this.#readingsOf(e.device).set(e.seq, { ts: e.ts, payload: e.payload, dataHash: e.dataHash, signature: e.signature, createdAt: at });
      for (const target of targets) {
        this.#deliveries.set(key(e.device, target, e.seq), emptyDelivery(target, at));
        this.#pendingOf(target, e.device).add(e.seq);
      }
      this.#nextSeq.set(e.device, e.seq + 1);
    }
  }

  #applyFinish(device: Address, target: DeliveryTarget, seq: number, u: FinishUpdate): void {
    const k = key(device, target, seq);
    const d = this.#deliveries.get(k);
    if (d === undefined || d.state !== DeliveryState.Pending) return;
    Object.assign(d, { state: u.state, attempts: d.attempts + 1, httpStatus: u.httpStatus, errorCode: u.code, errorMessage: u.message });
    Object.assign(d, { response: u.response, updatedAt: u.at });
    this.#pending[target].get(device)?.delete(seq);
    if (!u.drop) return;
    this.#deliveries.delete(k);
    if (DELIVERY_TARGETS.every((t) => !this.#deliveries.has(key(device, t, seq)))) this.#readings.get(device)?.delete(seq);
  }

  #applyPrune(before: number): number {
    let removed = 0;
    for (const [device, readings] of this.#readings) {
      for (const seq of [...readings.keys()]) {
        const ds = DELIVERY_TARGETS.map((t) => this.#deliveries.get(key(device, t, seq))).filter((d) => d !== undefined);
        if (ds.length === 0 || ds.some((d) => d.state !== DeliveryState.Delivered) || Math.max(...ds.map((d) => d.updatedAt)) >= before)
          continue;
        readings.delete(seq);
        for (const t of DELIVERY_TARGETS) this.#deliveries.delete(key(device, t, seq));
        removed++;
      }
    }
    return removed;
  }

  nextSeq(device: Address): number | undefined {
    return this.#nextSeq.get(device);
  }

  nextSeqs(): Map<Address, number> {
    return new Map(this.#nextSeq);
  }

  appendMany(entries: readonly OutboxEntry[], targets: readonly DeliveryTarget[], at: number): void {
    checkNextSeqs(entries, (device) => this.nextSeq(device));
    // Only the entry's own fields: a client's signed reading also carries its bytes and bigints.
    const own = entries.map(({ device, seq, ts, payload, dataHash, signature }) => ({ device, seq, ts, payload, dataHash, signature }));
    this.#write({ op: "append", at, targets: [...targets], entries: own });
  }

  head(target: DeliveryTarget, afterDevice: string): HeadRow | undefined {
    let best: Address | undefined;
    for (const [device, seqs] of this.#pending[target]) {
      if (seqs.size > 0 && device > afterDevice && (best === undefined || device < best)) best = device;
    }
    if (best === undefined) return undefined;
    const seq = this.#pending[target].get(best)!.values().next().value as number;
    const r = this.#readings.get(best)!.get(seq)!;
    const d = this.#deliveries.get(key(best, target, seq))!;
    return {
      device: best,
      seq,
      attempts: d.attempts,
      next_attempt_at: d.nextAttemptAt,
      ts: r.ts,
      payload: r.payload,
      data_hash: r.dataHash,
      signature: r.signature,
    };
  }

  finish(device: Address, target: DeliveryTarget, seq: number, update: FinishUpdate): boolean {
    if (this.#deliveries.get(key(device, target, seq))?.state !== DeliveryState.Pending) return false;
    this.#write({ op: "finish", device, target, seq, ...update });
    return true;
  }

  retry(device: Address, target: DeliveryTarget, seq: number, update: RetryUpdate): boolean {
    if (this.#deliveries.get(key(device, target, seq))?.state !== DeliveryState.Pending) return false;
    this.#write({ op: "retry", device, target, seq, ...update });
    return true;
  }

  retryNow(): number {
    const due = [...this.#deliveries.values()].filter((d) => d.state === DeliveryState.Pending && d.nextAttemptAt > 0).length;
    if (due > 0) this.#write({ op: "retryNow" });
    return due;
  }

  pendingByTarget(): Record<DeliveryTarget, number> {
    const count = (t: DeliveryTarget) => [...this.#pending[t].values()].reduce((n, s) => n + s.size, 0);
    return { platform: count("platform"), relayer: count("relayer") };
  }

  counts(): OutboxCounts {
    const counts: OutboxCounts = {
      platform: { pending: 0, delivered: 0, rejected: 0 },
      relayer: { pending: 0, delivered: 0, rejected: 0 },
    };
    for (const d of this.#deliveries.values()) counts[d.target][d.state]++;
    return counts;
  }

  list(device: Address, options: { fromSeq?: number; limit?: number }): OutboxItem[] {
    const readings = this.#readings.get(device);
    if (readings === undefined) return [];
    const seqs = [...readings.keys()].filter((s) => s >= (options.fromSeq ?? 1)).sort((a, b) => a - b);
    return seqs.slice(0, options.limit ?? 1000).map((seq) => {
      const r = readings.get(seq)!;
      const deliveries = DELIVERY_TARGETS.map((t) => this.#deliveries.get(key(device, t, seq))).filter((d) => d !== undefined);
      return {
        device,
        seq,
        ts: r.ts,
        payload: r.payload,
        dataHash: r.dataHash,
        signature: r.signature,
        createdAt: r.createdAt,
        deliveries: deliveries.map((d) => ({ ...d })),
      };
    });
  }

  prune(beforeMs: number): number {
    const removed = this.#applyPrune(beforeMs);
    if (removed > 0 && this.#fd !== undefined) {
      writeSync(this.#fd, `${JSON.stringify({ op: "prune", before: beforeMs } satisfies Op)}\n`);
      if (this.#fsync) fsyncSync(this.#fd);
    }
    return removed;
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function key(device: Address, target: DeliveryTarget, seq: number): string {
  return `${device}|${target}|${seq}`;
}

function emptyDelivery(target: DeliveryTarget, at: number): DeliveryRecord {
  return {
    target,
    state: DeliveryState.Pending,
    attempts: 0,
    nextAttemptAt: 0,
    httpStatus: null,
    errorCode: null,
    errorMessage: null,
    response: null,
    updatedAt: at,
  };
}
