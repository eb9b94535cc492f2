/**
 * The committee's side of the market: each audit-chain epoch, read the reward chain's purchases with
 * K confirmations, split every sale that is due over the verified readings in its scope (split.ts),
 * and hand the epoch the per-(account, token) settlement cumulatives to put in its M-of-N root.
 *
 * Which sales an epoch splits is a function of both chains only, so every oracle agrees
 * (docs/MARKET-SALES.md §2):
 * - epoch `e` ends at `T_e`, its last audit block's timestamp; a purchase is *known* to epoch `e` when its
 *   reward-chain block time `paidAt ≤ T_e`. The member waits (SalesNotReadyError) until the reward chain's
 *   K-confirmed head is later than `T_e`, so every such purchase is confirmed and read;
 * - a known sale is *due* in the first epoch with `T_e ≥ max(paidAt, window end) + settleDelay`; it is split
 *   then, over the readings the ledger verified in earlier epochs, and never again;
 * - the unallocated remainder is credited to the market's treasury (as of the purchase's block) in the
 *   sale's token, as docs/MARKET.md §4 fixes.
 *
 * @module
 */
import { getAddress, type Address, type PublicClient } from "viem";

import { scopeWindow } from "../core/scope.js";
import { SensorSealError } from "../core/errors.js";
import type { Logger } from "../service/logger.js";
import type { SqlDatabase } from "../store/sql.js";
import { dataMarketAbi } from "./market-abi.js";
import { readConfirmedPurchases, type ConfirmedPurchase } from "./purchases.js";
import { SalesStore, type SalesCommit, type SaleRow, type SettlementEntry } from "./sales-store.js";
import type { ScopeSource } from "./scopes.js";
import { SALE_RULES_V1, splitSale, type SaleRules, type VerifiedReading } from "./split.js";

/** Seconds after a window's end before its sale is split (readings anchored by then count). */
export const DEFAULT_SETTLE_DELAY_SECONDS = 300n;

/** The reward chain has not yet passed the epoch's end time with K confirmations: wait. */
export class SalesNotReadyError extends SensorSealError {
  override name = "SalesNotReadyError" as const;
  constructor(message: string, details?: Record<string, unknown>) {
    super("SERVICE_UNAVAILABLE", message, { details });
  }
}

/** The committee's market options (`OracleOptions.market`). */
export interface CommitteeMarketOptions {
  /** The DataMarket on the reward chain. */
  market: Address;
  /** Its deployment block. */
  fromBlock: number;
  /** Where scopes come from (checked against their on-chain hash). */
  scopes: ScopeSource;
  rules?: SaleRules;
  /** Default 300 s. */
  settleDelaySeconds?: number;
}

/** What one epoch's sales add: written with the epoch, and the settlement cumulatives after it. */
export interface EpochSales {
  commit: SalesCommit;
  /** Every (account, token) cumulative once this epoch's splits are in, ascending by account then token. */
  entries: SettlementEntry[];
  /** Whether this epoch changed any cumulative (the root must then change). */
  changed: boolean;
}

/** The committee member's sales. */
export interface CommitteeSales {
  store: SalesStore;
  /** Reads and splits the sales of epoch `epoch` ending at audit time `epochEnd`; throws SalesNotReadyError to wait. */
  prepare(epoch: number, epochEnd: bigint): Promise<EpochSales>;
}

/**
 * Builds a member's sales over its reward-chain client and its database (which holds `oracle_ledger`).
 *
 * @example const sales = await createCommitteeSales({ db, rewardClient, confirmations: 2n, logger }, { market, fromBlock: 0, scopes });
 */
export async function createCommitteeSales(
  ctx: { db: SqlDatabase; rewardClient: PublicClient; confirmations: bigint; logger: Logger },
  o: CommitteeMarketOptions,
): Promise<CommitteeSales> {
  const store = await SalesStore.open(ctx.db);
  const rules = o.rules ?? SALE_RULES_V1;
  const settleDelay = o.settleDelaySeconds === undefined ? DEFAULT_SETTLE_DELAY_SECONDS : BigInt(o.settleDelaySeconds);
  const source = {
    client: ctx.rewardClient,
    market: getAddress(o.market),
    fromBlock: BigInt(o.fromBlock),
    confirmations: ctx.confirmations,
  };

  /** Purchases known to the epoch (paidAt ≤ epochEnd) after the cursor, and the new cursor. */
  async function knownPurchases(epochEnd: bigint): Promise<{ purchases: ConfirmedPurchase[]; readTo: bigint }> {
    const head = await ctx.rewardClient.getBlockNumber({ cacheTime: 0 });
    const confirmed = head - ctx.confirmations;
    const confirmedTime = confirmed < 0n ? 0n : (await ctx.rewardClient.getBlock({ blockNumber: confirmed })).timestamp;
    if (confirmedTime <= epochEnd)
      throw new SalesNotReadyError("waiting for the reward chain to pass the epoch's end with K confirmations", {
        epochEnd: epochEnd.toString(),
        confirmedBlock: confirmed.toString(),
        confirmedTime: confirmedTime.toString(),
      });
    const after = await store.readTo();
    const fromBlock = after === undefined ? source.fromBlock : after + 1n;
    const { purchases } = await readConfirmedPurchases(source, { fromBlock, toBlock: confirmed });
    const firstLater = purchases.findIndex((p) => p.paidAt > epochEnd);
    if (firstLater === -1) return { purchases, readTo: confirmed };
    // Block times never decrease: from the first later purchase on, everything waits for a later epoch.
    return { purchases: purchases.slice(0, firstLater), readTo: purchases[firstLater]!.blockNumber - 1n };
  }

  async function verifiedReadings(from: bigint, to: bigint): Promise<VerifiedReading[]> {
    const rows = await ctx.db.query<{ device: string; timestamp: number; beneficiary: string }>(
      "SELECT device, timestamp, beneficiary FROM oracle_ledger WHERE timestamp >= ? AND timestamp < ?",
      [Number(from), Number(to)],
    );
    return rows.map((r) => ({ device: r.device as Address, timestamp: BigInt(r.timestamp), beneficiary: r.beneficiary as Address }));
  }

  async function treasuryAt(blockNumber: bigint): Promise<Address> {
    return getAddress(
      await ctx.rewardClient.readContract({ address: source.market, abi: dataMarketAbi, functionName: "treasury", blockNumber }),
    );
  }

  return {
    store,
    async prepare(epoch, epochEnd) {
      const { purchases, readTo } = await knownPurchases(epochEnd);
      const blocks = new Map(purchases.map((p) => [p.purchaseId, p.blockNumber]));
      const candidates: SaleRow[] = [...(await store.pending()), ...purchases.map(saleOf)];
      const splits: SalesCommit["splits"] = [];
      for (const sale of candidates) {
        const scope = await o.scopes.scopeOf(sale.scopeHash).catch((cause: unknown) => {
          // Every oracle must split with the scope: without it, wait (it was posted before listing).
          throw new SalesNotReadyError(`the scope ${sale.scopeHash} of purchase ${sale.purchaseId} is not available`, {
            purchaseId: sale.purchaseId.toString(),
            why: String(cause),
          });
        });
        const window = scopeWindow(scope, sale.paidAt);
        const dueAt = (window.to > sale.paidAt ? window.to : sale.paidAt) + settleDelay;
        if (dueAt > epochEnd) continue;
        const split = splitSale(
          { id: sale.purchaseId.toString(), token: sale.token, paid: sale.price, operatorFee: sale.fee, purchasedAt: sale.paidAt, scope },
          await verifiedReadings(window.from, window.to),
          rules,
        );
        const block = blocks.get(sale.purchaseId) ?? (await store.purchaseBlock(sale.purchaseId));
        splits.push({ split, unallocatedTo: await treasuryAt(block) });
        ctx.logger.info(
          { purchaseId: split.saleId, readings: split.readings, shares: split.shares.length, unallocated: split.unallocated.toString() },
          "sale split",
        );
      }
      return {
        commit: { purchases, readTo, splits, epoch },
        entries: withCredits(await store.cumulative(), splits),
        changed: splits.some(({ split }) => split.paid > split.operatorFee),
      };
    },
  };
}

/** The cumulatives once `splits` are credited (shares, and each remainder to its account), ascending by account then token. */
function withCredits(before: readonly SettlementEntry[], splits: SalesCommit["splits"]): SettlementEntry[] {
  const key = (account: string, token: string) => `${account.toLowerCase()}:${token.toLowerCase()}`;
  const entries = new Map(before.map((e) => [key(e.account, e.token), e]));
  for (const { split, unallocatedTo } of splits) {
    const credits = split.shares.map((s) => [s.account, s.amount] as const);
    if (split.unallocated > 0n) credits.push([unallocatedTo, split.unallocated]);
    for (const [account, amount] of credits) {
      const e = entries.get(key(account, split.token)) ?? { account: getAddress(account), token: split.token, cumulative: 0n };
      entries.set(key(account, split.token), { ...e, cumulative: e.cumulative + amount });
    }
  }
  return [...entries.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
}

function saleOf(p: ConfirmedPurchase): SaleRow {
  return {
    purchaseId: p.purchaseId,
    productId: p.productId,
    buyer: p.buyer,
    token: p.token,
    price: p.price,
    fee: p.fee,
    pool: p.contributorPool,
    scopeHash: p.scopeHash,
    paidAt: p.paidAt,
    status: "pending",
    splitEpoch: null,
  };
}
