/**
 * Claiming rewards: fetch an account's proof from an oracle, check it against the distributor's
 * current root, and claim directly (`claim`, anyone pays the gas, the account is paid) or relayed
 * (`claimWithSignature`: the beneficiary signs, anyone submits, the named recipient is paid).
 * `scripts/claim.ts` is the CLI over {@link claimCli}.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

import {
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  isAddress,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { rewardDistributorAbi } from "../chain/abis.js";
import { revertName, rpcChain } from "../chain/rpc.js";
import { SensorSealError } from "../core/errors.js";
import { rewardDomain, signClaim, verifyRewardProof } from "../core/reward.js";

/** What `GET /v1/claims/:account` answers. */
export interface ClaimProof {
  account: Address;
  cumulative: string;
  proof: Hex[];
  epoch: number;
  root: Hex;
  distributor: Address;
  chainId: number;
}

/** A relayed claim signed by the beneficiary, ready for anyone to submit. */
export interface SignedClaim {
  account: Address;
  cumulative: string;
  proof: Hex[];
  recipient: Address;
  nonce: string;
  deadline: string;
  signature: Hex;
  distributor: Address;
  chainId: number;
}

/** A claim cannot be made; `code` says why (NO_ENTITLEMENT, ORACLE_UNREACHABLE, STALE_PROOF, NOTHING_TO_CLAIM, …). */
export class ClaimError extends SensorSealError {
  override name = "ClaimError" as const;
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? {} : { details });
  }
}

/**
 * Asks each oracle in turn for the account's proof; the first answer wins.
 *
 * @throws {ClaimError} NO_ENTITLEMENT when the oracles know no entitlement, ORACLE_UNREACHABLE when none answers.
 * @example const proof = await fetchClaimProof(["http://127.0.0.1:8548"], "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
 */
export async function fetchClaimProof(oracleUrls: readonly string[], account: Address): Promise<ClaimProof> {
  let noEntitlement = false;
  const failures: string[] = [];
  for (const base of oracleUrls) {
    const url = `${base.replace(/\/+$/, "")}/v1/claims/${account}`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (res.status === 200) return (await res.json()) as ClaimProof;
      const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
      if (res.status === 404 && body?.error?.code === "NO_ENTITLEMENT") noEntitlement = true;
      else failures.push(`${base}: HTTP ${res.status} ${body?.error?.message ?? ""}`.trim());
    } catch (error) {
      failures.push(`${base}: ${(error as Error).message}`);
    }
  }
  if (noEntitlement) throw new ClaimError("NO_ENTITLEMENT", `account ${account} has no reward entitlement (no posted root includes it)`, { account });
  throw new ClaimError("ORACLE_UNREACHABLE", `no oracle answered: ${failures.join("; ")}`);
}

/**
 * Checks a proof against the chain: same chain and distributor, the distributor's current root, a
 * valid Merkle proof, and something left to claim. Answers the amount a claim would pay.
 *
 * @throws {ClaimError}
 * @example const amount = await checkClaimProof(publicClient, proof); // 4000000000000000000n
 */
export async function checkClaimProof(client: PublicClient, proof: ClaimProof, distributor?: Address): Promise<bigint> {
  const chainId = await client.getChainId();
  if (chainId !== proof.chainId) throw new ClaimError("WRONG_CHAIN", `the oracle's proof is for chain ${proof.chainId}, the RPC serves chain ${chainId}`);
  if (distributor !== undefined && getAddress(distributor) !== getAddress(proof.distributor))
    throw new ClaimError("WRONG_DISTRIBUTOR", `the oracle's proof is for distributor ${proof.distributor}, not ${distributor}`);
  const cumulative = BigInt(proof.cumulative);
  const current = await client.readContract({ address: proof.distributor, abi: rewardDistributorAbi, functionName: "currentRoot" });
  if (current.toLowerCase() !== proof.root.toLowerCase())
    throw new ClaimError("STALE_PROOF", `the oracle's root (epoch ${proof.epoch}, ${proof.root}) is not the distributor's current root ${current}: the oracle is behind or disagrees; try another oracle`);
  if (!verifyRewardProof(proof.root, proof.account, cumulative, proof.proof))
    throw new ClaimError("INVALID_PROOF", `the oracle's proof for ${proof.account} does not lead to root ${proof.root}`);
  const claimed = await client.readContract({ address: proof.distributor, abi: rewardDistributorAbi, functionName: "claimed", args: [proof.account] });
  if (claimed >= cumulative) throw new ClaimError("NOTHING_TO_CLAIM", `account ${proof.account} already claimed ${claimed} of ${cumulative}: nothing to claim`);
  return cumulative - claimed;
}

function rewardClient(chainId: number, rpcUrl: string): PublicClient {
  return createPublicClient({ chain: rpcChain(chainId, "reward", rpcUrl), transport: http(rpcUrl) }) as PublicClient;
}

/**
 * Sends a claim transaction (`send` simulates it first, so a revert is named, then writes it) and
 * waits for it to succeed.
 *
 * @throws {ClaimError} CLAIM_REVERTED, or CLAIM_FAILED with `failure` and the revert's name.
 */
async function sendClaim(client: PublicClient, failure: string, send: () => Promise<Hex>): Promise<Hex> {
  try {
    const txHash = await send();
    const receipt = await client.waitForTransactionReceipt({ hash: txHash });
    if (receipt.status !== "success") throw new ClaimError("CLAIM_REVERTED", `claim transaction ${txHash} reverted`);
    return txHash;
  } catch (error) {
    if (error instanceof ClaimError) throw error;
    throw new ClaimError("CLAIM_FAILED", `${failure}: ${revertName(error) ?? (error as Error).message}`);
  }
}

/**
 * Sends `claim(account, cumulative, proof)` from `senderKey` (anyone may; the account is paid).
 *
 * @throws {ClaimError}
 * @example const { txHash, amount } = await claimDirect({ rpcUrl, senderKey, proof });
 */
export async function claimDirect(input: { rpcUrl: string; senderKey: Hex; proof: ClaimProof }): Promise<{ txHash: Hex; amount: bigint }> {
  const { rpcUrl, senderKey, proof } = input;
  const client = rewardClient(proof.chainId, rpcUrl);
  const amount = await checkClaimProof(client, proof);
  const wallet = createWalletClient({ account: privateKeyToAccount(senderKey), chain: client.chain, transport: http(rpcUrl) });
  const txHash = await sendClaim(client, "claim failed", async () => {
    const { request } = await client.simulateContract({
      account: wallet.account,
      address: proof.distributor,
      abi: rewardDistributorAbi,
      functionName: "claim",
      args: [proof.account, BigInt(proof.cumulative), proof.proof],
    });
    return wallet.writeContract(request);
  });
  return { txHash, amount };
}

/**
 * Signs a relayed claim with the beneficiary's key (nonce read from the distributor).
 *
 * @example const signed = await signRelayedClaim({ rpcUrl, beneficiaryKey, proof, recipient, deadlineSeconds: 3600 });
 */
export async function signRelayedClaim(input: {
  rpcUrl: string;
  beneficiaryKey: Hex;
  proof: ClaimProof;
  recipient: Address;
  deadlineSeconds: number;
}): Promise<SignedClaim> {
  const { rpcUrl, beneficiaryKey, proof, recipient } = input;
  const signer = privateKeyToAccount(beneficiaryKey).address;
  if (signer !== getAddress(proof.account)) throw new ClaimError("WRONG_KEY", `the beneficiary key is ${signer}'s, not ${proof.account}'s`);
  const client = rewardClient(proof.chainId, rpcUrl);
  await checkClaimProof(client, proof);
  const nonce = await client.readContract({ address: proof.distributor, abi: rewardDistributorAbi, functionName: "nonces", args: [proof.account] });
  const deadline = BigInt(Math.floor(Date.now() / 1000) + input.deadlineSeconds);
  const cumulative = BigInt(proof.cumulative);
  const signature = signClaim(beneficiaryKey, rewardDomain(proof.chainId, proof.distributor), { account: proof.account, cumulative, recipient, nonce, deadline });
  return { account: proof.account, cumulative: proof.cumulative, proof: proof.proof, recipient, nonce: nonce.toString(), deadline: deadline.toString(), signature, distributor: proof.distributor, chainId: proof.chainId };
}

/**
 * Submits a signed relayed claim from `senderKey`: `claimWithSignature`, the recipient is paid.
 *
 * @throws {ClaimError}
 * @example const { txHash } = await submitRelayedClaim({ rpcUrl, senderKey, signed });
 */
export async function submitRelayedClaim(input: { rpcUrl: string; senderKey: Hex; signed: SignedClaim }): Promise<{ txHash: Hex; amount: bigint }> {
  const { rpcUrl, senderKey, signed } = input;
  const client = rewardClient(signed.chainId, rpcUrl);
  const amount = await checkClaimProof(client, { ...signed, epoch: 0, root: await client.readContract({ address: signed.distributor, abi: rewardDistributorAbi, functionName: "currentRoot" }) });
  const wallet = createWalletClient({ account: privateKeyToAccount(senderKey), chain: client.chain, transport: http(rpcUrl) });
  const txHash = await sendClaim(client, "relayed claim failed", async () => {
    const { request } = await client.simulateContract({
      account: wallet.account,
      address: signed.distributor,
      abi: rewardDistributorAbi,
      functionName: "claimWithSignature",
      args: [signed.account, BigInt(signed.cumulative), signed.proof, signed.recipient, BigInt(signed.deadline), signed.signature],
    });
    return wallet.writeContract(request);
  });
  return { txHash, amount };
}

const USAGE = `usage: claim [--oracle URL]... [--rpc URL] [--account 0x…] [--relayed [--recipient 0x…]] [--sign-only] [--submit FILE]
  --oracle URL       an oracle's base URL (repeat, or ORACLE_URLS=comma list; default http://127.0.0.1:8548)
  --rpc URL          the reward chain (REWARD_RPC_URL; default http://127.0.0.1:8546)
  --account 0x…      whose entitlement (default: the address of BENEFICIARY_PRIVATE_KEY)
  (default)          claim(account, …) sent from CLAIM_SENDER_PRIVATE_KEY (else BENEFICIARY_PRIVATE_KEY); the account is paid
  --relayed          BENEFICIARY_PRIVATE_KEY signs, CLAIM_SENDER_PRIVATE_KEY submits claimWithSignature; --recipient is paid (default the account)
  --sign-only        with --relayed: print the signed claim JSON instead of submitting it
  --submit FILE      submit a signed claim JSON (from --sign-only) with CLAIM_SENDER_PRIVATE_KEY
  --deadline-seconds N  validity of a signed claim (default 3600)`;

const KEY = /^0x[0-9a-fA-F]{64}$/;

/**
 * The claim CLI: answers the exit code (0 paid or signed, 1 the claim cannot be made, 2 usage),
 * printing results to `out` and errors to `err`.
 *
 * @example
 * process.exitCode = await claimCli(process.argv.slice(2), process.env);
 */
export async function claimCli(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (line: string) => void = (l) => console.log(l),
  err: (line: string) => void = (l) => console.error(l),
): Promise<number> {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        oracle: { type: "string", multiple: true },
        rpc: { type: "string" },
        account: { type: "string" },
        recipient: { type: "string" },
        relayed: { type: "boolean" },
        "sign-only": { type: "boolean" },
        submit: { type: "string" },
        "deadline-seconds": { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
    }).values;
  } catch (error) {
    err(`claim: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const usage = (message: string) => {
    err(`claim: ${message}\n${USAGE}`);
    return 2;
  };
  const rpcUrl = (values.rpc as string | undefined) ?? env.REWARD_RPC_URL ?? "http://127.0.0.1:8546";
  const oracles = (values.oracle as string[] | undefined) ?? (env.ORACLE_URLS ?? "http://127.0.0.1:8548").split(",").map((s) => s.trim()).filter(Boolean);
  const beneficiaryKey = env.BENEFICIARY_PRIVATE_KEY;
  const senderKey = env.CLAIM_SENDER_PRIVATE_KEY ?? beneficiaryKey;
  if (beneficiaryKey !== undefined && !KEY.test(beneficiaryKey)) return usage("BENEFICIARY_PRIVATE_KEY must be a 32-byte 0x hex key");
  if (senderKey !== undefined && !KEY.test(senderKey)) return usage("CLAIM_SENDER_PRIVATE_KEY must be a 32-byte 0x hex key");
  const deadlineSeconds = Number((values["deadline-seconds"] as string | undefined) ?? "3600");
  if (!Number.isSafeInteger(deadlineSeconds) || deadlineSeconds <= 0) return usage("--deadline-seconds must be a positive integer");
  try {
    if (values.submit !== undefined) {
      if (senderKey === undefined) return usage("--submit needs CLAIM_SENDER_PRIVATE_KEY");
      const signed = JSON.parse(await readFile(values.submit as string, "utf8")) as SignedClaim;
      const { txHash, amount } = await submitRelayedClaim({ rpcUrl, senderKey: senderKey as Hex, signed });
      out(JSON.stringify({ status: "claimed", account: signed.account, recipient: signed.recipient, amount: amount.toString(), txHash }));
      return 0;
    }
    const accountText = (values.account as string | undefined) ?? (beneficiaryKey === undefined ? undefined : privateKeyToAccount(beneficiaryKey as Hex).address);
    if (accountText === undefined) return usage("give --account or BENEFICIARY_PRIVATE_KEY");
    if (!isAddress(accountText, { strict: false })) return usage(`--account ${accountText} is not an address`);
    const account = getAddress(accountText);
    const proof = await fetchClaimProof(oracles, account);
    if (values.relayed) {
      if (beneficiaryKey === undefined) return usage("--relayed needs BENEFICIARY_PRIVATE_KEY (the account signs its claim)");
      const recipientText = (values.recipient as string | undefined) ?? account;
      if (!isAddress(recipientText, { strict: false })) return usage(`--recipient ${recipientText} is not an address`);
      const signed = await signRelayedClaim({ rpcUrl, beneficiaryKey: beneficiaryKey as Hex, proof, recipient: getAddress(recipientText), deadlineSeconds });
      if (values["sign-only"]) {
        out(JSON.stringify(signed));
        return 0;
      }
      if (senderKey === undefined) return usage("--relayed needs CLAIM_SENDER_PRIVATE_KEY");
      const { txHash, amount } = await submitRelayedClaim({ rpcUrl, senderKey: senderKey as Hex, signed });
      out(JSON.stringify({ status: "claimed", account, recipient: signed.recipient, amount: amount.toString(), epoch: proof.epoch, txHash }));
      return 0;
    }
    if (senderKey === undefined) return usage("a direct claim needs CLAIM_SENDER_PRIVATE_KEY or BENEFICIARY_PRIVATE_KEY (who pays the gas)");
    const { txHash, amount } = await claimDirect({ rpcUrl, senderKey: senderKey as Hex, proof });
    out(JSON.stringify({ status: "claimed", account, recipient: account, amount: amount.toString(), epoch: proof.epoch, txHash }));
    return 0;
  } catch (error) {
    if (error instanceof ClaimError) {
      err(`claim: ${error.code}: ${error.message}`);
      return 1;
    }
    err(`claim: ${(error as Error).message}`);
    return 1;
  }
}
