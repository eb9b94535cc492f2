/**
 * The relayer's durable state on the shared SQL store (SQLite file or PostgreSQL): accepted readings
 * with their receipts, batches with their manifests and lifecycle, and every anchoring transaction
 * (signed raw bytes, nonce, fees) persisted before it is broadcast.
 *
 * Several relayer processes may share one PostgreSQL store: each (device, seq) is unique in the
 * database (the sequence check is the insert), batches are cut under `FOR UPDATE SKIP LOCKED`, and
 * one process at a time anchors, holding a lease row (`relayer_leases`) that fences every
 * transaction it records. The queue depth each process keeps is its own count, made exact again from
 * the database by {@link RelayerStore.countQueued} (the anchoring process does so every tick).
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { valuesTuples, type SqlDatabase, type SqlExecutor } from "../store/sql.js";
import { BatchClaimError, LeaseLostError } from "./anchor-errors.js";
import { RelayerStoreMismatchError } from "./errors.js";
import {
  type Row,
  toBatch,
  toTx,
  toReading,
  BATCH_COLUMNS,
  READING_COLUMNS,
  RELAYER_SCHEMA,
  BATCH_STATUSES,
  type BatchStatus,
  type TxStatus,
  type TxKind,
  type Candidate,
  type StoredReceipt,
  type AcceptOutcome,
  type ReadingRow,
  type BatchRow,
  type TxRow,
  type MinedInfo,
  type BuiltBatchRecord,
} from "./store-schema.js";

export { BATCH_STATUSES, RELAYER_SCHEMA, TX_STATUSES } from "./store-schema.js";
export type {
  AcceptOutcome,
  BatchRow,
  BatchStatus,
  BuiltBatchRecord,
  Candidate,
  MinedInfo,
  ReadingRow,
  ReadingStatus,
  StoredReceipt,
  TxKind,
  TxRow,
  TxStatus,
} from "./store-schema.js";

/** Statements with many ids are split so no dialect's parameter limit is reached. */
const ID_CHUNK = 500;

/**
 * The relayer's tables on a {@link SqlDatabase}.
 *
 * @example
 * const db = await openDatabase("data/relayer.sqlite");
 * const store = await RelayerStore.open(db);
 * await store.bindChain(31337, anchor);
 */
export class RelayerStore {
  readonly db: SqlDatabase;
  #queueDepth = 0;

  private constructor(db: SqlDatabase) {
    this.db = db;
  }

  /** Creates the tables if needed and loads the queue depth. */
  static async open(db: SqlDatabase): Promise<RelayerStore> {
    await db.migrate(RELAYER_SCHEMA);
    const store = new RelayerStore(db);
    const [row] = await db.query<Row>("SELECT COUNT(*) AS n FROM relayer_readings WHERE batch_id IS NULL");
    store.#queueDepth = Number(row.n);
    return store;
  }

  /**
   * Ties the store to one chain and anchor on first use; refuses another later (a store's receipts,
   * batches and nonces mean nothing on another chain).
   */
  async bindChain(chainId: number, anchor: Address): Promise<void> {
    const wanted = { chainId: String(chainId), anchor: anchor.toLowerCase() };
    await this.db.transaction(async (tx) => {
      for (const [key, value] of Object.entries(wanted)) {
        await tx.run("INSERT INTO relayer_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", [key, value]);
      }
      const rows = await tx.query<{ key: string; value: string }>("SELECT key, value FROM relayer_meta");
      const found = Object.fromEntries(rows.map((r) => [r.key, r.value]));
      if (found.chainId !== wanted.chainId || found.anchor !== wanted.anchor) {
        throw new RelayerStoreMismatchError(wanted, { chainId: found.chainId, anchor: found.anchor });
      }
    });
  }

  /**
   * Accepted readings not yet in a batch: counted in memory by this process, made exact again by
   * {@link countQueued} (other instances on the same store add to it).
   */
  get queueDepth(): number {
    return this.#queueDepth;
  }

  /**
   * Checks each candidate's sequence against the accepted readings and queues the new ones, in one
   * committed transaction: when this resolves, every "accepted" outcome is durable. `sign` makes the
   * receipts of the new readings that carry none (signed at check time), all of them in one call (it
   * may sign them off the event loop). `committed` is called once the transaction committed, before
   * it is durable (oracle/store/sql.ts).
   *
   * A group costs a few statements whatever its size: one multi-row insert per {@link ID_CHUNK}, and one
   * lookup of the readings already there (before the insert, or after it for readings that came signed). The insert skips a (device, seq) another relayer instance on
   * the same PostgreSQL store committed meanwhile; such a reading is then answered from that row.
   */
  async acceptReadings(
    candidates: readonly Candidate[],
    sign: (fresh: readonly Candidate[]) => StoredReceipt[] | Promise<StoredReceipt[]>,
    now = Date.now(),
    committed?: () => void,
  ): Promise<AcceptOutcome[]> {
    let accepted = 0;
    const outcomes = await this.db.transaction(
      async (tx) => {
        // Candidates whose receipts are settled (signed at check time, or under their bulk's root) go straight
        // to the insert (a reading already there is then answered like one another instance raced in); the
        // others are looked up first, so that only new readings are signed.
        const presigned = candidates.every((c) => c.receipt !== undefined);
        const known = presigned ? new Map<string, KnownReading>() : await existingReadings(tx, candidates);
        // Each (device, seq) once, in any order (TRUST-MODEL §7): a lower seq not seen before is queued too.
        const fresh: Candidate[] = [];
        const firstOf = new Map<string, number>();
        candidates.forEach((c, i) => {
          const key = readingKey(c.device, c.seq);
          if (known.has(key) || firstOf.has(key)) return;
          firstOf.set(key, i);
          fresh.push(c);
        });
        const receipts = fresh.length === 0 ? [] : await receiptsOf(fresh, sign);
        const inserted = await insertReadings(tx, fresh, receipts, now);
        // Lost a race to another instance: answer from the row it committed.
        const raced = fresh.filter((c) => !inserted.has(readingKey(c.device, c.seq)));
        if (raced.length > 0) for (const [key, row] of await existingReadings(tx, raced)) known.set(key, row);
        fresh.forEach((c, k) => {
          const key = readingKey(c.device, c.seq);
          if (inserted.has(key)) known.set(key, { timestamp: c.timestamp, dataHash: c.dataHash, receipt: receipts[k], mine: true });
        });
        return candidates.map((c, i): AcceptOutcome => {
          const existing = known.get(readingKey(c.device, c.seq)) as KnownReading;
          if (existing.mine === true && firstOf.get(readingKey(c.device, c.seq)) === i) {
            accepted++;
            return { kind: "accepted", receipt: existing.receipt };
          }
          if (existing.timestamp === c.timestamp && existing.dataHash === c.dataHash)
            return { kind: "duplicate", receipt: existing.receipt };
          return { kind: "conflict", existing: { timestamp: existing.timestamp, dataHash: existing.dataHash } };
        });
      },
      { committed },
    );
    this.#queueDepth += accepted;
    return outcomes;
  }

  /** Counts the queued readings in the database (all instances) and makes {@link queueDepth} exact. */
  async countQueued(): Promise<number> {
    const [row] = await this.db.query<Row>("SELECT COUNT(*) AS n FROM relayer_readings WHERE batch_id IS NULL");
    this.#queueDepth = Number(row.n);
    return this.#queueDepth;
  }

  /**
   * Takes or renews the lease `name` for `holder` until `now + ttlMs`; answers whether `holder` holds
   * it now. A lease another holder let expire (a process killed -9) is taken over.
   */
  async acquireLease(name: string, holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const { changes } = await this.db.run(
      "INSERT INTO relayer_leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at WHERE relayer_leases.holder = excluded.holder OR relayer_leases.expires_at < ?",
      [name, holder, now + ttlMs, now],
    );
    return changes > 0;
  }

  /** Gives the lease up (a graceful stop: another instance takes over at once). */
  async releaseLease(name: string, holder: string): Promise<void> {
    await this.db.run("DELETE FROM relayer_leases WHERE name = ? AND holder = ?", [name, holder]);
  }

  /** The lease's holder and expiry, if anyone took it (operators, tests). */
  async lease(name: string): Promise<{ holder: string; expiresAt: number } | undefined> {
    const [row] = await this.db.query<Row>("SELECT holder, expires_at FROM relayer_leases WHERE name = ?", [name]);
    return row === undefined ? undefined : { holder: row.holder as string, expiresAt: Number(row.expires_at) };
  }

  /** The oldest queued reading's arrival time (ms), if any. */
  async oldestQueuedAt(): Promise<number | undefined> {
    const [row] = await this.db.query<Row>("SELECT received_at FROM relayer_readings WHERE batch_id IS NULL ORDER BY id LIMIT 1");
    return row === undefined ? undefined : Number(row.received_at);
  }

  /**
   * Takes up to `maxSize` queued readings (oldest first) into a new batch, all in one transaction:
   * the batch row with its manifest and the readings' batch id commit together or not at all.
   */
  async createBatch(
    maxSize: number,
    build: (readings: Candidate[]) => BuiltBatchRecord | Promise<BuiltBatchRecord>,
    now = Date.now(),
  ): Promise<BatchRow | undefined> {
    const result = await this.db.transaction(async (tx) => {
      // PostgreSQL: rows another instance is cutting right now are skipped, not waited for.
      const lock = this.db.dialect === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
      const rows = await tx.query<Row>(
        `SELECT ${READING_COLUMNS} FROM relayer_readings WHERE batch_id IS NULL ORDER BY id LIMIT ?${lock}`,
        [maxSize],
      );
      if (rows.length === 0) return undefined;
      const readings = rows.map(toReading);
      const built = await build(readings);
      const [inserted] = await tx.query<Row>(
        `INSERT INTO relayer_batches (status, root, leaf_count, manifest_hash, manifest, created_at) VALUES ('queued', ?, ?, ?, ?, ?) RETURNING ${BATCH_COLUMNS}`,
        [built.root.toLowerCase(), built.leafCount, built.manifestHash.toLowerCase(), Buffer.from(built.manifestBytes), now],
      );
      const batch = toBatch(inserted);
      let changed = 0;
      for (let i = 0; i < readings.length; i += ID_CHUNK) {
        const ids = readings.slice(i, i + ID_CHUNK).map((r) => r.id);
        const { changes } = await tx.run(
          `UPDATE relayer_readings SET batch_id = ? WHERE batch_id IS NULL AND id IN (${ids.map(() => "?").join(", ")})`,
          [batch.id, ...ids],
        );
        changed += changes;
      }
      if (changed !== readings.length) throw new BatchClaimError(batch.id, changed, readings.length);
      return { batch, taken: readings.length };
    });
    if (result === undefined) return undefined;
    this.#queueDepth -= result.taken;
    return result.batch;
  }

  /** Batches still moving (queued, sent, mined), oldest first. */
  async activeBatches(): Promise<BatchRow[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${BATCH_COLUMNS} FROM relayer_batches WHERE status IN ('queued', 'sent', 'mined') ORDER BY id`,
    );
    return rows.map(toBatch);
  }

  /** Confirmed batches anchored at block `minBlock` or later, newest block first (at most `limit`). */
  async recentConfirmed(minBlock: number, limit?: number): Promise<BatchRow[]> {
    const rows = await this.db.query<Row>(
      `SELECT ${BATCH_COLUMNS} FROM relayer_batches WHERE status = 'confirmed' AND block_number >= ? ORDER BY block_number DESC, id DESC${limit === undefined ? "" : " LIMIT ?"}`,
      limit === undefined ? [minBlock] : [minBlock, limit],
    );
    return rows.map(toBatch);
  }

  async batch(id: number): Promise<BatchRow | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${BATCH_COLUMNS} FROM relayer_batches WHERE id = ?`, [id]);
    return row === undefined ? undefined : toBatch(row);
  }

  async batchByRoot(root: Hex): Promise<BatchRow | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${BATCH_COLUMNS} FROM relayer_batches WHERE root = ?`, [root.toLowerCase()]);
    return row === undefined ? undefined : toBatch(row);
  }

  /** The batch anchored on chain with id `anchorBatchId` (mined or confirmed). */
  async batchByAnchorId(anchorBatchId: number): Promise<BatchRow | undefined> {
    const [row] = await this.db.query<Row>(
      `SELECT ${BATCH_COLUMNS} FROM relayer_batches WHERE anchor_batch_id = ? AND status IN ('mined', 'confirmed') ORDER BY id LIMIT 1`,
      [anchorBatchId],
    );
    return row === undefined ? undefined : toBatch(row);
  }

  /** The exact manifest bytes stored with the batch. */
  async manifest(batchId: number): Promise<Uint8Array | undefined> {
    const [row] = await this.db.query<Row>("SELECT manifest FROM relayer_batches WHERE id = ?", [batchId]);
    return row === undefined ? undefined : new Uint8Array(row.manifest as Buffer);
  }

  async reading(device: Address, seq: number): Promise<ReadingRow | undefined> {
    const [row] = await this.db.query<Row>(`SELECT ${READING_COLUMNS} FROM relayer_readings WHERE device = ? AND seq = ?`, [device, seq]);
    return row === undefined ? undefined : toReading(row);
  }

  async txs(batchId: number): Promise<TxRow[]> {
    const rows = await this.db.query<Row>("SELECT * FROM relayer_txs WHERE batch_id = ? ORDER BY id", [batchId]);
    return rows.map(toTx);
  }

  /** The highest nonce of a transaction that may still be mined (pending), if any. */
  async maxPendingNonce(): Promise<number | undefined> {
    const [row] = await this.db.query<Row>("SELECT MAX(nonce) AS m FROM relayer_txs WHERE status = 'pending'");
    return row?.m === null || row?.m === undefined ? undefined : Number(row.m);
  }

  /**
   * Persists a signed transaction for a batch and marks the batch sent, before anything is broadcast:
   * after a crash the raw bytes are re-broadcast, never re-signed with another nonce.
   */
  async recordTx(
    batchId: number,
    tx: { kind: TxKind; nonce: number; hash: Hex; raw: Hex; gas: bigint; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint },
    now = Date.now(),
    fence?: { name: string; holder: string; ttlMs: number },
  ): Promise<TxRow> {
    return this.db.transaction(async (db) => {
      if (fence !== undefined) {
        // Only while the lease is ours (renewed with the record): a process that lost it never records, so never broadcasts.
        const { changes } = await db.run("UPDATE relayer_leases SET expires_at = ? WHERE name = ? AND holder = ? AND expires_at >= ?", [
          now + fence.ttlMs,
          fence.name,
          fence.holder,
          now,
        ]);
        if (changes !== 1) throw new LeaseLostError(fence.name, fence.holder);
      }
      const [row] = await db.query<Row>(
        "INSERT INTO relayer_txs (batch_id, kind, status, nonce, tx_hash, raw_tx, gas, max_fee_per_gas, max_priority_fee_per_gas, created_at, sent_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        [
          batchId,
          tx.kind,
          tx.nonce,
          tx.hash,
          tx.raw,
          Number(tx.gas),
          tx.maxFeePerGas.toString(),
          tx.maxPriorityFeePerGas.toString(),
          now,
          now,
        ],
      );
      await db.run("UPDATE relayer_batches SET status = 'sent', attempts = attempts + 1, last_error = NULL WHERE id = ?", [batchId]);
      return toTx(row);
    });
  }

  /** Restarts a transaction's stuck timer (after it is broadcast again following a reorg). */
  async touchTx(txId: number, now = Date.now()): Promise<void> {
    await this.db.run("UPDATE relayer_txs SET sent_at = ? WHERE id = ?", [now, txId]);
  }

  /** The batch is in a block: records where; its tx (if one of ours) → mined, its other pending txs → replaced. */
  async markMined(batchId: number, info: MinedInfo, now = Date.now()): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run(
        "UPDATE relayer_batches SET status = 'mined', anchor_batch_id = ?, tx_hash = ?, block_number = ?, block_hash = ?, gas_used = ?, mined_at = ?, last_error = NULL WHERE id = ?",
        [info.anchorBatchId, info.txHash, info.blockNumber, info.blockHash, info.gasUsed?.toString() ?? null, now, batchId],
      );
      await tx.run("UPDATE relayer_txs SET status = 'mined' WHERE batch_id = ? AND tx_hash = ?", [batchId, info.txHash]);
      await tx.run("UPDATE relayer_txs SET status = 'replaced' WHERE batch_id = ? AND status = 'pending'", [batchId]);
    });
  }

  async setTxStatus(txId: number, status: TxStatus): Promise<void> {
    await this.db.run("UPDATE relayer_txs SET status = ? WHERE id = ?", [status, txId]);
  }

  /** How many readings of a batch had a receipt deadline before `nowSeconds`. */
  async overdueReadings(batchId: number, nowSeconds: number): Promise<number> {
    const [row] = await this.db.query<Row>("SELECT COUNT(*) AS n FROM relayer_readings WHERE batch_id = ? AND deadline < ?", [
      batchId,
      nowSeconds,
    ]);
    return Number(row.n);
  }

  async markConfirmed(batchId: number, now = Date.now()): Promise<void> {
    await this.db.run("UPDATE relayer_batches SET status = 'confirmed', confirmed_at = ? WHERE id = ? AND status = 'mined'", [
      now,
      batchId,
    ]);
  }

  /**
   * The batch's block left the canonical chain (a mined batch, or a confirmed one after a reorg deeper
   * than the confirmation depth): back to sent (its mined tx is pending again and will be re-broadcast
   * as is), or to queued when the anchoring was found by event, not sent by us.
   */
  async markReorged(batchId: number, now = Date.now()): Promise<void> {
    await this.db.transaction(async (tx) => {
      const { changes } = await tx.run("UPDATE relayer_txs SET status = 'pending', sent_at = ? WHERE batch_id = ? AND status = 'mined'", [
        now,
        batchId,
      ]);
      await tx.run(
        "UPDATE relayer_batches SET status = ?, anchor_batch_id = NULL, tx_hash = NULL, block_number = NULL, block_hash = NULL, gas_used = NULL, mined_at = NULL, confirmed_at = NULL, reorgs = reorgs + 1 WHERE id = ?",
        [changes > 0 ? "sent" : "queued", batchId],
      );
    });
  }

  /**
   * None of the batch's transactions can be mined any more (their nonce went to a transaction that is
   * not ours, or the one mined reverted): they are marked, the batch goes back to queued to be signed anew.
   */
  async requeueBatch(batchId: number, txStatus: "dropped" | "reverted", error: string, nextAttemptAt: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run("UPDATE relayer_txs SET status = ? WHERE batch_id = ? AND status = 'pending'", [txStatus, batchId]);
      await tx.run("UPDATE relayer_batches SET status = 'queued', last_error = ?, next_attempt_at = ? WHERE id = ?", [
        error,
        nextAttemptAt,
        batchId,
      ]);
    });
  }

  /** Records a failed attempt of a queued batch and when to try again. */
  async deferBatch(batchId: number, error: string, nextAttemptAt: number): Promise<void> {
    await this.db.run("UPDATE relayer_batches SET last_error = ?, next_attempt_at = ? WHERE id = ?", [error, nextAttemptAt, batchId]);
  }

  /** Terminal: the batch cannot be anchored as is (an operator must look). */
  async markFailed(batchId: number, error: string): Promise<void> {
    await this.db.run("UPDATE relayer_batches SET status = 'failed', last_error = ? WHERE id = ?", [error, batchId]);
  }

  /** Number of batches per status. */
  async batchCounts(): Promise<Record<BatchStatus, number>> {
    const rows = await this.db.query<Row>("SELECT status, COUNT(*) AS n FROM relayer_batches GROUP BY status");
    const counts = Object.fromEntries(BATCH_STATUSES.map((s) => [s, 0])) as Record<BatchStatus, number>;
    for (const row of rows) counts[row.status as BatchStatus] = Number(row.n);
    return counts;
  }

  /** Row counts of every table (operators, tests). */
  async rowCounts(): Promise<{ readings: number; batches: number; txs: number }> {
    const [r] = await this.db.query<Row>(
      "SELECT (SELECT COUNT(*) FROM relayer_readings) AS readings, (SELECT COUNT(*) FROM relayer_batches) AS batches, (SELECT COUNT(*) FROM relayer_txs) AS txs",
    );
    return { readings: Number(r.readings), batches: Number(r.batches), txs: Number(r.txs) };
  }
}

/** A reading already in the store (or inserted by this transaction: `mine`). */
/** The receipts of `fresh`: those signed at check time as they are, the others signed now (one call). */
async function receiptsOf(
  fresh: readonly Candidate[],
  sign: (fresh: readonly Candidate[]) => StoredReceipt[] | Promise<StoredReceipt[]>,
): Promise<StoredReceipt[]> {
  const unsigned = fresh.filter((c) => c.receipt === undefined);
  const signed = unsigned.length === 0 ? [] : await sign(unsigned);
  let k = 0;
  return fresh.map((c) => c.receipt ?? signed[k++]);
}

interface KnownReading {
  timestamp: number;
  dataHash: Hex;
  receipt: StoredReceipt;
  mine?: boolean;
}

const readingKey = (device: Address, seq: number) => `${device}/${seq}`;

/** The stored readings among `candidates`' (device, seq) pairs, by {@link readingKey}. */
async function existingReadings(tx: SqlExecutor, candidates: readonly Candidate[]): Promise<Map<string, KnownReading>> {
  const found = new Map<string, KnownReading>();
  for (let i = 0; i < candidates.length; i += ID_CHUNK) {
    const chunk = candidates.slice(i, i + ID_CHUNK);
    const rows = await tx.query<Row>(
      `SELECT device, seq, timestamp, data_hash, deadline, receipt_signature FROM relayer_readings WHERE (device, seq) IN (VALUES ${chunk.map(() => "(?, CAST(? AS BIGINT))").join(", ")})`,
      chunk.flatMap((c) => [c.device, c.seq]),
    );
    for (const r of rows)
      found.set(readingKey(r.device as Address, Number(r.seq)), {
        timestamp: Number(r.timestamp),
        dataHash: r.data_hash as Hex,
        receipt: { deadline: Number(r.deadline), signature: r.receipt_signature as Hex },
      });
  }
  return found;
}

/** Inserts `fresh` with their receipts, skipping pairs already committed; answers the keys inserted. */
const compareReadingKeys = (a: Candidate, b: Candidate): number => (a.device < b.device ? -1 : a.device > b.device ? 1 : a.seq - b.seq);

async function insertReadings(
  tx: SqlExecutor,
  fresh: readonly Candidate[],
  receipts: readonly StoredReceipt[],
  now: number,
): Promise<Set<string>> {
  const inserted = new Set<string>();
  // In (device, seq) order: instances inserting the same readings at once on PostgreSQL then wait for
  // each other's unique-index entries in one order, never in a cycle (a deadlock aborted one of them).
  const order = fresh.map((_, k) => k).sort((x, y) => compareReadingKeys(fresh[x], fresh[y]));
  const sorted = order.map((k) => fresh[k]);
  const sortedReceipts = order.map((k) => receipts[k]);
  for (let i = 0; i < sorted.length; i += ID_CHUNK) {
    const chunk = sorted.slice(i, i + ID_CHUNK);
    const rows = await tx.query<Row>(
      `INSERT INTO relayer_readings (device, seq, timestamp, data_hash, signature, received_at, deadline, receipt_signature) VALUES ${valuesTuples(chunk.length, 8)} ON CONFLICT (device, seq) DO NOTHING RETURNING device, seq`,
      chunk.flatMap((c, k) => [
        c.device,
        c.seq,
        c.timestamp,
        c.dataHash,
        c.signature,
        now,
        sortedReceipts[i + k].deadline,
        sortedReceipts[i + k].signature,
      ]),
    );
    for (const r of rows) inserted.add(readingKey(r.device as Address, Number(r.seq)));
  }
  return inserted;
}
