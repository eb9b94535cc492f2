/**
 * The market page's API (docs/MARKET-SALES.md): products with their coverage, Sign-In with Ethereum
 * relayed to the platform, the purchased readings as CSV and as proof bundles, and a contributor's
 * entitlements per token (relayed from the oracle).
 *
 * - `GET /api/market` → `{ market, chainId, rpcUrl, products: [{ productId, status, price, accessPeriod,
 *   scopeHash, token: { address, symbol, decimals }, coverage: { devices, fields, from?, to?, liveSeconds? } | null }] }`
 * - `GET /api/market/siwe/nonce`, `POST /api/market/siwe` → the platform's answers, passed through
 *   (the consumer's wallet signs the EIP-4361 message in the browser; the platform checks it).
 * - `POST /api/market/download` `{ token, grant }` → `text/csv` of the purchased fields; the platform
 *   checks the purchase token against the grant (403 OUT_OF_SCOPE / NO_PURCHASE pass through).
 * - `POST /api/market/bundles` `{ token, grant }` → `{ bundles: [...] }`, one proof bundle per reading,
 *   each accepted by `npm run verify -- bundle check` (built by the verifier with the purchase token).
 * - `GET /api/claims/:account/tokens` → the oracle's `GET /v1/claims/:account/tokens`, passed through.
 *
 * @module
 */
import type express from "express";
import { erc20Abi, type Address, type PublicClient } from "viem";

import { bundleToJson } from "../../core/bundle.js";
import { SensorSealError } from "../../core/errors.js";
import { MarketCallError, readProducts } from "../../market/client.js";
import { downloadGrant, readingsCsv } from "../../market/consumer.js";
import { httpScopeSource } from "../../market/scopes.js";
import type { PurchaseGrant } from "../../platform/purchase-access.js";
import { handle } from "../../service/app.js";
import { ServiceError } from "../../service/errors.js";
import { exportBundle } from "../../verifier/bundle.js";
import { asConsumer, fetchJson, notConfigured, unavailable, type Upstreams } from "../upstream.js";
import { addressParam } from "./params.js";

/** Most readings one bundle request answers (each bundle is a verifier round trip). */
const MAX_BUNDLES = 500;

async function tokenInfo(client: PublicClient, address: Address, cache: Map<Address, { symbol: string; decimals: number }>) {
  const known = cache.get(address);
  if (known !== undefined) return { address, ...known };
  const [symbol, decimals] = await Promise.all([
    client.readContract({ address, abi: erc20Abi, functionName: "symbol" }),
    client.readContract({ address, abi: erc20Abi, functionName: "decimals" }),
  ]);
  cache.set(address, { symbol, decimals });
  return { address, symbol, decimals };
}

/** The body's purchase token and grant, checked for shape (the platform checks what they allow). */
function purchaseBody(body: unknown): { token: string; grant: PurchaseGrant } {
  const b = body as { token?: unknown; grant?: Partial<PurchaseGrant> } | undefined;
  const g = b?.grant;
  const ok =
    typeof b?.token === "string" &&
    /^ssa_[A-Za-z0-9_-]{10,200}$/.test(b.token) &&
    g !== undefined &&
    typeof g.purchaseId === "string" &&
    Array.isArray(g.devices) &&
    g.devices.length <= 10_000 &&
    g.devices.every((d) => typeof d === "string" && /^0x[0-9a-fA-F]{40}$/.test(d)) &&
    Array.isArray(g.fields) &&
    g.fields.every((f) => typeof f === "string") &&
    Number.isSafeInteger(g.from) &&
    Number.isSafeInteger(g.to);
  if (!ok) throw new ServiceError("INVALID_BODY", "expected { token: 'ssa_…', grant: { purchaseId, devices, fields, from, to } }");
  return { token: b!.token as string, grant: g as PurchaseGrant };
}

/** A platform refusal as the page's error (same code and status family). */
function platformRefusal(error: unknown): never {
  if (error instanceof MarketCallError) {
    if (error.code === "NO_PURCHASE" || error.code === "OUT_OF_SCOPE" || error.code === "UNAUTHORIZED")
      throw new ServiceError(error.code, error.message.replace(/^[A-Z_]+: /, ""));
    throw unavailable("platform", error.message, error);
  }
  if (error instanceof TypeError) throw unavailable("platform", "the platform does not answer", error);
  throw error;
}

/** Adds the market page's routes. */
export function marketRoutes(router: express.Router, up: Upstreams): void {
  const tokens = new Map<Address, { symbol: string; decimals: number }>();
  const platformUrl = () => {
    if (up.options.platform === undefined) throw notConfigured("platform");
    return up.options.platform.url.replace(/\/+$/, "");
  };

  router.get(
    "/api/market",
    handle(async (_req, res) => {
      const market = up.options.market;
      if (market === undefined || up.rewardClient === undefined) throw notConfigured("market");
      const client = up.rewardClient;
      let products;
      try {
        products = await readProducts(
          client,
          market.address,
          up.options.platform === undefined ? undefined : httpScopeSource(platformUrl()),
        );
      } catch (error) {
        throw unavailable(
          "reward chain",
          `the market does not answer on the reward chain: ${(error as Error).message.split("\n")[0]}`,
          error,
        );
      }
      const answer = [];
      for (const p of products) {
        const s = p.scope;
        answer.push({
          productId: p.productId.toString(),
          status: p.status,
          price: p.price.toString(),
          accessPeriod: Number(p.accessPeriod),
          scopeHash: p.scopeHash,
          token: await tokenInfo(client, p.token, tokens),
          coverage:
            s === undefined
              ? null
              : {
                  devices: s.devices,
                  fields: s.fields,
                  ...(s.window ? { from: s.window.from, to: s.window.to } : { liveSeconds: s.live!.seconds }),
                },
        });
      }
      const reward = up.options.reward!;
      res.json({ market: market.address, chainId: reward.chainId, rpcUrl: reward.publicRpcUrl ?? reward.rpcUrl, products: answer });
    }),
  );

  router.get(
    "/api/market/siwe/nonce",
    handle(async (_req, res) => {
      const { status, body } = await fetchJson(`${platformUrl()}/v1/market/siwe/nonce`, "platform", up.timeoutMs);
      res.status(status).json(body);
    }),
  );

  router.post(
    "/api/market/siwe",
    handle(async (req, res) => {
      let answer: Response;
      try {
        answer = await fetch(`${platformUrl()}/v1/market/siwe`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(req.body ?? {}),
          signal: AbortSignal.timeout(up.timeoutMs),
        });
      } catch (cause) {
        throw unavailable("platform", "the platform does not answer", cause);
      }
      res
        .status(answer.status)
        .type("application/json")
        .send(await answer.text());
    }),
  );

  router.post(
    "/api/market/download",
    handle(async (req, res) => {
      const { token, grant } = purchaseBody(req.body);
      const readings = await downloadGrant(platformUrl(), token, grant).catch(platformRefusal);
      res
        .type("text/csv")
        .setHeader("Content-Disposition", `attachment; filename="purchase-${grant.purchaseId.replace(/[^0-9]/g, "")}.csv"`)
        .send(readingsCsv(readings, grant.fields));
    }),
  );

  router.post(
    "/api/market/bundles",
    handle(async (req, res) => {
      const { token, grant } = purchaseBody(req.body);
      const readings = await downloadGrant(platformUrl(), token, grant).catch(platformRefusal);
      if (readings.length > MAX_BUNDLES)
        throw new ServiceError("INVALID_BODY", `the purchase holds ${readings.length} readings: use the CLI (npm run market -- download)`);
      const v = await up.bundleVerifier();
      const bundles = [];
      for (const r of readings) {
        try {
          const { bundle } = await asConsumer(token, () => exportBundle(v, r.device, r.seq));
          bundles.push(JSON.parse(bundleToJson(bundle)) as unknown);
        } catch (error) {
          if (error instanceof SensorSealError && (error.code === "NOT_ANCHORED" || error.code === "RAW_MISSING")) continue;
          throw error;
        }
      }
      res.json({ purchaseId: grant.purchaseId, readings: readings.length, bundles });
    }),
  );

  router.get(
    "/api/claims/:account/tokens",
    handle(async (req, res) => {
      const account = addressParam(req.params.account as string, "account");
      if (up.options.oracle === undefined) throw notConfigured("oracle");
      const url = `${up.options.oracle.url.replace(/\/+$/, "")}/v1/claims/${account}/tokens`;
      const { status, body } = await fetchJson(url, "oracle", up.timeoutMs);
      if (status === 200 || status === 404) {
        res.status(status).json(body ?? { error: { code: "NO_ENTITLEMENT", message: "no entitlement" } });
        return;
      }
      throw unavailable("oracle", `the oracle answered ${status}`);
    }),
  );
}
