/**
 * The market's chain and platform calls, shared by the CLI (scripts/market.ts), the stack's demo and
 * the tests: operators post a scope and list, reprice and retire products; consumers read products and
 * buy (approve + purchase, or an ERC-2612 permit in one transaction).
 *
 * @module
 */
import {
  erc20Abi,
  getAddress,
  hexToSignature,
  parseEventLogs,
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";

import type { Scope } from "../core/scope.js";
import { dataMarketAbi, ProductStatus } from "./market-abi.js";
import type { ScopeSource } from "./scopes.js";

/** A wallet with its account (the operator or a consumer). */
export type MarketWallet = WalletClient<Transport, Chain, Account>;

/** A product as the market shows it. */
export interface MarketProduct {
  productId: bigint;
  scopeHash: Hex;
  token: Address;
  price: bigint;
  accessPeriod: bigint;
  status: "active" | "retired";
  /** The scope, checked against its hash (undefined when it could not be fetched). */
  scope?: Scope;
}

const erc20PermitAbi = [
  ...erc20Abi,
  {
    type: "function",
    name: "nonces",
    stateMutability: "view",
    inputs: [{ name: "owner", type: "address" }],
    outputs: [{ type: "uint256" }],
  },
  {
    type: "function",
    name: "eip712Domain",
    stateMutability: "view",
    inputs: [],
    outputs: [
      { name: "fields", type: "bytes1" },
      { name: "name", type: "string" },
      { name: "version", type: "string" },
      { name: "chainId", type: "uint256" },
      { name: "verifyingContract", type: "address" },
      { name: "salt", type: "bytes32" },
      { name: "extensions", type: "uint256[]" },
    ],
  },
] as const;

/**
 * Posts a scope to the platform (admin key): it is refused there if malformed or naming unknown
 * devices (400 INVALID_SCOPE / UNKNOWN_SCOPE_DEVICE); answers its hash.
 *
 * @example const scopeHash = await postScope("http://127.0.0.1:8080", adminKey, { v: 1, devices, fields, window });
 */
export async function postScope(platformUrl: string, adminKey: string, scope: unknown): Promise<Hex> {
  const res = await fetch(`${platformUrl.replace(/\/$/, "")}/v1/market/scopes`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminKey}` },
    body: JSON.stringify(scope),
  });
  const body = (await res.json()) as { scopeHash?: Hex; error?: { code: string; message: string } };
  if (res.status !== 201 || body.scopeHash === undefined)
    throw new MarketCallError(body.error?.code ?? `HTTP_${res.status}`, body.error?.message ?? "the platform refused the scope");
  return body.scopeHash;
}

/** A market call was refused (the platform's code, or the contract's error name). */
export class MarketCallError extends Error {
  override name = "MarketCallError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/**
 * Lists a product (operator); answers its id from `ProductListed`.
 *
 * @example const id = await listProduct(client, operator, market, { scopeHash, token, price: 10n ** 18n, accessPeriod: 86_400n });
 */
export async function listProduct(
  client: PublicClient,
  wallet: MarketWallet,
  market: Address,
  p: { scopeHash: Hex; token: Address; price: bigint; accessPeriod: bigint },
): Promise<bigint> {
  const hash = await wallet.writeContract({
    address: market,
    abi: dataMarketAbi,
    functionName: "list",
    args: [p.scopeHash, p.token, p.price, p.accessPeriod],
  });
  const receipt = await client.waitForTransactionReceipt({ hash });
  const [listed] = parseEventLogs({ abi: dataMarketAbi, logs: receipt.logs, eventName: "ProductListed" });
  if (listed === undefined) throw new MarketCallError("NO_EVENT", "the listing emitted no ProductListed");
  return listed.args.productId;
}

/** Reprices (operator) or retires (operator) a product; answers the transaction hash once mined. */
export async function updateProduct(
  client: PublicClient,
  wallet: MarketWallet,
  market: Address,
  change: { productId: bigint; price: bigint } | { productId: bigint; retire: true },
): Promise<Hex> {
  const hash =
    "retire" in change
      ? await wallet.writeContract({ address: market, abi: dataMarketAbi, functionName: "retire", args: [change.productId] })
      : await wallet.writeContract({
          address: market,
          abi: dataMarketAbi,
          functionName: "reprice",
          args: [change.productId, change.price],
        });
  await client.waitForTransactionReceipt({ hash });
  return hash;
}

/**
 * Every product, with its scope when `scopes` can give it.
 *
 * @example for (const p of await readProducts(client, market, httpScopeSource(platformUrl))) console.log(p.productId, p.price);
 */
export async function readProducts(client: PublicClient, market: Address, scopes?: ScopeSource): Promise<MarketProduct[]> {
  const count = await client.readContract({ address: market, abi: dataMarketAbi, functionName: "productCount" });
  const out: MarketProduct[] = [];
  for (let id = 1n; id <= count; id++) {
    const p = await client.readContract({ address: market, abi: dataMarketAbi, functionName: "getProduct", args: [id] });
    const product: MarketProduct = {
      productId: id,
      scopeHash: p.scopeHash,
      token: getAddress(p.token),
      price: p.price,
      accessPeriod: BigInt(p.accessPeriod),
      status: p.status === ProductStatus.Retired ? "retired" : "active",
    };
    const scope = await scopes?.scopeOf(p.scopeHash).catch(() => undefined);
    if (scope !== undefined) product.scope = scope;
    out.push(product);
  }
  return out;
}

/**
 * Buys a product at its current price and token: `approve` + `purchase`, or with `permit` one
 * `purchaseWithPermit` (ERC-2612 signature for exactly the price). Answers the purchase id and block, and
 * the gas of every transaction it sent (the approval included).
 *
 * @example const { purchaseId } = await buyProduct(client, buyer, market, 1n, { permit: true });
 */
export async function buyProduct(
  client: PublicClient,
  wallet: MarketWallet,
  market: Address,
  productId: bigint,
  o: { permit?: boolean; deadline?: bigint } = {},
): Promise<{ purchaseId: bigint; txHash: Hex; blockNumber: bigint; gasUsed: bigint }> {
  const p = await client.readContract({ address: market, abi: dataMarketAbi, functionName: "getProduct", args: [productId] });
  const token = getAddress(p.token);
  let hash: Hex;
  let approvalGas = 0n;
  if (o.permit === true) {
    const owner = wallet.account.address;
    const [domain, nonce] = await Promise.all([
      client.readContract({ address: token, abi: erc20PermitAbi, functionName: "eip712Domain" }),
      client.readContract({ address: token, abi: erc20PermitAbi, functionName: "nonces", args: [owner] }),
    ]);
    const deadline = o.deadline ?? BigInt(Math.floor(Date.now() / 1000) + 3600);
    const signature = await wallet.signTypedData({
      domain: { name: domain[1], version: domain[2], chainId: Number(domain[3]), verifyingContract: domain[4] },
      types: {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      primaryType: "Permit",
      message: { owner, spender: market, value: p.price, nonce, deadline },
    });
    const { r, s, v } = hexToSignature(signature);
    const { request } = await client.simulateContract({
      account: wallet.account,
      address: market,
      abi: dataMarketAbi,
      functionName: "purchaseWithPermit",
      args: [productId, token, p.price, deadline, Number(v), r, s],
    });
    hash = await wallet.writeContract(request);
  } else {
    const purchase = {
      account: wallet.account,
      address: market,
      abi: dataMarketAbi,
      functionName: "purchase",
      args: [productId, token, p.price],
    } as const;
    // A product that cannot be bought is refused by the contract's own error before any approval is sent.
    if (p.status !== ProductStatus.Active) await client.simulateContract(purchase);
    const approval = await wallet.writeContract({ address: token, abi: erc20Abi, functionName: "approve", args: [market, p.price] });
    approvalGas = (await client.waitForTransactionReceipt({ hash: approval })).gasUsed;
    const { request } = await client.simulateContract(purchase);
    hash = await wallet.writeContract(request);
  }
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new MarketCallError("REVERTED", `purchase ${hash} reverted`);
  const [bought] = parseEventLogs({ abi: dataMarketAbi, logs: receipt.logs, eventName: "Purchased" });
  if (bought === undefined) throw new MarketCallError("NO_EVENT", "the purchase emitted no Purchased");
  return {
    purchaseId: bought.args.purchaseId,
    txHash: hash,
    blockNumber: receipt.blockNumber,
    gasUsed: approvalGas + receipt.gasUsed,
  };
}
