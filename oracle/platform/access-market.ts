/**
 * Wires the market into the platform: scope routes (always), and, when the platform is given the
 * reward chain's DataMarket, Sign-In with Ethereum and purchase tokens in front of the read routes.
 *
 * @module
 */
import type { RequestHandler, Router } from "express";
import type { Address, Hex, PublicClient } from "viem";

import { bytesScopeSource } from "../market/scopes.js";
import type { SqlDatabase } from "../store/sql.js";
import { ScopeStore, scopeRoutes } from "./access-scopes.js";
import type { ApiKeyring } from "./auth.js";
import type { DeviceDirectory } from "./ingest.js";
import { chainPurchaseLookup, PurchaseAccess, siweRoutes } from "./purchase-access.js";
import { SiweVerifier } from "./siwe.js";
import type { PlatformStore } from "./store.js";

/** The platform's market options: where purchases are, and what buyers sign in to. */
export interface PlatformMarketOptions {
  /** A client of the reward (financial) chain. */
  client: PublicClient;
  chainId: number;
  /** The DataMarket contract. */
  market: Address;
  /** Its deployment block. */
  fromBlock: bigint;
  /** K: confirmations before a purchase grants access. */
  confirmations: number;
  /** The EIP-4361 domain buyers sign in to (the platform's public authority, e.g. `data.example.org`). */
  siweDomain: string;
  /** Signature check (default: EOA recovery). */
  verify?: (args: { address: Address; message: string; signature: Hex }) => Promise<boolean>;
}

/**
 * Adds the market routes to `router`; answers how the read routes' API-key check is wrapped (purchase
 * tokens first) — the identity when no market is configured.
 */
export async function mountMarket(
  router: Router,
  o: {
    db: SqlDatabase;
    keyring: ApiKeyring;
    registry: DeviceDirectory;
    store: PlatformStore;
    market?: PlatformMarketOptions;
    now?: () => number;
  },
): Promise<(apiKeys: RequestHandler) => RequestHandler> {
  const scopes = await ScopeStore.open(o.db);
  scopeRoutes(router, {
    scopes,
    keyring: o.keyring,
    isKnownDevice: (d) => o.registry.device(d) !== undefined,
    sync: () => o.registry.sync(),
  });
  const m = o.market;
  if (m === undefined) return (apiKeys) => apiKeys;
  const siwe = new SiweVerifier({
    domain: m.siweDomain,
    chainId: m.chainId,
    ...(m.verify ? { verify: m.verify } : {}),
    ...(o.now ? { now: o.now } : {}),
  });
  const lookup = chainPurchaseLookup(
    { client: m.client, market: m.market, fromBlock: m.fromBlock, confirmations: BigInt(m.confirmations) },
    bytesScopeSource((hash) => scopes.bytes(hash)),
  );
  const access = new PurchaseAccess({ siwe, lookup, ...(o.now ? { now: o.now } : {}) });
  siweRoutes(router, { access, siwe, domain: m.siweDomain, chainId: m.chainId });
  const readingTime = async (device: Address, seq: number) => (await o.store.getReading(device, seq))?.ts;
  return (apiKeys) => access.middleware(apiKeys, readingTime);
}
