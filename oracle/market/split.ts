/**
 * Sale split rules: a pure, deterministic function from one confirmed purchase and the committee's
 * verified readings to what each contributor is owed in the settlement token. Independent oracles
 * that see the same two chains compute the same split, hence the same root.
 *
 * Sale rules v1 (docs/MARKET-SALES.md §2):
 * - `paid` is the purchase's price as the contract took it; the operator fee is the contract's
 *   (the event's `operatorFee`, i.e. `paid · feeBps / 10 000` rounded down, set on-chain);
 * - the contributor pool is `paid − operatorFee`;
 * - a reading counts when the committee verified it (it is in the reward ledger: rules v2) by the
 *   sale's split epoch, its device is in the scope and its timestamp in the purchase's window
 *   `[from, to)`; each counts once, with the beneficiary the ledger recorded for it;
 * - a beneficiary with `c` of the `n` counted readings is owed `⌊pool · c / n⌋`;
 * - the rest of the pool (rounding dust; all of it when `n = 0`) is the **unallocated remainder**:
 *   never paid to contributors, accounted separately, never lost.
 * So `paid = operatorFee + Σ shares + unallocated` exactly.
 *
 * @module
 */
import { getAddress, type Address } from "viem";

import { inScope, scopeWindow, type Scope } from "../core/scope.js";

/** A versioned sale split rule set. */
export interface SaleRules {
  version: number;
}

/** Sale rules v1: pro rata to verified readings in scope, rounding down, the rest unallocated. */
export const SALE_RULES_V1: SaleRules = Object.freeze({ version: 1 });

/** A confirmed purchase, as the split reads it. */
export interface Sale {
  /** A stable key of the purchase (`<txHash>:<logIndex>` or the contract's purchase id). */
  id: string;
  /** The settlement token paid in. */
  token: Address;
  /** What the buyer paid (token base units). */
  paid: bigint;
  /** The operator's fee the contract took out of `paid`. */
  operatorFee: bigint;
  /** Block time of the purchase on the reward chain (starts a live scope). */
  purchasedAt: bigint;
  scope: Scope;
}

/** A reading the committee verified (a row of its reward ledger). */
export interface VerifiedReading {
  device: Address;
  timestamp: bigint;
  beneficiary: Address;
}

/** One contributor's share of a sale. */
export interface ContributorShare {
  account: Address;
  amount: bigint;
  readings: number;
}

/** What one sale pays. */
export interface SaleSplit {
  saleId: string;
  token: Address;
  rulesVersion: number;
  paid: bigint;
  operatorFee: bigint;
  /** Ascending by account. */
  shares: ContributorShare[];
  unallocated: bigint;
  /** Readings counted (n). */
  readings: number;
}

/**
 * Splits one sale over the verified readings (any superset of the scope's: others are skipped).
 *
 * @example
 * const split = splitSale(sale, ledgerRows);
 * split.operatorFee + split.shares.reduce((s, x) => s + x.amount, 0n) + split.unallocated === sale.paid; // true
 */
export function splitSale(sale: Sale, readings: Iterable<VerifiedReading>, rules: SaleRules = SALE_RULES_V1): SaleSplit {
  if (rules.version !== SALE_RULES_V1.version) throw new RangeError(`unknown sale rules version ${rules.version}`);
  if (sale.operatorFee < 0n || sale.operatorFee > sale.paid)
    throw new RangeError(`operator fee ${sale.operatorFee} outside [0, ${sale.paid}]`);
  const window = scopeWindow(sale.scope, sale.purchasedAt);
  const counts = new Map<string, number>();
  let n = 0;
  for (const r of readings) {
    if (!inScope(sale.scope, window, r.device, r.timestamp)) continue;
    const key = r.beneficiary.toLowerCase();
    counts.set(key, (counts.get(key) ?? 0) + 1);
    n += 1;
  }
  const pool = sale.paid - sale.operatorFee;
  const shares: ContributorShare[] = [];
  let allocated = 0n;
  for (const account of [...counts.keys()].sort()) {
    const c = counts.get(account)!;
    const amount = (pool * BigInt(c)) / BigInt(n);
    allocated += amount;
    shares.push({ account: getAddress(account), amount, readings: c });
  }
  return {
    saleId: sale.id,
    token: getAddress(sale.token),
    rulesVersion: rules.version,
    paid: sale.paid,
    operatorFee: sale.operatorFee,
    shares: shares.filter((s) => s.amount > 0n),
    unallocated: pool - allocated,
    readings: n,
  };
}

/**
 * Adds a split's shares to per-account cumulative amounts of its token (the settlement-token side of
 * the committee's cumulative leaves). Mutates and returns `cumulative` (keyed by lowercase account).
 *
 * @example addSplit(new Map(), split).get(account.toLowerCase()); // 450n
 */
export function addSplit(cumulative: Map<string, bigint>, split: SaleSplit): Map<string, bigint> {
  for (const s of split.shares) {
    const key = s.account.toLowerCase();
    cumulative.set(key, (cumulative.get(key) ?? 0n) + s.amount);
  }
  return cumulative;
}
