/**
 * The market demo's two steps (scripts/lib/stack-market.ts runs them once the simulator's devices are
 * registered): list one product over the devices' readings of the next `windowSeconds` (scope posted to
 * the platform first), and buy it once from a consumer wallet with a permit.
 *
 * @module
 */
import { createPublicClient, createWalletClient, http, type Address, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { rpcChain } from "../../oracle/chain/rpc.js";
import { buyProduct, listProduct, postScope } from "../../oracle/market/client.js";

/** What the demo needs from the stack. */
export interface MarketDemoOptions {
  rewardRpcUrl: string;
  rewardChainId: number;
  market: Address;
  /** The settlement token (an accepted ERC-20 with permit). */
  token: Address;
  platformUrl: string;
  /** A platform admin API key (posts the scope). */
  adminKey: string;
  /** Holds OPERATOR_ROLE on the market. */
  operatorKey: Hex;
  /** The demo consumer. */
  buyerKey: Hex;
  /** The simulated devices the product covers. */
  devices: readonly Address[];
  /** The product's window: from now, this long. */
  windowSeconds: number;
  /** Gives the buyer `amount` settlement tokens (and gas). */
  fundBuyer(buyer: Address, amount: bigint): Promise<void>;
  log(line: string): void;
}

/** Lists the demo product and buys it once; answers the product and purchase ids. */
export async function startMarketDemo(
  o: MarketDemoOptions,
): Promise<{ productId: bigint; purchaseId: bigint; window: { from: number; to: number } }> {
  const chain = rpcChain(o.rewardChainId, "reward", o.rewardRpcUrl);
  const client = createPublicClient({ chain, transport: http(o.rewardRpcUrl) }) as PublicClient;
  const wallet = (key: Hex) => createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(o.rewardRpcUrl) });
  // Readings carry wall-clock timestamps (the simulator's default).
  const from = Math.floor(Date.now() / 1000);
  const window = { from, to: from + o.windowSeconds };
  const scopeHash = await postScope(o.platformUrl, o.adminKey, {
    v: 1,
    devices: [...o.devices],
    fields: ["humidity_pct", "pm10_ugm3", "pm2_5_ugm3", "temperature_c"],
    window,
  });
  const price = 10n * 10n ** 18n;
  const productId = await listProduct(client, wallet(o.operatorKey), o.market, {
    scopeHash,
    token: o.token,
    price,
    accessPeriod: 7n * 86_400n,
  });
  o.log(`market: product ${productId} listed (${o.devices.length} devices, the next ${o.windowSeconds} s, 10 sUSD), scope ${scopeHash}`);
  const buyer = wallet(o.buyerKey);
  await o.fundBuyer(buyer.account.address, price);
  const { purchaseId } = await buyProduct(client, buyer, o.market, productId, { permit: true });
  o.log(
    `market: ${buyer.account.address} bought it (purchase ${purchaseId}); download after K confirmations with ` +
      `MARKET_PRIVATE_KEY=${o.buyerKey} MARKET_ADDRESS=${o.market} npm run market -- download`,
  );
  return { productId, purchaseId, window };
}
