/**
 * The oracle's durable state: cursor and processed block hashes, every anchored batch it judged, the
 * per-reading reward ledger, per-device rule state, beneficiary balances, epochs with their snapshot
 * of cumulative entitlements, and the oracle signatures collected. SQLite or PostgreSQL.
 *
 * Amounts and sequence numbers are decimal TEXT (uint256 / uint64 exceed SQL integers).
 *
 * @module
 */
import { getAddress, type Address, type Hex } from "viem";

import { insertRows, type SqlDatabase, type SqlExecutor } from "../store/sql.js";
import type { BatchEvaluation, DeviceRewardState, RewardItem } from "./rules.js";

const DDL = `
CREATE TABLE IF NOT EXISTS oracle_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS oracle_blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS oracle_batches (
  batch_id TEXT PRIMARY KEY, epoch INTEGER NOT NULL, block_number INTEGER NOT NULL, log_index INTEGER NOT NULL,
  block_hash TEXT NOT NULL, tx_hash TEXT NOT NULL, root TEXT NOT NULL, manifest_hash TEXT NOT NULL, leaf_count INTEGER NOT NULL,
  status TEXT NOT NULL, reason TEXT, rewarded INTEGER NOT NULL, rejected INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS oracle_ledger (
  device TEXT NOT NULL, seq TEXT NOT NULL, batch_id TEXT NOT NULL, epoch INTEGER NOT NULL, timestamp INTEGER NOT NULL,
  beneficiary TEXT NOT NULL, amount TEXT NOT NULL, PRIMARY KEY (device, seq));
CREATE INDEX IF NOT EXISTS oracle_ledger_time ON oracle_ledger (device, timestamp);
CREATE TABLE IF NOT EXISTS oracle_balances (beneficiary TEXT PRIMARY KEY, cumulative TEXT NOT NULL, readings INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS oracle_epochs (
  epoch INTEGER PRIMARY KEY, from_block INTEGER NOT NULL, to_block INTEGER NOT NULL, status TEXT NOT NULL,
  root TEXT, cumulative_total TEXT NOT NULL, entries INTEGER NOT NULL, rules_version INTEGER NOT NULL,
  oracle_set_version INTEGER, digest TEXT, message TEXT, posted_root TEXT, tx_hash TEXT, posted_by_us INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS oracle_epoch_balances (epoch INTEGER NOT NULL, beneficiary TEXT NOT NULL, cumulative TEXT NOT NULL,
  PRIMARY KEY (epoch, beneficiary));
CREATE TABLE IF NOT EXISTS oracle_signatures (epoch INTEGER NOT NULL, digest TEXT NOT NULL, signer TEXT NOT NULL, signature TEXT NOT NULL,
  PRIMARY KEY (epoch, digest, signer));
`;

/** The ledger columns the rules' dedup state is made of. */
const LEDGER_ROWS = "SELECT device, seq, timestamp FROM oracle_ledger";
/** Most seqs per lookup, and most lookups per statement (SQLite allows 500 terms in a compound SELECT). */
const LOOKUP_PARAMS = 500;
const LOOKUP_PARTS = 200;

/**
 * Sorted runs of consecutive UTC minutes as `[from, to)` minute ranges; minutes no stored timestamp
 * can fall in (negative, or past 2^53 seconds: a rewarded reading is never dated there) are left out.
 *
 * @example minuteRanges(new Set([5n, 3n, 4n, 9n])); // [[3, 6], [9, 10]]
 */
export function minuteRanges(minutes: Iterable<bigint>): [number, number][] {
  const max = BigInt(Math.floor(Number.MAX_SAFE_INTEGER / 60));
  const sorted = [...minutes].filter((m) => m >= 0n && m < max).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const ranges: [number, number][] = [];
  for (const m of sorted.map(Number)) {
    const last = ranges.at(-1);
    if (last !== undefined && m < last[1]) continue; // a minute given twice
    if (last !== undefined && last[1] === m) last[1] = m + 1;
    else ranges.push([m, m + 1]);
  }
  return ranges;
}

/**
 * An epoch's lifecycle: `empty` (the cumulative total did not change: nothing to post) or `signed`
 * (our signature made, collecting peers'), then `posted` (the on-chain root is ours), `posted_other`
 * (the committee posted another root for it: we disagree) or `superseded` (a later epoch was posted first).
 */
export type EpochStatus = "empty" | "signed" | "posted" | "posted_other" | "superseded";

export interface EpochRow {
  epoch: number;
  fromBlock: number;
  toBlock: number;
  status: EpochStatus;
  root: Hex | null;
  cumulativeTotal: bigint;
  entries: number;
  rulesVersion: number;
  oracleSetVersion: number | null;
  digest: Hex | null;
  /** The oracle message, JSON (OracleMessageJson). */
  message: string | null;
  postedRoot: Hex | null;
  txHash: Hex | null;
  postedByUs: boolean;
}

export interface BatchRecord {
  batchId: bigint;
  blockNumber: bigint;
  logIndex: number;
  blockHash: Hex;
  txHash: Hex;
  root: Hex;
  manifestHash: Hex;
  leafCount: number;
  evaluation: BatchEvaluation;
}

/** A direct submission as processed (its rewards go into the ledger under `direct:<txHash>:<logIndex>`). */
export interface DirectRecord {
  txHash: Hex;
  logIndex: number;
  evaluation: BatchEvaluation;
}

/** Everything one processed epoch writes, in one transaction. */
export interface EpochCommit {
  epoch: Omit<EpochRow, "postedRoot" | "txHash" | "postedByUs">;
  batches: BatchRecord[];
  /** Readings submitted directly (`ReadingSubmitted`) and what they earned. */
  direct: DirectRecord[];
  /** Every beneficiary's cumulative after the epoch (lowercase keys). */
  balances: Map<string, { beneficiary: Address; cumulative: bigint; readings: number }>;
  /** The keys of `balances` the epoch changed: only their rows in the running balances are written. */
  changed: ReadonlySet<string>;
  /** Block hashes to remember (the epoch's last block, blocks holding events). */
  blocks: { number: bigint; hash: Hex }[];
  ownSignature?: { signer: Address; signature: Hex };
  /** More writes in the epoch's transaction (the market's sale book). */
  extra?: (tx: SqlExecutor) => Promise<void>;
}

/**
 * The distributor's epoch of a signed row: its message's `epoch` (the count of roots posted before it,
 * plus one — empty block ranges are not posted, so this differs from the row's range number).
 */
export function postedEpochOf(row: Pick<EpochRow, "epoch" | "message">): bigint {
  return row.message === null ? 0n : BigInt((JSON.parse(row.message) as { epoch: string | number }).epoch);
}

/** The message's `fromBlock` of a signed row (the previous signed row's `toBlock + 1`). */
export function postedFromBlockOf(row: Pick<EpochRow, "fromBlock" | "message">): number {
  return row.message === null ? row.fromBlock : Number((JSON.parse(row.message) as { fromBlock: string | number }).fromBlock);
}

/** The halt report after a reorg deeper than the confirmation depth. */
export interface HaltReport {
  reason: "DEEP_REORG";
  message: string;
  block: number;
  storedHash: Hex;
  chainHash: Hex | null;
  confirmations: number;
  detectedAt: string;
}

type Row = Record<string, unknown>;

function epochFromRow(r: Row): EpochRow {
  return {
    epoch: Number(r.epoch),
    fromBlock: Number(r.from_block),
    toBlock: Number(r.to_block),
    status: r.status as EpochStatus,
    root: (r.root as Hex | null) ?? null,
    cumulativeTotal: BigInt(r.cumulative_total as string),
    entries: Number(r.entries),
    rulesVersion: Number(r.rules_version),
    oracleSetVersion: r.oracle_set_version === null ? null : Number(r.oracle_set_version),
    digest: (r.digest as Hex | null) ?? null,
    message: (r.message as string | null) ?? null,
    postedRoot: (r.posted_root as Hex | null) ?? null,
    txHash: (r.tx_hash as Hex | null) ?? null,
    postedByUs: Number(r.posted_by_us) === 1,
  };
}

/**
 * The oracle's tables on a {@link SqlDatabase}.
 *
 * @example
 * const store = await OracleStore.open(await openDatabase("data/oracle.sqlite"));
 * await store.lastProcessedEpoch(); // 0 on a fresh store
 */
export class OracleStore {
  private constructor(readonly db: SqlDatabase) {}

  /** Creates the tables if needed. */
  static async open(db: SqlDatabase): Promise<OracleStore> {
    await db.migrate(DDL);
    return new OracleStore(db);
  }

  async getMeta(key: string): Promise<string | undefined> {
    const rows = await this.db.query<{ value: string }>("SELECT value FROM oracle_meta WHERE key = ?", [key]);
    return rows[0]?.value;
  }

  async setMeta(key: string, value: string, tx: SqlExecutor = this.db): Promise<void> {
    await tx.run("INSERT INTO oracle_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]);
  }

  /**
   * Binds the store to one configuration (chains, contracts, epoch cut, rules): a store made for
   * another one is refused, since its ledger would mean something else.
   */
  async bind(binding: Record<string, string>): Promise<void> {
    const value = JSON.stringify(binding);
    const existing = await this.getMeta("binding");
    if (existing === undefined) await this.setMeta("binding", value);
    else if (existing !== value) throw new Error(`the oracle store was made for another configuration: ${existing}, now ${value}`);
  }

  async lastProcessedEpoch(): Promise<number> {
    return Number((await this.getMeta("last_epoch")) ?? "0");
  }

  async halt(): Promise<HaltReport | undefined> {
    const text = await this.getMeta("halted");
    return text === undefined ? undefined : (JSON.parse(text) as HaltReport);
  }

  async setHalt(report: HaltReport): Promise<void> {
    await this.setMeta("halted", JSON.stringify(report));
  }

  async blockHash(number: bigint | number): Promise<Hex | undefined> {
    const rows = await this.db.query<{ hash: Hex }>("SELECT hash FROM oracle_blocks WHERE number = ?", [Number(number)]);
    return rows[0]?.hash;
  }

  /** Stored block hashes, newest first. */
  async recentBlocks(limit: number): Promise<{ number: number; hash: Hex }[]> {
    const rows = await this.db.query<{ number: number; hash: Hex }>("SELECT number, hash FROM oracle_blocks ORDER BY number DESC LIMIT ?", [
      limit,
    ]);
    return rows.map((r) => ({ number: Number(r.number), hash: r.hash }));
  }

  /**
   * What earlier epochs rewarded that `readings` can ask about (lowercase device keys): per device, the
   * rewarded seqs among theirs and the rewarded readings in their UTC minutes. That is the rules' dedup
   * state exactly as far as these readings consult it (`seqs.has(seq)`, `minutes.has(minute)`), read on
   * the ledger's two indexes: bounded by the epoch's readings, never by a device's history (every
   * rewarded reading of every device seen was read before, 43,200 rows per device after a month).
   */
  async deviceStates(readings: Iterable<{ device: string; seq: bigint; timestamp: bigint }>): Promise<Map<string, DeviceRewardState>> {
    const wanted = new Map<string, { seqs: Set<string>; minutes: Set<bigint> }>();
    for (const r of readings) {
      const key = r.device.toLowerCase();
      const w = wanted.get(key) ?? { seqs: new Set<string>(), minutes: new Set<bigint>() };
      w.seqs.add(r.seq.toString());
      w.minutes.add(r.timestamp / 60n);
      wanted.set(key, w);
    }
    const parts: { sql: string; params: unknown[] }[] = [];
    for (const [key, w] of wanted) {
      const device = getAddress(key);
      const seqs = [...w.seqs];
      for (let i = 0; i < seqs.length; i += LOOKUP_PARAMS) {
        const chunk = seqs.slice(i, i + LOOKUP_PARAMS);
        parts.push({ sql: `${LEDGER_ROWS} WHERE device = ? AND seq IN (${chunk.map(() => "?").join(", ")})`, params: [device, ...chunk] });
      }
      for (const [from, to] of minuteRanges(w.minutes))
        parts.push({ sql: `${LEDGER_ROWS} WHERE device = ? AND timestamp >= ? AND timestamp < ?`, params: [device, from * 60, to * 60] });
    }
    const out = new Map<string, DeviceRewardState>();
    // Many devices per statement (one round trip on PostgreSQL), within both dialects' limits.
    for (let i = 0; i < parts.length;) {
      let params = 0;
      let end = i;
      while (end < parts.length && end - i < LOOKUP_PARTS && (end === i || params + parts[end].params.length <= LOOKUP_PARAMS * 2))
        params += parts[end++].params.length;
      const batch = parts.slice(i, end);
      i = end;
      const rows = await this.db.query<{ device: string; seq: string; timestamp: number }>(
        batch.map((p) => p.sql).join(" UNION ALL "),
        batch.flatMap((p) => p.params),
      );
      for (const r of rows) {
        const key = r.device.toLowerCase();
        const state = out.get(key) ?? { seqs: new Set<bigint>(), minutes: new Set<bigint>() };
        state.seqs.add(BigInt(r.seq));
        state.minutes.add(BigInt(r.timestamp) / 60n);
        out.set(key, state);
      }
    }
    return out;
  }

  async balances(): Promise<Map<string, { beneficiary: Address; cumulative: bigint; readings: number }>> {
    const rows = await this.db.query<{ beneficiary: Address; cumulative: string; readings: number }>(
      "SELECT beneficiary, cumulative, readings FROM oracle_balances",
    );
    return new Map(
      rows.map((r) => [
        r.beneficiary.toLowerCase(),
        { beneficiary: r.beneficiary, cumulative: BigInt(r.cumulative), readings: Number(r.readings) },
      ]),
    );
  }

  /** Writes a processed epoch atomically and moves the cursor past it. */
  async commitEpoch(c: EpochCommit): Promise<void> {
    await this.db.transaction(async (tx) => {
      const e = c.epoch;
      for (const b of c.batches) {
        await tx.run(
          `INSERT INTO oracle_batches (batch_id, epoch, block_number, log_index, block_hash, tx_hash, root, manifest_hash, leaf_count, status, reason, rewarded, rejected)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            b.batchId.toString(),
            e.epoch,
            Number(b.blockNumber),
            b.logIndex,
            b.blockHash,
            b.txHash,
            b.root,
            b.manifestHash,
            b.leafCount,
            b.evaluation.status,
            b.evaluation.reason ?? null,
            b.evaluation.rewards.length,
            b.evaluation.rejected.length,
          ],
        );
      }
      // Rows by the hundred per statement: an epoch of a large fleet rewards and updates ~100,000 of each.
      const ledger = (r: RewardItem, batchId: string) => [
        r.device,
        r.seq.toString(),
        batchId,
        e.epoch,
        Number(r.timestamp),
        r.beneficiary,
        r.amount.toString(),
      ];
      await insertRows(tx, "INSERT INTO oracle_ledger (device, seq, batch_id, epoch, timestamp, beneficiary, amount)", [
        ...c.batches.flatMap((b) => b.evaluation.rewards.map((r) => ledger(r, b.batchId.toString()))),
        ...c.direct.flatMap((d) => d.evaluation.rewards.map((r) => ledger(r, `direct:${d.txHash}:${d.logIndex}`))),
      ]);
      await insertRows(
        tx,
        "INSERT INTO oracle_balances (beneficiary, cumulative, readings)",
        [...c.changed].map((key) => {
          const b = c.balances.get(key)!;
          return [b.beneficiary, b.cumulative.toString(), b.readings];
        }),
        "ON CONFLICT (beneficiary) DO UPDATE SET cumulative = excluded.cumulative, readings = excluded.readings",
      );
      await tx.run(
        `INSERT INTO oracle_epochs (epoch, from_block, to_block, status, root, cumulative_total, entries, rules_version, oracle_set_version, digest, message)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          e.epoch,
          e.fromBlock,
          e.toBlock,
          e.status,
          e.root,
          e.cumulativeTotal.toString(),
          e.entries,
          e.rulesVersion,
          e.oracleSetVersion,
          e.digest,
          e.message,
        ],
      );
      if (e.status !== "empty")
        await insertRows(
          tx,
          "INSERT INTO oracle_epoch_balances (epoch, beneficiary, cumulative)",
          [...c.balances.values()].map((b) => [e.epoch, b.beneficiary, b.cumulative.toString()]),
        );
      if (c.ownSignature !== undefined && e.digest !== null) {
        // Signatures are kept by the distributor's epoch number (the one peers name).
        await tx.run("INSERT INTO oracle_signatures (epoch, digest, signer, signature) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", [
          Number(postedEpochOf(e)),
          e.digest,
          c.ownSignature.signer,
          c.ownSignature.signature,
        ]);
      }
      for (const block of c.blocks) {
        await tx.run("INSERT INTO oracle_blocks (number, hash) VALUES (?, ?) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash", [
          Number(block.number),
          block.hash,
        ]);
      }
      await c.extra?.(tx);
      await this.setMeta("last_epoch", String(e.epoch), tx);
      await this.setMeta("last_block", String(e.toBlock), tx);
    });
  }

  async epoch(epoch: number): Promise<EpochRow | undefined> {
    const rows = await this.db.query<Row>("SELECT * FROM oracle_epochs WHERE epoch = ?", [epoch]);
    return rows[0] === undefined ? undefined : epochFromRow(rows[0]);
  }

  /** The signed row for the distributor's epoch `posted` (empty ranges are not numbered there). */
  async epochByPosted(posted: number): Promise<EpochRow | undefined> {
    const rows = await this.db.query<Row>("SELECT * FROM oracle_epochs WHERE message IS NOT NULL ORDER BY epoch DESC");
    return rows.map(epochFromRow).find((r) => postedEpochOf(r) === BigInt(posted));
  }

  /** The newest epoch with a root (not `empty`), optionally of one status. */
  async latestEpoch(status?: EpochStatus): Promise<EpochRow | undefined> {
    const rows =
      status === undefined
        ? await this.db.query<Row>("SELECT * FROM oracle_epochs WHERE status <> 'empty' ORDER BY epoch DESC LIMIT 1")
        : await this.db.query<Row>("SELECT * FROM oracle_epochs WHERE status = ? ORDER BY epoch DESC LIMIT 1", [status]);
    return rows[0] === undefined ? undefined : epochFromRow(rows[0]);
  }

  async epochsWithStatus(...statuses: EpochStatus[]): Promise<EpochRow[]> {
    const rows = await this.db.query<Row>(
      `SELECT * FROM oracle_epochs WHERE status IN (${statuses.map(() => "?").join(", ")}) ORDER BY epoch`,
      statuses,
    );
    return rows.map(epochFromRow);
  }

  async setEpochOutcome(epoch: number, status: EpochStatus, postedRoot: Hex | null, txHash: Hex | null, postedByUs = false): Promise<void> {
    await this.db.run("UPDATE oracle_epochs SET status = ?, posted_root = ?, tx_hash = ?, posted_by_us = ? WHERE epoch = ?", [
      status,
      postedRoot,
      txHash,
      postedByUs ? 1 : 0,
      epoch,
    ]);
  }

  /** Drops the balance snapshots of epochs older than `epoch` (only the newest posted root pays). */
  async pruneSnapshots(epoch: number): Promise<void> {
    await this.db.run("DELETE FROM oracle_epoch_balances WHERE epoch < ?", [epoch]);
  }

  async epochBalances(epoch: number): Promise<{ account: Address; cumulative: bigint }[]> {
    const rows = await this.db.query<{ beneficiary: Address; cumulative: string }>(
      "SELECT beneficiary, cumulative FROM oracle_epoch_balances WHERE epoch = ? ORDER BY beneficiary",
      [epoch],
    );
    return rows.map((r) => ({ account: r.beneficiary, cumulative: BigInt(r.cumulative) }));
  }

  /** Stores a signature; false if it was there already. */
  async addSignature(epoch: number, digest: Hex, signer: Address, signature: Hex): Promise<boolean> {
    const { changes } = await this.db.run(
      "INSERT INTO oracle_signatures (epoch, digest, signer, signature) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      [epoch, digest.toLowerCase(), signer, signature],
    );
    return changes > 0;
  }

  async signatures(epoch: number, digest: Hex): Promise<{ signer: Address; signature: Hex }[]> {
    return this.db.query<{ signer: Address; signature: Hex }>(
      "SELECT signer, signature FROM oracle_signatures WHERE epoch = ? AND digest = ? ORDER BY signer",
      [epoch, digest.toLowerCase()],
    );
  }

  /** Per beneficiary: cumulative entitlement and rewarded readings, largest first. */
  async ledger(): Promise<{ beneficiary: Address; cumulative: bigint; readings: number }[]> {
    const all = [...(await this.balances()).values()];
    return all.sort((a, b) =>
      a.cumulative === b.cumulative ? a.beneficiary.localeCompare(b.beneficiary) : a.cumulative > b.cumulative ? -1 : 1,
    );
  }

  async batch(batchId: bigint): Promise<Row | undefined> {
    const rows = await this.db.query<Row>("SELECT * FROM oracle_batches WHERE batch_id = ?", [batchId.toString()]);
    return rows[0];
  }
}
