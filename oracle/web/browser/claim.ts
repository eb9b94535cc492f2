/// <reference lib="dom" />
/**
 * The claim page: connect an EIP-1193 wallet (window.ethereum) with viem, show the account's
 * entitlement (the oracle's claim proof through /api/claims) and what the distributor says is
 * already claimed, ask the wallet for the reward chain, and claim `claim(account, cumulative, proof)`.
 *
 * The message line (`#message`) carries a machine-readable `data-code`: LOADING, NOT_CONFIGURED,
 * NO_WALLET, CONNECT, WRONG_CHAIN, NO_ENTITLEMENT, NOTHING_TO_CLAIM, READY, PENDING, CLAIMED,
 * REJECTED, ORACLE_UNAVAILABLE, REWARD_CHAIN_UNAVAILABLE, ERROR.
 *
 * The claim flow itself (proof, checks, sending, revert decoding) is oracle/claim, shared with the
 * claim CLI; this file is the DOM and EIP-1193 glue.
 *
 * @module
 */
import {
  BaseError,
  createPublicClient,
  createWalletClient,
  custom,
  defineChain,
  http,
  type Address,
  type Chain,
  type EIP1193Provider,
  type PublicClient,
  type WalletClient,
} from "viem";

import { rewardTokenAbi } from "../../chain/abis.js";
import { checkClaimTarget, ClaimError, fetchClaimProof, readClaimed, type ClaimProof, type ClaimSourceFailure } from "../../claim/proof.js";
import { claimFailure, isUserRejection, sendClaim } from "../../claim/send.js";
import { api, formatAmount, short } from "./common.js";
import { showEarnings } from "./earnings.js";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

interface RewardConfig {
  rpcUrl: string;
  chainId: number;
  distributor: Address;
  reachable: boolean;
  error?: string;
  token: { address: Address; symbol?: string; decimals?: number } | null;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let reward: RewardConfig;
let chain: Chain;
let publicClient: PublicClient;
let wallet: WalletClient | undefined;
let account: Address | undefined;
let entitlement: ClaimProof | undefined;
let claimable = 0n;
let busy = false;
/** Set by refresh: an entitlement with something left to claim, the wallet on the reward chain. */
let canClaim = false;

const symbol = () => reward.token?.symbol ?? "tokens";
const amount = (v: bigint) => `${formatAmount(v, reward.token?.decimals ?? 18)} ${symbol()}`;

function say(code: string, text: string, kind: "info" | "ok" | "warn" | "error" = "info"): void {
  const m = $("message");
  m.dataset.code = code;
  m.dataset.kind = kind;
  m.textContent = text;
}

function set(id: string, text: string, title?: string): void {
  const node = $(id);
  node.textContent = text;
  if (title !== undefined) node.title = title;
}

const rejected = isUserRejection;

function errorCode(error: unknown): number | undefined {
  let e = error as { code?: unknown; cause?: unknown } | undefined;
  for (let i = 0; e && i < 10; i++, e = e.cause as typeof e) if (typeof e.code === "number") return e.code;
  return undefined;
}

function shortMessage(error: unknown): string {
  return error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error);
}

function buttons(): void {
  $<HTMLButtonElement>("connect").hidden = account !== undefined || wallet === undefined;
  $<HTMLButtonElement>("claim").disabled = busy || !canClaim;
}

async function walletChainId(): Promise<number> {
  return await wallet!.getChainId();
}

/** Whether the oracle's proof is for this page's chain and distributor. */
function forThisPage(proof: ClaimProof): boolean {
  try {
    checkClaimTarget(proof, { chainId: chain.id, distributor: reward.distributor });
    return true;
  } catch {
    return false;
  }
}

/** Reads everything for the connected account and says what can be done. */
async function refresh(): Promise<void> {
  canClaim = false;
  if (account === undefined) return;
  set("account", account);
  let onChain: number | undefined;
  try {
    onChain = await walletChainId();
  } catch {
    onChain = undefined;
  }
  set("network", onChain === undefined ? "unknown" : onChain === chain.id ? `reward chain (${chain.id})` : `chain ${onChain}`);
  $<HTMLButtonElement>("switch").hidden = onChain === chain.id;

  // Entitlement from the oracle (through the web service).
  entitlement = undefined;
  try {
    entitlement = await fetchClaimProof([""], account, { path: (a) => `/api/claims/${a}` });
  } catch (error) {
    if (!(error instanceof ClaimError) || error.code !== "NO_ENTITLEMENT") {
      const failure = (error as ClaimError).details?.failures as ClaimSourceFailure[] | undefined;
      const message = failure?.[0]?.message ?? shortMessage(error);
      set("entitled", "unavailable");
      say(
        "ORACLE_UNAVAILABLE",
        `The oracle service is ${failure?.[0]?.code === "NOT_CONFIGURED" ? "not configured" : "not reachable"}: ${message}`,
        "error",
      );
      buttons();
      return;
    }
  }

  // Claimed and balance from the distributor and token (reward chain RPC).
  let claimed: bigint;
  let balance: bigint | undefined;
  try {
    claimed = await readClaimed(publicClient, reward.distributor, account);
    if (reward.token !== null)
      balance = await publicClient.readContract({
        address: reward.token.address,
        abi: rewardTokenAbi,
        functionName: "balanceOf",
        args: [account],
      });
  } catch (error) {
    say("REWARD_CHAIN_UNAVAILABLE", `The reward chain does not answer at ${reward.rpcUrl}: ${shortMessage(error)}`, "error");
    buttons();
    return;
  }
  const cumulative = entitlement === undefined ? 0n : BigInt(entitlement.cumulative);
  claimable = cumulative > claimed ? cumulative - claimed : 0n;
  set(
    "entitled",
    entitlement === undefined ? "none" : amount(cumulative),
    entitlement === undefined ? "" : `epoch ${entitlement.epoch}, root ${entitlement.root}`,
  );
  set("claimed", amount(claimed));
  set("claimable", amount(claimable));
  set("balance", balance === undefined ? "—" : amount(balance));
  $("claimable").dataset.value = claimable.toString();
  $("balance").dataset.value = balance?.toString() ?? "";

  if (entitlement === undefined) say("NO_ENTITLEMENT", "This account has no rewards yet: nothing to claim.", "info");
  else if (!forThisPage(entitlement))
    say(
      "ERROR",
      `The oracle's proof is for distributor ${entitlement.distributor} on chain ${entitlement.chainId}, not this page's.`,
      "error",
    );
  else if (claimable === 0n) say("NOTHING_TO_CLAIM", `Nothing to claim: all ${amount(cumulative)} already claimed.`, "info");
  else if (onChain !== chain.id)
    say(
      "WRONG_CHAIN",
      `Your wallet is on ${onChain === undefined ? "an unknown chain" : `chain ${onChain}`}; rewards are on chain ${chain.id}. Switch network to claim.`,
      "warn",
    );
  else {
    canClaim = true;
    say("READY", `${amount(claimable)} to claim.`, "ok");
  }
  buttons();
  // Every token of the account (data-sale shares next to the reward token).
  await showEarnings({ client: publicClient, wallet: wallet!, account, chainId: chain.id }).catch(() => undefined);
}

async function connect(): Promise<void> {
  try {
    const [first] = await wallet!.requestAddresses();
    if (first === undefined) throw new Error("the wallet answered no account");
    account = first;
    await refresh();
  } catch (error) {
    if (rejected(error)) say("REJECTED", "You rejected the connection request in your wallet.", "warn");
    else say("ERROR", `Could not connect the wallet: ${shortMessage(error)}`, "error");
  }
  buttons();
}

async function switchChain(): Promise<void> {
  try {
    try {
      await wallet!.switchChain({ id: chain.id });
    } catch (error) {
      if (errorCode(error) !== 4902) throw error;
      await wallet!.addChain({ chain }); // unknown to the wallet: add it, then switch
      await wallet!.switchChain({ id: chain.id });
    }
    await refresh();
  } catch (error) {
    if (rejected(error)) say("REJECTED", "You rejected the network switch in your wallet.", "warn");
    else say("ERROR", `Could not switch network: ${shortMessage(error)}`, "error");
  }
  buttons();
}

async function claim(): Promise<void> {
  if (account === undefined || entitlement === undefined) return;
  busy = true;
  buttons();
  try {
    if ((await walletChainId()) !== chain.id) {
      await refresh();
      return;
    }
    say("PENDING", "Confirm the claim in your wallet…");
    const {
      txHash: hash,
      receipt,
      paid,
    } = await sendClaim({
      client: publicClient,
      wallet: wallet!,
      account,
      proof: entitlement,
      onSent: (hash) => {
        set("tx", hash);
        $("tx").dataset.hash = hash;
        say("PENDING", `Claim sent (tx ${short(hash, 10, 8)}), waiting for it to be mined…`);
      },
    });
    busy = false;
    await refresh();
    say("CLAIMED", `Claimed ${amount(paid)} in tx ${hash} (block ${receipt.blockNumber}). New balance: ${$("balance").textContent}.`, "ok");
  } catch (error) {
    busy = false;
    const failure = claimFailure(error);
    const revert = failure.details?.revert as string | undefined;
    if (failure.code === "REJECTED") say("REJECTED", "You rejected the claim in your wallet: nothing was sent.", "warn");
    else if (revert === "RewardDistributorNothingToClaim")
      say("NOTHING_TO_CLAIM", "Nothing to claim: this entitlement is already paid out.", "info");
    else if (revert === "RewardDistributorInvalidProof")
      say("ERROR", "The distributor refused the proof: a newer root was posted. Reload the page to get the current proof.", "error");
    else say("ERROR", `The claim failed: ${revert ?? shortMessage(failure.cause ?? failure)}`, "error");
  } finally {
    busy = false;
    buttons();
  }
}

async function main(): Promise<void> {
  say("LOADING", "Loading…");
  const config = await api<{ reward: RewardConfig | null }>("/api/config");
  if (!config.ok) return say("ERROR", `The web service does not answer: ${config.message}`, "error");
  if (config.body.reward === null) return say("NOT_CONFIGURED", "The reward chain is not configured on this server.", "error");
  reward = config.body.reward;
  chain = defineChain({
    id: reward.chainId,
    name: "SensorSeal reward chain",
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [reward.rpcUrl] } },
  });
  publicClient = createPublicClient({ chain, transport: http(reward.rpcUrl) }) as PublicClient;
  set("distributor", reward.distributor);
  set("chain", `${reward.chainId}`);
  if (!reward.reachable) say("REWARD_CHAIN_UNAVAILABLE", reward.error ?? "The reward chain does not answer.", "error");

  const provider = window.ethereum;
  if (provider === undefined) {
    say("NO_WALLET", "No browser wallet found. Install an Ethereum wallet extension (EIP-1193), then reload this page.", "error");
    buttons();
    return;
  }
  wallet = createWalletClient({ chain, transport: custom(provider) });
  provider.on?.("accountsChanged", (accounts: readonly Address[]) => {
    account = accounts[0];
    if (account === undefined) say("CONNECT", "Wallet disconnected. Connect it to see your rewards.");
    void refresh();
  });
  provider.on?.("chainChanged", () => void refresh());
  $("connect").addEventListener("click", () => void connect());
  $("switch").addEventListener("click", () => void switchChain());
  $("claim").addEventListener("click", () => void claim());

  const known = await wallet.getAddresses().catch(() => [] as Address[]);
  account = known[0];
  if (account === undefined) say("CONNECT", "Connect your wallet to see your rewards.");
  else await refresh();
  buttons();
}

void main();
