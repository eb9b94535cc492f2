/**
 * The committee root's entries once the reward leaf carries a token (docs/MARKET.md §5–6): the
 * reward-token balances and the settlement-token cumulatives of the sale book, as one list of
 * `(account, token, cumulative)` leaves, with the oracle message's totals (the reward token's
 * `cumulativeTotal`, and `tokenTotals` of the settlement tokens, strictly ascending, never the reward token).
 *
 * @module
 */
import { getAddress, type Address } from "viem";

import type { SettlementEntry } from "./sales-store.js";

/** One leaf of the multi-token root. */
export interface TokenLeafEntry {
  account: Address;
  token: Address;
  cumulative: bigint;
}

/** What an epoch's root and message are built from. */
export interface EpochLeaves {
  entries: TokenLeafEntry[];
  /** The reward token's cumulative total (the message's `cumulativeTotal`). */
  rewardTotal: bigint;
  /** Settlement tokens' cumulative totals, strictly ascending by address, none zero (the message's `tokenTotals`). */
  tokenTotals: { token: Address; cumulativeTotal: bigint }[];
}

/**
 * Merges reward balances and settlement cumulatives into the root's leaves and totals.
 *
 * @example
 * const leaves = epochLeaves(rewardToken, [{ beneficiary, cumulative: 10n ** 18n }], await sales.store.cumulative());
 * buildRewardTree(leaves.entries); // with the multi-token leaf of oracle/core/reward.ts
 */
export function epochLeaves(
  rewardToken: Address,
  rewards: readonly { beneficiary: Address; cumulative: bigint }[],
  settlement: readonly SettlementEntry[],
): EpochLeaves {
  const reward = getAddress(rewardToken);
  const entries: TokenLeafEntry[] = [];
  let rewardTotal = 0n;
  for (const r of rewards) {
    if (r.cumulative === 0n) continue;
    entries.push({ account: getAddress(r.beneficiary), token: reward, cumulative: r.cumulative });
    rewardTotal += r.cumulative;
  }
  const totals = new Map<Address, bigint>();
  for (const s of settlement) {
    const token = getAddress(s.token);
    if (token === reward) throw new RangeError(`settlement token ${token} is the reward token (the market must never accept it)`);
    if (s.cumulative === 0n) continue;
    entries.push({ account: getAddress(s.account), token, cumulative: s.cumulative });
    totals.set(token, (totals.get(token) ?? 0n) + s.cumulative);
  }
  const tokenTotals = [...totals]
    .sort(([a], [b]) => (BigInt(a) < BigInt(b) ? -1 : 1))
    .map(([token, cumulativeTotal]) => ({ token, cumulativeTotal }));
  return { entries, rewardTotal, tokenTotals };
}
