/**
 * The contributor's side of a reward claim, part 2: send `claim(account, cumulative, proof)` or the
 * relayed `claimWithSignature` with a viem WalletClient (a local key in the CLI, an EIP-1193 wallet
 * in the browser), wait for it, and decode failures to a {@link ClaimError}. No node built-ins.
 *
 * @module
 */
import {
  encodeFunctionData,
  getAddress,
  parseEventLogs,
  type Account,
  type Address,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { rewardDistributorAbi } from "../chain/abis.js";
import type { TxFees } from "../chain/fee-model.js";
import { revertName } from "../chain/rpc.js";
import { rewardDomain, signClaim } from "../core/reward.js";
import { checkClaimProof, ClaimError, type ClaimProof } from "./proof.js";

/** A relayed claim signed by the beneficiary, ready for anyone to submit. */
export interface SignedClaim {
  account: Address;
  /** The token claimed (docs/MARKET.md §5). */
  token: Address;
  cumulative: string;
  proof: Hex[];
  recipient: Address;
  nonce: string;
  deadline: string;
  signature: Hex;
  distributor: Address;
  chainId: number;
}

/** A mined claim: its transaction, receipt and the amount its `Claimed` event paid. */
export interface SentClaim {
  txHash: Hex;
  receipt: TransactionReceipt;
  /** What the first `Claimed` event paid (the only one of a single-token claim). */
  paid: bigint;
  /** What the `Claimed` events paid, per token (checksummed address). */
  paidByToken: Record<Address, bigint>;
}

/** Whether an error (anywhere in its cause chain) is the user rejecting a wallet request (EIP-1193 4001). */
export function isUserRejection(error: unknown): boolean {
  let e = error as { code?: unknown; name?: unknown; cause?: unknown } | undefined;
  for (let i = 0; e && i < 10; i++, e = e.cause as typeof e) if (e.code === 4001 || e.name === "UserRejectedRequestError") return true;
  return false;
}

/**
 * Names a failed claim: REJECTED (the wallet's user said no), the ClaimError itself, or CLAIM_FAILED
 * with the contract error's name in `details.revert` (e.g. RewardDistributorNothingToClaim) and the
 * original error as `cause`.
 *
 * @example claimFailure(new Error("socket hang up")).code; // "CLAIM_FAILED"
 */
export function claimFailure(error: unknown, failure = "claim failed"): ClaimError {
  if (error instanceof ClaimError) return error;
  if (isUserRejection(error)) return new ClaimError("REJECTED", "the wallet's user rejected the request", undefined, error);
  const revert = revertName(error);
  return new ClaimError(
    "CLAIM_FAILED",
    `${failure}: ${revert ?? (error as Error).message}`,
    revert === undefined ? undefined : { revert },
    error,
  );
}

type Call =
  | { functionName: "claim"; args: readonly [Address, Address, bigint, readonly Hex[]] }
  | { functionName: "claimWithSignature"; args: readonly [Address, Address, bigint, readonly Hex[], Address, bigint, Hex] }
  | { functionName: "multicall"; args: readonly [readonly Hex[]] };

/** Simulates (so a revert is named), writes through the wallet, waits for the receipt. */
async function sendCall(input: {
  client: PublicClient;
  wallet: WalletClient;
  account: Account | Address;
  distributor: Address;
  call: Call;
  failure: string;
  onSent?: (txHash: Hex) => void;
  /** The fee fields from the chain's fee model (`currentFees`); default: the wallet's own pricing. */
  fees?: TxFees;
}): Promise<SentClaim> {
  const { client, wallet, account, distributor, call } = input;
  try {
    const { request } = await client.simulateContract({ account, address: distributor, abi: rewardDistributorAbi, ...call } as Parameters<
      PublicClient["simulateContract"]
    >[0]);
    // The full ABI, not the simulation's one-function one: a revert at gas estimation decodes to its name.
    const txHash = await wallet.writeContract({
      ...request,
      abi: rewardDistributorAbi,
      account,
      chain: wallet.chain ?? null,
      ...input.fees,
    } as Parameters<WalletClient["writeContract"]>[0]);
    input.onSent?.(txHash);
    const receipt = await client.waitForTransactionReceipt({ hash: txHash });
    if (receipt.status !== "success") throw new ClaimError("CLAIM_REVERTED", `claim transaction ${txHash} reverted`, { txHash });
    const events = parseEventLogs({ abi: rewardDistributorAbi, logs: receipt.logs, eventName: "Claimed" });
    const paidByToken: Record<Address, bigint> = {};
    for (const e of events) paidByToken[e.args.token] = (paidByToken[e.args.token] ?? 0n) + e.args.amount;
    return { txHash, receipt, paid: events[0]?.args.amount ?? 0n, paidByToken };
  } catch (error) {
    throw claimFailure(error, input.failure);
  }
}

/**
 * Sends `claim(account, cumulative, proof)` from the wallet's account, which must be the proof's
 * account (the distributor lets only the account claim for itself; others use a signed relayed claim).
 *
 * @throws {ClaimError} WRONG_ACCOUNT, REJECTED, CLAIM_REVERTED, CLAIM_FAILED
 * @example const { txHash, paid } = await sendClaim({ client, wallet, account: wallet.account!, proof });
 */
export async function sendClaim(input: {
  client: PublicClient;
  wallet: WalletClient;
  account: Account | Address;
  proof: ClaimProof;
  onSent?: (txHash: Hex) => void;
  fees?: TxFees;
}): Promise<SentClaim> {
  const { proof } = input;
  const sender = typeof input.account === "string" ? input.account : input.account.address;
  if (sender.toLowerCase() !== proof.account.toLowerCase())
    throw new ClaimError(
      "WRONG_ACCOUNT",
      `only ${proof.account} can claim its reward directly (the sender is ${sender}); use a signed relayed claim`,
      {
        account: proof.account,
        sender,
      },
    );
  return sendCall({
    ...input,
    distributor: proof.distributor,
    call: { functionName: "claim", args: [proof.account, proof.token, BigInt(proof.cumulative), proof.proof] },
    failure: "claim failed",
  });
}

/**
 * Claims every token of `proofs` (one account's, e.g. the reward token and a settlement token, from
 * `fetchClaimProofs`) in one transaction: the distributor's `multicall` of one `claim` per token that has
 * something to pay; a single `claim` when only one has. Each proof is checked first (chain, distributor, current
 * root, Merkle path); tokens already fully claimed are left out.
 *
 * @throws {ClaimError} NO_ENTITLEMENT (no proof), MIXED_ACCOUNTS / WRONG_DISTRIBUTOR (proofs of different accounts or
 *   distributors), WRONG_ACCOUNT, NOTHING_TO_CLAIM (in every token), any of {@link checkClaimProof}'s, REJECTED,
 *   CLAIM_REVERTED, CLAIM_FAILED
 * @example const { txHash, paidByToken } = await sendClaims({ client, wallet, account: wallet.account!, proofs });
 */
export async function sendClaims(input: {
  client: PublicClient;
  wallet: WalletClient;
  account: Account | Address;
  proofs: readonly ClaimProof[];
  onSent?: (txHash: Hex) => void;
  fees?: TxFees;
}): Promise<SentClaim & { claimed: { token: Address; amount: bigint }[] }> {
  const { proofs } = input;
  if (proofs.length === 0) throw new ClaimError("NO_ENTITLEMENT", "no proof to claim");
  const [first] = proofs;
  for (const p of proofs) {
    if (getAddress(p.account) !== getAddress(first.account))
      throw new ClaimError("MIXED_ACCOUNTS", `the proofs are for ${first.account} and ${p.account}: claim one account at a time`);
    if (getAddress(p.distributor) !== getAddress(first.distributor) || p.chainId !== first.chainId)
      throw new ClaimError("WRONG_DISTRIBUTOR", `the proofs name distributors ${first.distributor} and ${p.distributor}`);
  }
  const due: { proof: ClaimProof; amount: bigint }[] = [];
  for (const proof of proofs) {
    try {
      due.push({ proof, amount: await checkClaimProof(input.client, proof) });
    } catch (error) {
      if (!(error instanceof ClaimError && error.code === "NOTHING_TO_CLAIM")) throw error;
    }
  }
  if (due.length === 0)
    throw new ClaimError("NOTHING_TO_CLAIM", `account ${first.account} already claimed everything in every token`, {
      tokens: proofs.map((p) => p.token),
    });
  const claimed = due.map(({ proof, amount }) => ({ token: getAddress(proof.token), amount }));
  if (due.length === 1) return { ...(await sendClaim({ ...input, proof: due[0].proof })), claimed };
  const sender = typeof input.account === "string" ? input.account : input.account.address;
  if (getAddress(sender) !== getAddress(first.account))
    throw new ClaimError("WRONG_ACCOUNT", `only ${first.account} can claim its rewards directly (the sender is ${sender})`, {
      account: first.account,
      sender,
    });
  const calls = due.map(({ proof }) =>
    encodeFunctionData({
      abi: rewardDistributorAbi,
      functionName: "claim",
      args: [proof.account, proof.token, BigInt(proof.cumulative), proof.proof],
    }),
  );
  const sent = await sendCall({
    ...input,
    distributor: first.distributor,
    call: { functionName: "multicall", args: [calls] },
    failure: "claim of several tokens failed",
  });
  return { ...sent, claimed };
}

/**
 * Sends a signed relayed claim from the wallet's account: `claimWithSignature`, the recipient is paid.
 *
 * @throws {ClaimError}
 * @example const { txHash } = await sendRelayedClaim({ client, wallet, account: wallet.account!, signed });
 */
export async function sendRelayedClaim(input: {
  client: PublicClient;
  wallet: WalletClient;
  account: Account | Address;
  signed: SignedClaim;
  onSent?: (txHash: Hex) => void;
  fees?: TxFees;
}): Promise<SentClaim> {
  const { signed } = input;
  return sendCall({
    ...input,
    distributor: signed.distributor,
    call: {
      functionName: "claimWithSignature",
      args: [
        signed.account,
        signed.token,
        BigInt(signed.cumulative),
        signed.proof,
        signed.recipient,
        BigInt(signed.deadline),
        signed.signature,
      ],
    },
    failure: "relayed claim failed",
  });
}

/**
 * Checks the proof, then signs a relayed claim with the beneficiary's key (nonce read from the distributor).
 *
 * @throws {ClaimError} WRONG_KEY, or any of {@link checkClaimProof}'s
 * @example const signed = await signRelayedClaim({ client, beneficiaryKey, proof, recipient, deadlineSeconds: 3600 });
 */
export async function signRelayedClaim(input: {
  client: PublicClient;
  beneficiaryKey: Hex;
  proof: ClaimProof;
  recipient: Address;
  deadlineSeconds: number;
}): Promise<SignedClaim> {
  const { client, beneficiaryKey, proof, recipient } = input;
  const signer = privateKeyToAccount(beneficiaryKey).address;
  if (signer.toLowerCase() !== proof.account.toLowerCase())
    throw new ClaimError("WRONG_KEY", `the beneficiary key is ${signer}'s, not ${proof.account}'s`);
  await checkClaimProof(client, proof);
  const nonce = await client.readContract({
    address: proof.distributor,
    abi: rewardDistributorAbi,
    functionName: "nonces",
    args: [proof.account],
  });
  const deadline = BigInt(Math.floor(Date.now() / 1000) + input.deadlineSeconds);
  const cumulative = BigInt(proof.cumulative);
  const signature = signClaim(beneficiaryKey, rewardDomain(proof.chainId, proof.distributor), {
    account: proof.account,
    token: proof.token,
    cumulative,
    recipient,
    nonce,
    deadline,
  });
  return {
    account: proof.account,
    token: proof.token,
    cumulative: proof.cumulative,
    proof: proof.proof,
    recipient,
    nonce: nonce.toString(),
    deadline: deadline.toString(),
    signature,
    distributor: proof.distributor,
    chainId: proof.chainId,
  };
}

/**
 * Checks a signed claim against the distributor's current root (a signed claim carries no epoch) and
 * answers what submitting it would pay.
 *
 * @throws {ClaimError}
 * @example const amount = await checkSignedClaim(client, signed);
 */
export async function checkSignedClaim(client: PublicClient, signed: SignedClaim): Promise<bigint> {
  const root = await client.readContract({ address: signed.distributor, abi: rewardDistributorAbi, functionName: "currentRoot" });
  return checkClaimProof(client, { ...signed, epoch: 0, root });
}
