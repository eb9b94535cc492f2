/**
 * Following purchases on the reward (financial) chain K blocks behind its head: the one reader of
 * `Purchased` events that the committee (sale splits) and the platform (access) share. A purchase is
 * seen only once its block has K confirmations, so a reorg that removes it before then grants no access
 * and pays nothing.
 *
 * @module
 */
import { getAddress, type Address, type Hex, type PublicClient } from "viem";

import { dataMarketAbi } from "./market-abi.js";

/** A purchase whose block has K confirmations. */
export interface ConfirmedPurchase {
  purchaseId: bigint;
  productId: bigint;
  buyer: Address;
  token: Address;
  price: bigint;
  fee: bigint;
  contributorPool: bigint;
  scopeHash: Hex;
  /** Block time of the purchase (unix s): starts a live scope. */
  paidAt: bigint;
  /** When access ends (unix s). */
  expiresAt: bigint;
  blockNumber: bigint;
  blockHash: Hex;
  txHash: Hex;
  logIndex: number;
}

/** Where and how deep purchases are read. */
export interface PurchaseSourceOptions {
  client: PublicClient;
  market: Address;
  /** First block to read (the market's deployment block). */
  fromBlock: bigint;
  /** K: blocks on top of a purchase's block before it counts. */
  confirmations: bigint;
}

/**
 * Reads the purchases in `[fromBlock, toBlock]` (default: up to head − K), optionally of one buyer,
 * in chain order. `toBlock` beyond head − K is clamped: nothing unconfirmed is ever answered.
 *
 * @example
 * const { purchases, confirmedBlock } = await readConfirmedPurchases({ client, market, fromBlock: 0n, confirmations: 2n }, { buyer });
 */
export async function readConfirmedPurchases(
  source: PurchaseSourceOptions,
  range: { fromBlock?: bigint; toBlock?: bigint; buyer?: Address } = {},
): Promise<{ purchases: ConfirmedPurchase[]; confirmedBlock: bigint }> {
  // Never a cached head: a purchase must be K deep now.
  const head = await source.client.getBlockNumber({ cacheTime: 0 });
  const confirmedBlock = head - source.confirmations;
  const fromBlock = range.fromBlock ?? source.fromBlock;
  const toBlock = range.toBlock === undefined || range.toBlock > confirmedBlock ? confirmedBlock : range.toBlock;
  if (toBlock < fromBlock) return { purchases: [], confirmedBlock };
  const logs = await source.client.getContractEvents({
    address: source.market,
    abi: dataMarketAbi,
    eventName: "Purchased",
    ...(range.buyer === undefined ? {} : { args: { buyer: range.buyer } }),
    fromBlock,
    toBlock,
    strict: true,
  });
  const times = new Map<bigint, bigint>();
  const purchases: ConfirmedPurchase[] = [];
  for (const log of logs) {
    let paidAt = times.get(log.blockNumber);
    if (paidAt === undefined) {
      paidAt = (await source.client.getBlock({ blockNumber: log.blockNumber })).timestamp;
      times.set(log.blockNumber, paidAt);
    }
    purchases.push({
      purchaseId: log.args.purchaseId,
      productId: log.args.productId,
      buyer: getAddress(log.args.buyer),
      token: getAddress(log.args.token),
      price: log.args.price,
      fee: log.args.fee,
      contributorPool: log.args.contributorPool,
      scopeHash: log.args.scopeHash,
      paidAt,
      expiresAt: log.args.expiresAt,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      txHash: log.transactionHash,
      logIndex: log.logIndex,
    });
  }
  return { purchases, confirmedBlock };
}
