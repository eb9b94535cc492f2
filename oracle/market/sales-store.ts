/**
 * The committee member's sale book, in the oracle's own database next to its ledger: purchases seen
 * with K confirmations (pending until due), each sale's split once made, and the cumulative
 * settlement-token amount of every (account, token). Written in the epoch's transaction, so a sale is
 * split once and paid once, across restarts and roots.
 *
 * @module
 */
import { getAddress, type Address, type Hex } from "viem";

import type { SqlDatabase, SqlExecutor } from "../store/sql.js";
import type { ConfirmedPurchase } from "./purchases.js";
import type { SaleSplit } from "./split.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS market_sales (
  purchase_id TEXT PRIMARY KEY, product_id TEXT NOT NULL, buyer TEXT NOT NULL, token TEXT NOT NULL,
  price TEXT NOT NULL, fee TEXT NOT NULL, pool TEXT NOT NULL, scope_hash TEXT NOT NULL, paid_at INTEGER NOT NULL,
  block_number INTEGER NOT NULL, block_hash TEXT NOT NULL, status TEXT NOT NULL, split_epoch INTEGER,
  readings INTEGER, unallocated TEXT, rules_version INTEGER);
CREATE TABLE IF NOT EXISTS market_shares (
  purchase_id TEXT NOT NULL, account TEXT NOT NULL, token TEXT NOT NULL, amount TEXT NOT NULL, readings INTEGER NOT NULL,
  PRIMARY KEY (purchase_id, account));
CREATE TABLE IF NOT EXISTS market_cumulative (
  account TEXT NOT NULL, token TEXT NOT NULL, cumulative TEXT NOT NULL, PRIMARY KEY (account, token));
CREATE TABLE IF NOT EXISTS market_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** A sale as kept: a confirmed purchase, pending until split. */
export interface SaleRow {
  purchaseId: bigint;
  productId: bigint;
  buyer: Address;
  token: Address;
  price: bigint;
  fee: bigint;
  pool: bigint;
  scopeHash: Hex;
  paidAt: bigint;
  status: "pending" | "split";
  splitEpoch: number | null;
}

/** One (account, token) cumulative settlement amount. */
export interface SettlementEntry {
  account: Address;
  token: Address;
  cumulative: bigint;
}

/** What one epoch adds to the sale book (written in the epoch's transaction). */
export interface SalesCommit {
  /** Newly seen confirmed purchases. */
  purchases: ConfirmedPurchase[];
  /** The reward-chain block read up to. */
  readTo: bigint;
  /** Sales split in this epoch, with the account that takes each unallocated remainder. */
  splits: { split: SaleSplit; unallocatedTo: Address }[];
  epoch: number;
}

/** The sale book. */
export class SalesStore {
  private constructor(private readonly db: SqlDatabase) {}

  /** Creates the tables if needed. */
  static async open(db: SqlDatabase): Promise<SalesStore> {
    await db.migrate(SCHEMA);
    return new SalesStore(db);
  }

  /** The last reward-chain block whose purchases were read (undefined before the first read). */
  async readTo(): Promise<bigint | undefined> {
    const rows = await this.db.query<{ value: string }>("SELECT value FROM market_meta WHERE key = 'read_to'");
    return rows[0] === undefined ? undefined : BigInt(rows[0].value);
  }

  /** Pending sales, by purchase id. */
  async pending(): Promise<SaleRow[]> {
    const rows = await this.db.query<Record<string, string | number | null>>(
      "SELECT * FROM market_sales WHERE status = 'pending' ORDER BY CAST(purchase_id AS INTEGER)",
    );
    return rows.map(saleFromRow);
  }

  /** Every sale, newest first (at most `limit`). */
  async sales(limit = 100): Promise<SaleRow[]> {
    const rows = await this.db.query<Record<string, string | number | null>>(
      "SELECT * FROM market_sales ORDER BY CAST(purchase_id AS INTEGER) DESC LIMIT ?",
      [limit],
    );
    return rows.map(saleFromRow);
  }

  /** Every (account, token) cumulative settlement amount, ascending by account then token. */
  async cumulative(): Promise<SettlementEntry[]> {
    const rows = await this.db.query<{ account: string; token: string; cumulative: string }>(
      "SELECT account, token, cumulative FROM market_cumulative ORDER BY account, token",
    );
    return rows.map((r) => ({ account: getAddress(r.account), token: getAddress(r.token), cumulative: BigInt(r.cumulative) }));
  }

  /**
   * The (account, token) cumulatives as they stood after epoch `epoch` (sales split in it or before):
   * the settlement leaves of that epoch's root, rebuilt after a restart. Ascending by account then token.
   */
  async cumulativeAt(epoch: number): Promise<SettlementEntry[]> {
    const rows = await this.db.query<{ account: string; token: string; amount: string }>(
      `SELECT sh.account, sh.token, sh.amount FROM market_shares sh JOIN market_sales s ON s.purchase_id = sh.purchase_id
       WHERE s.status = 'split' AND s.split_epoch <= ?`,
      [epoch],
    );
    const sums = new Map<string, SettlementEntry>();
    for (const r of rows) {
      const key = `${r.account}:${r.token}`;
      const e = sums.get(key) ?? { account: getAddress(r.account), token: getAddress(r.token), cumulative: 0n };
      sums.set(key, { ...e, cumulative: e.cumulative + BigInt(r.amount) });
    }
    return [...sums.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
  }

  /** The reward-chain block of a stored purchase. */
  async purchaseBlock(purchaseId: bigint): Promise<bigint> {
    const rows = await this.db.query<{ block_number: number }>("SELECT block_number FROM market_sales WHERE purchase_id = ?", [
      purchaseId.toString(),
    ]);
    if (rows[0] === undefined) throw new Error(`no stored purchase ${purchaseId}`);
    return BigInt(rows[0].block_number);
  }

  /** The shares of one sale. */
  async shares(purchaseId: bigint): Promise<{ account: Address; token: Address; amount: bigint; readings: number }[]> {
    const rows = await this.db.query<{ account: string; token: string; amount: string; readings: number }>(
      "SELECT account, token, amount, readings FROM market_shares WHERE purchase_id = ? ORDER BY account",
      [purchaseId.toString()],
    );
    return rows.map((r) => ({
      account: getAddress(r.account),
      token: getAddress(r.token),
      amount: BigInt(r.amount),
      readings: Number(r.readings),
    }));
  }

  /** Writes an epoch's sales (call inside the epoch's transaction). */
  async commit(tx: SqlExecutor, c: SalesCommit): Promise<void> {
    for (const p of c.purchases) {
      await tx.run(
        `INSERT INTO market_sales (purchase_id, product_id, buyer, token, price, fee, pool, scope_hash, paid_at, block_number, block_hash, status)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT (purchase_id) DO NOTHING`,
        [
          p.purchaseId.toString(),
          p.productId.toString(),
          p.buyer.toLowerCase(),
          p.token.toLowerCase(),
          p.price.toString(),
          p.fee.toString(),
          p.contributorPool.toString(),
          p.scopeHash.toLowerCase(),
          Number(p.paidAt),
          Number(p.blockNumber),
          p.blockHash,
        ],
      );
    }
    for (const { split, unallocatedTo } of c.splits) {
      const changed = await tx.run(
        "UPDATE market_sales SET status = 'split', split_epoch = ?, readings = ?, unallocated = ?, rules_version = ? WHERE purchase_id = ? AND status = 'pending'",
        [c.epoch, split.readings, split.unallocated.toString(), split.rulesVersion, split.saleId],
      );
      // Split once: a sale already split is never paid again.
      if (changed.changes !== 1) throw new Error(`sale ${split.saleId} is not pending`);
      // The remainder's account may also be a contributor: one row per account.
      const credits = new Map<string, { account: Address; amount: bigint; readings: number }>();
      for (const s of split.shares) credits.set(s.account.toLowerCase(), { account: s.account, amount: s.amount, readings: s.readings });
      if (split.unallocated > 0n) {
        const c = credits.get(unallocatedTo.toLowerCase()) ?? { account: unallocatedTo, amount: 0n, readings: 0 };
        credits.set(unallocatedTo.toLowerCase(), { ...c, amount: c.amount + split.unallocated });
      }
      for (const credit of credits.values()) {
        await tx.run("INSERT INTO market_shares (purchase_id, account, token, amount, readings) VALUES (?, ?, ?, ?, ?)", [
          split.saleId,
          credit.account.toLowerCase(),
          split.token.toLowerCase(),
          credit.amount.toString(),
          credit.readings,
        ]);
        await this.#credit(tx, credit.account, split.token, credit.amount);
      }
    }
    await tx.run("INSERT INTO market_meta (key, value) VALUES ('read_to', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [
      c.readTo.toString(),
    ]);
  }

  async #credit(tx: SqlExecutor, account: Address, token: Address, amount: bigint): Promise<void> {
    const key = [account.toLowerCase(), token.toLowerCase()];
    const rows = await tx.query<{ cumulative: string }>("SELECT cumulative FROM market_cumulative WHERE account = ? AND token = ?", key);
    const next = (rows[0] === undefined ? 0n : BigInt(rows[0].cumulative)) + amount;
    await tx.run(
      `INSERT INTO market_cumulative (account, token, cumulative) VALUES (?, ?, ?)
       ON CONFLICT (account, token) DO UPDATE SET cumulative = excluded.cumulative`,
      [...key, next.toString()],
    );
  }
}

function saleFromRow(r: Record<string, string | number | null>): SaleRow {
  return {
    purchaseId: BigInt(r.purchase_id as string),
    productId: BigInt(r.product_id as string),
    buyer: getAddress(r.buyer as string),
    token: getAddress(r.token as string),
    price: BigInt(r.price as string),
    fee: BigInt(r.fee as string),
    pool: BigInt(r.pool as string),
    scopeHash: r.scope_hash as Hex,
    paidAt: BigInt(r.paid_at as number),
    status: r.status as SaleRow["status"],
    splitEpoch: r.split_epoch === null ? null : Number(r.split_epoch),
  };
}
