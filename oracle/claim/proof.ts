/**
 * The contributor's side of a reward claim, part 1: fetch the entitlement and its Merkle proof from
 * an oracle and check it against the distributor (current root, already claimed). Shared by the
 * claim CLI (./cli.ts) and the browser claim page (oracle/web/browser/claim.ts): no node built-ins.
 *
 * @module
 */
import { getAddress, type Address, type Hex, type PublicClient } from "viem";

import { rewardDistributorAbi } from "../chain/abis.js";
import { SensorSealError } from "../core/errors.js";
import { verifyRewardProof } from "../core/reward.js";

/** What `GET /v1/claims/:account` answers (the web service relays it as `GET /api/claims/:account`). */
export interface ClaimProof {
  account: Address;
  /** The token of the leaf (docs/MARKET.md §5): the reward token or a settlement token. */
  token: Address;
  cumulative: string;
  proof: Hex[];
  epoch: number;
  root: Hex;
  distributor: Address;
  chainId: number;
}

/** One oracle that did not answer a proof (in ORACLE_UNREACHABLE's `details.failures`). */
export interface ClaimSourceFailure {
  source: string;
  /** HTTP status, or 0 when the request itself failed. */
  status: number;
  /** The service's error code when it answered one. */
  code?: string;
  message: string;
}

/**
 * A claim cannot be made; `code` says why: NO_ENTITLEMENT, ORACLE_UNREACHABLE, WRONG_CHAIN,
 * WRONG_DISTRIBUTOR, STALE_PROOF, INVALID_PROOF, NOTHING_TO_CLAIM, WRONG_KEY, WRONG_ACCOUNT (a direct
 * claim sent by another account than the entitled one), REJECTED (the wallet's
 * user said no), CLAIM_REVERTED, CLAIM_FAILED (`details.revert`: the contract error's name).
 */
export class ClaimError extends SensorSealError {
  override name = "ClaimError" as const;
  constructor(code: string, message: string, details?: Record<string, unknown>, cause?: unknown) {
    super(code, message, { ...(details === undefined ? {} : { details }), ...(cause === undefined ? {} : { cause }) });
  }
}

/** Options of {@link fetchClaimProof}. */
export interface FetchClaimProofOptions {
  /** The route under each base URL (default `/v1/claims/<account>`, the oracle's own). */
  path?: (account: Address) => string;
  timeoutMs?: number;
}

/** One source's answer: the proof, "none" (404 NO_ENTITLEMENT) or why it failed. */
async function askSource(source: string, url: string, timeoutMs: number): Promise<ClaimProof | "none" | ClaimSourceFailure> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (res.status === 200) return (await res.json()) as ClaimProof;
    const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    if (res.status === 404 && body?.error?.code === "NO_ENTITLEMENT") return "none";
    return {
      source,
      status: res.status,
      ...(body?.error?.code === undefined ? {} : { code: body.error.code }),
      message: `HTTP ${res.status} ${body?.error?.message ?? ""}`.trim(),
    };
  } catch (error) {
    return { source, status: 0, message: (error as Error).message };
  }
}

/**
 * Asks each oracle in turn for the account's proof; the first answer wins.
 *
 * @throws {ClaimError} NO_ENTITLEMENT when the oracles know no entitlement, ORACLE_UNREACHABLE
 *   (`details.failures`: {@link ClaimSourceFailure}[]) when none answers.
 * @example const proof = await fetchClaimProof(["http://127.0.0.1:8548"], "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
 */
export async function fetchClaimProof(
  oracleUrls: readonly string[],
  account: Address,
  options: FetchClaimProofOptions = {},
): Promise<ClaimProof> {
  const path = options.path ?? ((a: Address) => `/v1/claims/${a}`);
  let noEntitlement = false;
  const failures: ClaimSourceFailure[] = [];
  for (const base of oracleUrls) {
    const answer = await askSource(base, `${base.replace(/\/+$/, "")}${path(account)}`, options.timeoutMs ?? 10_000);
    if (answer === "none") noEntitlement = true;
    else if ("proof" in answer) return answer;
    else failures.push(answer);
  }
  if (noEntitlement)
    throw new ClaimError("NO_ENTITLEMENT", `account ${account} has no reward entitlement (no posted root includes it)`, { account });
  throw new ClaimError("ORACLE_UNREACHABLE", `no oracle answered: ${failures.map((f) => `${f.source}: ${f.message}`).join("; ")}`, {
    failures,
  });
}

/** What `GET /v1/claims/:account/tokens` answers: the account's proof in every token of the newest posted root. */
export interface ClaimProofs {
  account: Address;
  epoch: number;
  root: Hex;
  distributor: Address;
  chainId: number;
  claims: ClaimProof[];
}

/**
 * Asks each oracle in turn for the account's proofs in every token (reward token and settlement tokens); the first
 * answer wins. An oracle without the per-token route (HTTP 404 without NO_ENTITLEMENT) is asked for its single
 * reward-token proof instead.
 *
 * @throws {ClaimError} NO_ENTITLEMENT, ORACLE_UNREACHABLE (as {@link fetchClaimProof})
 * @example const proofs = await fetchClaimProofs(["http://127.0.0.1:8548"], "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
 */
export async function fetchClaimProofs(
  oracleUrls: readonly string[],
  account: Address,
  options: { timeoutMs?: number } = {},
): Promise<ClaimProof[]> {
  let noEntitlement = false;
  const failures: ClaimSourceFailure[] = [];
  for (const base of oracleUrls) {
    const root = base.replace(/\/+$/, "");
    const timeoutMs = options.timeoutMs ?? 10_000;
    const answer = await askSource(base, `${root}/v1/claims/${account}/tokens`, timeoutMs);
    if (answer === "none") noEntitlement = true;
    else if ("claims" in answer) {
      const all = answer as unknown as ClaimProofs;
      if (all.claims.length === 0) noEntitlement = true;
      else return all.claims;
    } else if ("proof" in answer) return [answer];
    else if (answer.status === 404) {
      const single = await askSource(base, `${root}/v1/claims/${account}`, timeoutMs);
      if (single === "none") noEntitlement = true;
      else if ("proof" in single) return [single];
      else failures.push(single);
    } else failures.push(answer);
  }
  if (noEntitlement)
    throw new ClaimError("NO_ENTITLEMENT", `account ${account} has no reward entitlement (no posted root includes it)`, { account });
  throw new ClaimError("ORACLE_UNREACHABLE", `no oracle answered: ${failures.map((f) => `${f.source}: ${f.message}`).join("; ")}`, {
    failures,
  });
}

/**
 * Checks that a proof is for the given chain and distributor.
 *
 * @throws {ClaimError} WRONG_CHAIN, WRONG_DISTRIBUTOR
 * @example checkClaimTarget(proof, { chainId: 31338 });
 */
export function checkClaimTarget(proof: ClaimProof, target: { chainId: number; distributor?: Address }): void {
  if (Number(proof.chainId) !== target.chainId)
    throw new ClaimError("WRONG_CHAIN", `the oracle's proof is for chain ${proof.chainId}, the RPC serves chain ${target.chainId}`);
  if (target.distributor !== undefined && getAddress(target.distributor) !== getAddress(proof.distributor))
    throw new ClaimError("WRONG_DISTRIBUTOR", `the oracle's proof is for distributor ${proof.distributor}, not ${target.distributor}`);
}

/**
 * What the distributor has already paid to `account` in `token` (the reward token when omitted).
 *
 * @example const claimed = await readClaimed(publicClient, distributor, account); // 0n
 */
export async function readClaimed(client: PublicClient, distributor: Address, account: Address, token?: Address): Promise<bigint> {
  if (token === undefined)
    return client.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "claimed", args: [account] });
  return client.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "claimedOf", args: [account, token] });
}

/**
 * Checks a proof against the chain: same chain and distributor, the distributor's current root, a
 * valid Merkle proof, and something left to claim. Answers the amount a claim would pay.
 *
 * @throws {ClaimError}
 * @example const amount = await checkClaimProof(publicClient, proof); // 4000000000000000000n
 */
export async function checkClaimProof(client: PublicClient, proof: ClaimProof, distributor?: Address): Promise<bigint> {
  checkClaimTarget(proof, { chainId: await client.getChainId(), ...(distributor === undefined ? {} : { distributor }) });
  const cumulative = BigInt(proof.cumulative);
  const current = await client.readContract({ address: proof.distributor, abi: rewardDistributorAbi, functionName: "currentRoot" });
  if (current.toLowerCase() !== proof.root.toLowerCase())
    throw new ClaimError(
      "STALE_PROOF",
      `the oracle's root (epoch ${proof.epoch}, ${proof.root}) is not the distributor's current root ${current}: the oracle is behind or disagrees; try another oracle`,
    );
  if (!verifyRewardProof(proof.root, proof.account, proof.token, cumulative, proof.proof))
    throw new ClaimError("INVALID_PROOF", `the oracle's proof for ${proof.account} does not lead to root ${proof.root}`);
  const claimed = await readClaimed(client, proof.distributor, proof.account, proof.token);
  if (claimed >= cumulative)
    throw new ClaimError("NOTHING_TO_CLAIM", `account ${proof.account} already claimed ${claimed} of ${cumulative}: nothing to claim`);
  return cumulative - claimed;
}
