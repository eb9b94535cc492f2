/// <reference lib="dom" />
/**
 * The claim page's "earnings per token": every token the contributor has a leaf in (the reward token
 * and the settlement tokens of data sales, docs/MARKET.md §5), entitled / claimed / claimable, an
 * "Add to wallet" button (`wallet_watchAsset`, EIP-747) and a claim button per token.
 *
 * Each row carries `data-token` and its claimable amount in `data-claimable`; `#earnings-message`
 * carries a `data-code` (NO_ENTITLEMENT, READY, WATCHED, CLAIMED, REJECTED, ERROR).
 *
 * @module
 */
import { BaseError, erc20Abi, type Address, type PublicClient, type WalletClient } from "viem";

import { readClaimed, type ClaimProof } from "../../claim/proof.js";
import { claimFailure, sendClaim } from "../../claim/send.js";
import { api, el, formatAmount } from "./common.js";

interface TokenClaims {
  claims: ClaimProof[];
}

function say(code: string, text: string, kind: "info" | "ok" | "warn" | "error" = "info"): void {
  const m = document.getElementById("earnings-message");
  if (m === null) return;
  m.dataset.code = code;
  m.dataset.kind = kind;
  m.textContent = text;
}

/** Renders the account's earnings per token into `#earnings` (no-op when the page has no such table). */
export async function showEarnings(o: { client: PublicClient; wallet: WalletClient; account: Address; chainId: number }): Promise<void> {
  const body = document.getElementById("earnings");
  if (body === null) return;
  const answer = await api<TokenClaims>(`/api/claims/${o.account}/tokens`);
  body.replaceChildren();
  if (!answer.ok) {
    if (answer.code === "NO_ENTITLEMENT") say("NO_ENTITLEMENT", "No earnings yet in any token.");
    else say("ERROR", `Earnings unavailable: ${answer.message}`, "error");
    return;
  }
  for (const proof of answer.body.claims) {
    const [symbol, decimals, claimed] = await Promise.all([
      o.client.readContract({ address: proof.token, abi: erc20Abi, functionName: "symbol" }),
      o.client.readContract({ address: proof.token, abi: erc20Abi, functionName: "decimals" }),
      readClaimed(o.client, proof.distributor, o.account, proof.token),
    ]);
    const cumulative = BigInt(proof.cumulative);
    const claimable = cumulative > claimed ? cumulative - claimed : 0n;
    const show = (v: bigint) => `${formatAmount(v, decimals)} ${symbol}`;
    const watch = el("button", { type: "button", "data-watch": proof.token }, "Add to wallet");
    watch.addEventListener("click", () => void watchAsset(o.wallet, proof.token, symbol, decimals));
    const claim = el("button", { type: "button", class: "primary", "data-claim": proof.token }, "Claim");
    claim.disabled = claimable === 0n;
    claim.addEventListener("click", () => void claimToken(o, proof, show));
    body.append(
      el(
        "tr",
        { "data-token": proof.token, "data-claimable": claimable.toString() },
        el("td", { title: proof.token }, symbol),
        el("td", {}, show(cumulative)),
        el("td", {}, show(claimed)),
        el("td", { class: "claimable" }, show(claimable)),
        el("td", {}, watch, claim),
      ),
    );
  }
  say("READY", `Earnings in ${answer.body.claims.length} token(s), from the root of epoch ${answer.body.claims[0]?.epoch ?? "—"}.`, "ok");
}

async function watchAsset(wallet: WalletClient, address: Address, symbol: string, decimals: number): Promise<void> {
  try {
    const added = await wallet.watchAsset({ type: "ERC20", options: { address, symbol, decimals } });
    say(
      added ? "WATCHED" : "REJECTED",
      added ? `${symbol} added to your wallet.` : `Your wallet did not add ${symbol}.`,
      added ? "ok" : "warn",
    );
  } catch (error) {
    say("ERROR", `The wallet could not add ${symbol}: ${error instanceof BaseError ? error.shortMessage : String(error)}`, "error");
  }
}

async function claimToken(
  o: { client: PublicClient; wallet: WalletClient; account: Address; chainId: number },
  proof: ClaimProof,
  show: (v: bigint) => string,
): Promise<void> {
  try {
    const { paid, txHash } = await sendClaim({ client: o.client, wallet: o.wallet, account: o.account, proof });
    await showEarnings(o);
    say("CLAIMED", `Claimed ${show(paid)} in tx ${txHash}.`, "ok");
  } catch (error) {
    const failure = claimFailure(error);
    if (failure.code === "REJECTED") say("REJECTED", "You rejected the claim in your wallet: nothing was sent.", "warn");
    else say("ERROR", `The claim failed: ${(failure.details?.revert as string | undefined) ?? failure.message}`, "error");
  }
}
