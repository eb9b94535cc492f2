/**
 * The relayer store's schema, statuses and row types, and how SQL rows map to them
 * (the queries are in store.ts).
 *
 * @module
 */
import type { Address, Hex } from "viem";

/**
 * A batch's lifecycle: queued → sent → mined → confirmed; failed is terminal (needs an operator). A reorg
 * moves a mined batch, or a recently confirmed one (reorg deeper than the confirmation depth), back to
 * sent (or queued when none of its transactions was ours).
 */
export const BATCH_STATUSES = ["queued", "sent", "mined", "confirmed", "failed"] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/**
 * An anchoring transaction's lifecycle: pending (signed, persisted, broadcast or about to be) → mined;
 * replaced (a fee bump of the same nonce, or a sibling, was mined instead), dropped (its nonce was
 * used by a transaction that is not ours), reverted (mined but reverted).
 */
export const TX_STATUSES = ["pending", "mined", "replaced", "dropped", "reverted"] as const;
export type TxStatus = (typeof TX_STATUSES)[number];

/** Why a transaction was signed. */
export type TxKind = "initial" | "bump" | "resign";

/** A reading's status as the relayer answers it. */
export type ReadingStatus = "queued" | "batched" | "anchored" | "confirmed";

export const RELAYER_SCHEMA = `
CREATE TABLE IF NOT EXISTS relayer_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS relayer_batches (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  status TEXT NOT NULL,
  root TEXT NOT NULL UNIQUE,
  leaf_count INTEGER NOT NULL,
  manifest_hash TEXT NOT NULL,
  manifest BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  anchor_batch_id INTEGER,
  tx_hash TEXT,
  block_number INTEGER,
  block_hash TEXT,
  gas_used TEXT,
  mined_at INTEGER,
  confirmed_at INTEGER,
  reorgs INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS relayer_batches_status ON relayer_batches (status, id);
CREATE INDEX IF NOT EXISTS relayer_batches_anchor_id ON relayer_batches (anchor_batch_id);
CREATE INDEX IF NOT EXISTS relayer_batches_block ON relayer_batches (status, block_number);
CREATE TABLE IF NOT EXISTS relayer_readings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  device TEXT NOT NULL,
  seq INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  data_hash TEXT NOT NULL,
  signature TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  deadline INTEGER NOT NULL,
  receipt_signature TEXT NOT NULL,
  batch_id INTEGER REFERENCES relayer_batches (id),
  UNIQUE (device, seq)
);
CREATE INDEX IF NOT EXISTS relayer_readings_queue ON relayer_readings (id) WHERE batch_id IS NULL;
CREATE INDEX IF NOT EXISTS relayer_readings_batch ON relayer_readings (batch_id);
CREATE TABLE IF NOT EXISTS relayer_txs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  batch_id INTEGER NOT NULL REFERENCES relayer_batches (id),
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  tx_hash TEXT NOT NULL UNIQUE,
  raw_tx TEXT NOT NULL,
  gas INTEGER NOT NULL,
  max_fee_per_gas TEXT NOT NULL,
  max_priority_fee_per_gas TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  sent_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS relayer_txs_batch ON relayer_txs (batch_id, id);
CREATE TABLE IF NOT EXISTS relayer_leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

/** A reading that passed every stateless check, ready for the sequence check and the queue. */
export interface Candidate {
  device: Address;
  seq: number;
  timestamp: number;
  dataHash: Hex;
  signature: Hex;
  /**
   * Its receipt when settled before the commit: signed at check time, or receipted under its bulk's
   * root (signature UNSIGNED, receipts.ts); else signed when committed.
   */
  receipt?: StoredReceipt;
}

/** The relayer's promise for one reading. */
export interface StoredReceipt {
  deadline: number;
  /** 65 bytes, or UNSIGNED (receipts.ts) for a reading receipted under a root: signed when answered. */
  signature: Hex;
}

export type AcceptOutcome =
  | { kind: "accepted"; receipt: StoredReceipt }
  | { kind: "duplicate"; receipt: StoredReceipt }
  | { kind: "conflict"; existing: { timestamp: number; dataHash: Hex } };

export interface ReadingRow extends Candidate {
  id: number;
  receivedAt: number;
  receipt: StoredReceipt;
  batchId: number | null;
}

export interface BatchRow {
  id: number;
  status: BatchStatus;
  root: Hex;
  leafCount: number;
  manifestHash: Hex;
  createdAt: number;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  anchorBatchId: number | null;
  txHash: Hex | null;
  blockNumber: number | null;
  blockHash: Hex | null;
  gasUsed: bigint | null;
  minedAt: number | null;
  confirmedAt: number | null;
  reorgs: number;
}

export interface TxRow {
  id: number;
  batchId: number;
  kind: TxKind;
  status: TxStatus;
  nonce: number;
  hash: Hex;
  raw: Hex;
  gas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
  createdAt: number;
  sentAt: number;
}

/** Where a batch landed on chain. */
export interface MinedInfo {
  anchorBatchId: number;
  txHash: Hex;
  blockNumber: number;
  blockHash: Hex;
  gasUsed: bigint | null;
}

/** What `createBatch` needs from the core's batch builder. */
export interface BuiltBatchRecord {
  root: Hex;
  leafCount: number;
  manifestHash: Hex;
  manifestBytes: Uint8Array;
}

/** A result row as the SQL layer answers it. */
export type Row = Record<string, unknown>;

/** A number column (never null where the schema says NOT NULL). */
export const num = (v: unknown): number => (v === null || v === undefined ? (v as never) : Number(v));
/** A nullable number column. */
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toBatch(r: Row): BatchRow {
  return {
    id: num(r.id),
    status: r.status as BatchStatus,
    root: r.root as Hex,
    leafCount: num(r.leaf_count),
    manifestHash: r.manifest_hash as Hex,
    createdAt: num(r.created_at),
    attempts: num(r.attempts),
    nextAttemptAt: num(r.next_attempt_at),
    lastError: (r.last_error as string | null) ?? null,
    anchorBatchId: numOrNull(r.anchor_batch_id),
    txHash: (r.tx_hash as Hex | null) ?? null,
    blockNumber: numOrNull(r.block_number),
    blockHash: (r.block_hash as Hex | null) ?? null,
    gasUsed: r.gas_used === null || r.gas_used === undefined ? null : BigInt(r.gas_used as string),
    minedAt: numOrNull(r.mined_at),
    confirmedAt: numOrNull(r.confirmed_at),
    reorgs: num(r.reorgs),
  };
}

export function toTx(r: Row): TxRow {
  return {
    id: num(r.id),
    batchId: num(r.batch_id),
    kind: r.kind as TxKind,
    status: r.status as TxStatus,
    nonce: num(r.nonce),
    hash: r.tx_hash as Hex,
    raw: r.raw_tx as Hex,
    gas: BigInt(r.gas as number),
    maxFeePerGas: BigInt(r.max_fee_per_gas as string),
    maxPriorityFeePerGas: BigInt(r.max_priority_fee_per_gas as string),
    createdAt: num(r.created_at),
    sentAt: num(r.sent_at),
  };
}

export function toReading(r: Row): ReadingRow {
  return {
    id: num(r.id),
    device: r.device as Address,
    seq: num(r.seq),
    timestamp: num(r.timestamp),
    dataHash: r.data_hash as Hex,
    signature: r.signature as Hex,
    receivedAt: num(r.received_at),
    receipt: { deadline: num(r.deadline), signature: r.receipt_signature as Hex },
    batchId: numOrNull(r.batch_id),
  };
}

/** Columns read by {@link toBatch}. */
export const BATCH_COLUMNS =
  "id, status, root, leaf_count, manifest_hash, created_at, attempts, next_attempt_at, last_error, anchor_batch_id, tx_hash, block_number, block_hash, gas_used, mined_at, confirmed_at, reorgs";
/** Columns read by {@link toReading}. */
export const READING_COLUMNS = "id, device, seq, timestamp, data_hash, signature, received_at, deadline, receipt_signature, batch_id";
