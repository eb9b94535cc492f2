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
  parseEventLogs,
  type Address,
  type Chain,
  type EIP1193Provider,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";

import { rewardDistributorAbi, rewardTokenAbi } from "../../chain/abis.js";
import { api, formatAmount, short } from "./common.js";

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

interface ClaimAnswer {
  account: Address;
  cumulative: string;
  proof: Hex[];
  epoch: number | string;
  root: Hex;
  distributor: Address;
  chainId: number;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let reward: RewardConfig;
let chain: Chain;
let publicClient: PublicClient;
let wallet: WalletClient | undefined;
let account: Address | undefined;
let entitlement: ClaimAnswer | undefined;
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

/** Whether an error (anywhere in its cause chain) is the user rejecting the wallet request (EIP-1193 4001). */
function rejected(error: unknown): boolean {
  let e: any = error;
  for (let i = 0; e && i < 10; i++, e = e.cause) if (e.code === 4001 || e.name === "UserRejectedRequestError") return true;
  return false;
}

function errorCode(error: unknown): number | undefined {
  let e: any = error;
  for (let i = 0; e && i < 10; i++, e = e.cause) if (typeof e.code === "number") return e.code;
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
  const answer = await api<ClaimAnswer>(`/api/claims/${account}`);
  entitlement = undefined;
  if (answer.ok) entitlement = answer.body;
  else if (answer.status !== 404) {
    set("entitled", "unavailable");
    say("ORACLE_UNAVAILABLE", `The oracle service is ${answer.code === "NOT_CONFIGURED" ? "not configured" : "not reachable"}: ${answer.message}`, "error");
    buttons();
    return;
  }

  // Claimed and balance from the distributor and token (reward chain RPC).
  let claimed: bigint;
  let balance: bigint | undefined;
  try {
    claimed = await publicClient.readContract({ address: reward.distributor, abi: rewardDistributorAbi, functionName: "claimed", args: [account] });
    if (reward.token !== null)
      balance = await publicClient.readContract({ address: reward.token.address, abi: rewardTokenAbi, functionName: "balanceOf", args: [account] });
  } catch (error) {
    say("REWARD_CHAIN_UNAVAILABLE", `The reward chain does not answer at ${reward.rpcUrl}: ${shortMessage(error)}`, "error");
    buttons();
    return;
  }
  const cumulative = entitlement === undefined ? 0n : BigInt(entitlement.cumulative);
  claimable = cumulative > claimed ? cumulative - claimed : 0n;
  set("entitled", entitlement === undefined ? "none" : amount(cumulative), entitlement === undefined ? "" : `epoch ${entitlement.epoch}, root ${entitlement.root}`);
  set("claimed", amount(claimed));
  set("claimable", amount(claimable));
  set("balance", balance === undefined ? "—" : amount(balance));
  $("claimable").dataset.value = claimable.toString();
  $("balance").dataset.value = balance?.toString() ?? "";

  if (entitlement === undefined) say("NO_ENTITLEMENT", "This account has no rewards yet: nothing to claim.", "info");
  else if (entitlement.distributor.toLowerCase() !== reward.distributor.toLowerCase() || Number(entitlement.chainId) !== chain.id)
    say("ERROR", `The oracle's proof is for distributor ${entitlement.distributor} on chain ${entitlement.chainId}, not this page's.`, "error");
  else if (claimable === 0n) say("NOTHING_TO_CLAIM", `Nothing to claim: all ${amount(cumulative)} already claimed.`, "info");
  else if (onChain !== chain.id)
    say("WRONG_CHAIN", `Your wallet is on ${onChain === undefined ? "an unknown chain" : `chain ${onChain}`}; rewards are on chain ${chain.id}. Switch network to claim.`, "warn");
  else {
    canClaim = true;
    say("READY", `${amount(claimable)} to claim.`, "ok");
  }
  buttons();
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
    const hash = await wallet!.writeContract({
      account,
      chain,
      address: reward.distributor,
      abi: rewardDistributorAbi,
      functionName: "claim",
      args: [account, BigInt(entitlement.cumulative), entitlement.proof],
    });
    set("tx", hash);
    $("tx").dataset.hash = hash;
    say("PENDING", `Claim sent (tx ${short(hash, 10, 8)}), waiting for it to be mined…`);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`the claim transaction ${hash} reverted`);
    const [event] = parseEventLogs({ abi: rewardDistributorAbi, logs: receipt.logs, eventName: "Claimed" });
    busy = false;
    await refresh();
    say("CLAIMED", `Claimed ${amount(event?.args.amount ?? 0n)} in tx ${hash} (block ${receipt.blockNumber}). New balance: ${$("balance").textContent}.`, "ok");
  } catch (error) {
    busy = false;
    const revert = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
    const name = revert instanceof ContractFunctionRevertedError ? revert.data?.errorName : undefined;
    if (rejected(error)) say("REJECTED", "You rejected the claim in your wallet: nothing was sent.", "warn");
    else if (name === "RewardDistributorNothingToClaim") say("NOTHING_TO_CLAIM", "Nothing to claim: this entitlement is already paid out.", "info");
    else if (name === "RewardDistributorInvalidProof") say("ERROR", "The distributor refused the proof: a newer root was posted. Reload the page to get the current proof.", "error");
    else say("ERROR", `The claim failed: ${name ?? shortMessage(error)}`, "error");
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
