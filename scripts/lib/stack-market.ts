/**
 * `npm start`'s market demo: lists one product over the simulated devices' next hour (scope posted to
 * the platform first), and buys it once from a dev consumer wallet, so a newcomer sees money flow:
 * purchase → access (after K confirmations: `npm run market -- download`) → payout claimable (the
 * committee splits the sale once the window has ended).
 *
 * Wiring (scripts/stack.ts, once the reward chain's Ignition deployment has the DataMarket and its
 * settlement token): `await startMarketDemo({ rewardRpcUrl, market, token, platformUrl, adminKey,
 * operatorKey, buyerKey, devices, fundBuyer, log })`, and give the platform and the oracles
 * `MARKET_ADDRESS` (oracle/market/market-env.ts).
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
  /** Gives the buyer `amount` settlement tokens (and gas). */
  fundBuyer(buyer: Address, amount: bigint): Promise<void>;
  log(line: string): void;
}

/** Lists the demo product and buys it once; answers the product and purchase ids. */
export async function startMarketDemo(o: MarketDemoOptions): Promise<{ productId: bigint; purchaseId: bigint }> {
  const chain = rpcChain(o.rewardChainId, "reward", o.rewardRpcUrl);
  const client = createPublicClient({ chain, transport: http(o.rewardRpcUrl) }) as PublicClient;
  const wallet = (key: Hex) => createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(o.rewardRpcUrl) });
  const now = Math.floor(Date.now() / 1000);
  const from = now - (now % 3600);
  const scopeHash = await postScope(o.platformUrl, o.adminKey, {
    v: 1,
    devices: [...o.devices],
    fields: ["humidity_pct", "pm10_ugm3", "pm2_5_ugm3", "temperature_c"],
    window: { from, to: from + 3600 },
  });
  const price = 10n * 10n ** 18n;
  const productId = await listProduct(client, wallet(o.operatorKey), o.market, {
    scopeHash,
    token: o.token,
    price,
    accessPeriod: 7n * 86_400n,
  });
  o.log(`market: product ${productId} listed (${o.devices.length} devices, this hour, 10 tokens), scope ${scopeHash}`);
  const buyer = wallet(o.buyerKey);
  await o.fundBuyer(buyer.account.address, price);
  const { purchaseId } = await buyProduct(client, buyer, o.market, productId, { permit: true });
  o.log(
    `market: ${buyer.account.address} bought it (purchase ${purchaseId}); download after K confirmations with ` +
      `MARKET_PRIVATE_KEY=${o.buyerKey} MARKET_ADDRESS=${o.market} npm run market -- download`,
  );
  return { productId, purchaseId };
}
