/// <reference lib="dom" />
/**
 * The market page: products with their coverage and price (`/api/market`), buy from an EIP-1193 wallet
 * (approve + purchase, or one `purchaseWithPermit`), sign in with that wallet (EIP-4361, checked by the
 * platform) and download the purchased readings as CSV and as proof bundles.
 *
 * The message line (`#message`) carries a machine-readable `data-code`: LOADING, NOT_CONFIGURED,
 * NO_WALLET, CONNECT, READY, PENDING, BOUGHT, SIGNED_IN, NO_PURCHASE, DOWNLOADED, REJECTED, ERROR.
 *
 * @module
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  http,
  type Address,
  type Chain,
  type PublicClient,
} from "viem";
import { createSiweMessage } from "viem/siwe";

import { buyProduct, type MarketWallet } from "../../market/client.js";
import type { PurchaseGrant } from "../../platform/purchase-access.js";
import { api, el, formatAmount, formatTime, short } from "./common.js";
// `window.ethereum` (EIP-1193) is declared by ./claim.ts.

interface ProductJson {
  productId: string;
  status: "active" | "retired";
  price: string;
  accessPeriod: number;
  scopeHash: string;
  token: { address: Address; symbol: string; decimals: number };
  coverage: { devices: string[]; fields: string[]; from?: number; to?: number; liveSeconds?: number } | null;
}
interface MarketJson {
  market: Address;
  chainId: number;
  rpcUrl: string;
  products: ProductJson[];
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let market: MarketJson;
let chain: Chain;
let publicClient: PublicClient;
let wallet: MarketWallet | undefined;
let account: Address | undefined;
let busy = false;

function say(code: string, text: string, kind: "info" | "ok" | "warn" | "error" = "info"): void {
  const m = $("message");
  m.dataset.code = code;
  m.dataset.kind = kind;
  m.textContent = text;
}

function rejected(error: unknown): boolean {
  let e = error as { code?: unknown; cause?: unknown } | undefined;
  for (let i = 0; e && i < 10; i++, e = e.cause as typeof e) if (e.code === 4001) return true;
  return false;
}

/** A contract refusal by its error name, else the short message. */
function why(error: unknown): string {
  if (error instanceof BaseError) {
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError && reverted.data !== undefined) return reverted.data.errorName;
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}

function coverageText(c: ProductJson["coverage"]): string {
  if (c === null) return "scope unavailable";
  const when = c.from !== undefined ? `${formatTime(c.from)} → ${formatTime(c.to!)}` : `live, ${Math.round(c.liveSeconds! / 3600)} h`;
  return `${c.devices.length} device${c.devices.length === 1 ? "" : "s"} · ${c.fields.join(", ")} · ${when}`;
}

function renderProducts(): void {
  const body = $("products");
  body.replaceChildren();
  for (const p of market.products) {
    const buy = el("button", { type: "button", class: "primary", "data-product": p.productId }, "Buy");
    buy.disabled = busy || account === undefined || p.status !== "active";
    buy.addEventListener("click", () => void purchase(p));
    body.append(
      el(
        "tr",
        { "data-product": p.productId },
        el("td", {}, p.productId),
        el("td", { title: `scope ${p.scopeHash}` }, coverageText(p.coverage)),
        el("td", { class: "price" }, `${formatAmount(BigInt(p.price), p.token.decimals)} ${p.token.symbol}`),
        el("td", {}, `${Math.round(p.accessPeriod / 3600)} h`),
        el("td", {}, p.status),
        el("td", {}, buy),
      ),
    );
  }
  $<HTMLButtonElement>("connect").hidden = account !== undefined || wallet === undefined;
  $<HTMLButtonElement>("signin").disabled = busy || account === undefined;
}

async function purchase(p: ProductJson): Promise<void> {
  if (wallet === undefined || account === undefined) return;
  busy = true;
  renderProducts();
  try {
    if ((await wallet.getChainId()) !== chain.id) await wallet.switchChain({ id: chain.id });
    const permit = $<HTMLInputElement>("permit").checked;
    say("PENDING", permit ? "Sign the permit, then confirm the purchase in your wallet…" : "Confirm the approval, then the purchase…");
    const bought = await buyProduct(publicClient, wallet, market.market, BigInt(p.productId), { permit });
    say(
      "BOUGHT",
      `Bought product ${p.productId}: purchase ${bought.purchaseId} (tx ${short(bought.txHash, 10, 8)}). ` +
        "Sign in once it has its confirmations to download the data.",
      "ok",
    );
  } catch (error) {
    if (rejected(error)) say("REJECTED", "You rejected the request in your wallet: nothing was bought.", "warn");
    else say("ERROR", `The purchase failed: ${why(error)}`, "error");
  } finally {
    busy = false;
    renderProducts();
  }
}

/** Saves `text` as a file through a temporary link. */
function save(name: string, type: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function download(token: string, grant: PurchaseGrant, kind: "csv" | "bundles"): Promise<void> {
  say("PENDING", kind === "csv" ? "Downloading the readings…" : "Building a proof bundle per reading…");
  if (kind === "csv") {
    const res = await fetch("/api/market/download", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, grant }),
    });
    if (!res.ok) {
      const e = ((await res.json().catch(() => ({}))) as { error?: { code: string; message: string } }).error;
      return say(e?.code ?? "ERROR", `The platform refused the download: ${e?.message ?? res.status}`, "error");
    }
    const text = await res.text();
    save(`purchase-${grant.purchaseId}.csv`, "text/csv", text);
    return say("DOWNLOADED", `Purchase ${grant.purchaseId}: ${text.trim().split("\n").length - 1} readings saved as CSV.`, "ok");
  }
  const answer = await api<{ bundles: unknown[]; readings: number }>("/api/market/bundles", { method: "POST", body: { token, grant } });
  if (!answer.ok) return say(answer.code, `The proof bundles could not be built: ${answer.message}`, "error");
  save(`purchase-${grant.purchaseId}-bundles.json`, "application/json", JSON.stringify(answer.body.bundles, null, 2));
  say(
    "DOWNLOADED",
    `Purchase ${grant.purchaseId}: ${answer.body.bundles.length} proof bundles saved (check each with npm run verify).`,
    "ok",
  );
}

function renderPurchases(token: string, grants: PurchaseGrant[]): void {
  const body = $("purchases");
  body.replaceChildren();
  for (const g of grants) {
    const csv = el("button", { type: "button", "data-download": "csv" }, "CSV");
    const bundles = el("button", { type: "button", "data-download": "bundles" }, "Proof bundles");
    csv.addEventListener("click", () => void download(token, g, "csv"));
    bundles.addEventListener("click", () => void download(token, g, "bundles"));
    body.append(
      el(
        "tr",
        { "data-purchase": g.purchaseId },
        el("td", {}, g.purchaseId),
        el("td", {}, g.productId),
        el("td", {}, `${g.devices.length} devices · ${g.fields.join(", ")} · ${formatTime(g.from)} → ${formatTime(g.to)}`),
        el("td", {}, formatTime(g.expiresAt)),
        el("td", {}, csv, bundles),
      ),
    );
  }
}

async function signIn(): Promise<void> {
  if (wallet === undefined || account === undefined) return;
  const nonce = await api<{ nonce: string; domain: string; chainId: number }>("/api/market/siwe/nonce");
  if (!nonce.ok) return say("ERROR", `The platform does not answer: ${nonce.message}`, "error");
  const message = createSiweMessage({
    address: account,
    chainId: nonce.body.chainId,
    domain: nonce.body.domain,
    nonce: nonce.body.nonce,
    uri: window.location.origin,
    version: "1",
    statement: "Sign in to the SensorSeal data platform to read the data this wallet bought.",
    issuedAt: new Date(),
    expirationTime: new Date(Date.now() + 10 * 60_000),
  });
  let signature;
  try {
    signature = await wallet.signMessage({ account, message });
  } catch (error) {
    if (rejected(error)) return say("REJECTED", "You rejected the sign-in in your wallet.", "warn");
    return say("ERROR", `The wallet could not sign: ${why(error)}`, "error");
  }
  const session = await api<{ token: string; grants: PurchaseGrant[] }>("/api/market/siwe", {
    method: "POST",
    body: { message, signature },
  });
  if (!session.ok) {
    if (session.code === "NO_PURCHASE")
      return say("NO_PURCHASE", "This wallet has no confirmed purchase with access running (a new one needs its confirmations).", "warn");
    return say("ERROR", `Sign-in refused: ${session.code}: ${session.message}`, "error");
  }
  renderPurchases(session.body.token, session.body.grants);
  say("SIGNED_IN", `Signed in as ${short(account)}: ${session.body.grants.length} purchase(s) with access running.`, "ok");
}

async function connect(): Promise<void> {
  try {
    const [first] = await wallet!.requestAddresses();
    if (first === undefined) throw new Error("the wallet answered no account");
    account = first;
    wallet = createWalletClient({ account, chain, transport: custom(window.ethereum!) });
    $("account").textContent = account;
    say("READY", "Choose a product to buy, or sign in to download what this wallet bought.", "ok");
  } catch (error) {
    if (rejected(error)) say("REJECTED", "You rejected the connection request in your wallet.", "warn");
    else say("ERROR", `Could not connect the wallet: ${why(error)}`, "error");
  }
  renderProducts();
}

async function main(): Promise<void> {
  say("LOADING", "Loading…");
  const answer = await api<MarketJson>("/api/market");
  if (!answer.ok)
    return say(answer.code === "NOT_CONFIGURED" ? "NOT_CONFIGURED" : "ERROR", `The market is unavailable: ${answer.message}`, "error");
  market = answer.body;
  chain = defineChain({
    id: market.chainId,
    name: "SensorSeal reward chain",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [market.rpcUrl] } },
  });
  publicClient = createPublicClient({ chain, transport: http(market.rpcUrl) }) as PublicClient;
  $("market").textContent = market.market;
  $("chain").textContent = String(market.chainId);
  const provider = window.ethereum;
  if (provider !== undefined) {
    // An account is set once connected; until then, only requestAddresses is used.
    wallet = createWalletClient({ chain, transport: custom(provider) }) as unknown as MarketWallet;
    $("connect").addEventListener("click", () => void connect());
    $("signin").addEventListener("click", () => void signIn());
  }
  renderProducts();
  if (provider === undefined) say("NO_WALLET", "No browser wallet found: install an Ethereum wallet (EIP-1193) to buy.", "error");
  else say("CONNECT", `${market.products.length} product(s). Connect your wallet to buy.`);
}

void main();
