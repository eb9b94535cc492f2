/**
 * The claim CLI (`scripts/claim.ts`): fetch an account's proof from an oracle, check it against the
 * distributor's current root, and claim directly (`claim`, anyone pays the gas, the account is paid)
 * or relayed (`claimWithSignature`: the beneficiary signs, anyone submits, the named recipient is
 * paid). The flow itself is ./proof.ts and ./send.ts, shared with the browser claim page; this file
 * adds keys, files and arguments.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";

import { createPublicClient, createWalletClient, getAddress, http, isAddress, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { currentFees, detectFeeModel, type TxFees } from "../chain/fee-model.js";
import { rpcChain } from "../chain/rpc.js";
import { checkClaimProof, ClaimError, fetchClaimProof, fetchClaimProofs, type ClaimProof } from "./proof.js";
import { checkSignedClaim, sendClaim, sendClaims, sendRelayedClaim, signRelayedClaim, type SignedClaim } from "./send.js";

function rewardClients(chainId: number, rpcUrl: string, senderKey: Hex) {
  const client = createPublicClient({ chain: rpcChain(chainId, "reward", rpcUrl), transport: http(rpcUrl) }) as PublicClient;
  const wallet = createWalletClient({ account: privateKeyToAccount(senderKey), chain: client.chain, transport: http(rpcUrl) });
  return { client, wallet, account: wallet.account };
}

/** The reward chain's fees for a claim sent now (REWARD_FEE_MODEL: auto, eip1559 or legacy); nothing is sent. */
async function claimFees(client: PublicClient, from: `0x${string}`): Promise<TxFees> {
  const setting = process.env.REWARD_FEE_MODEL as "auto" | "eip1559" | "legacy" | undefined;
  const model = await detectFeeModel(client, {
    from,
    setting,
    settingNames: { feeModel: "REWARD_FEE_MODEL", chainId: "REWARD_CHAIN_ID", rpcUrl: "REWARD_RPC_URL" },
  });
  return currentFees(client, model);
}

/**
 * Checks a proof and sends `claim(account, cumulative, proof)` from `senderKey`, which must be the account's own key
 * (only the account may claim directly; others submit its signed claim with {@link submitRelayedClaim}).
 *
 * @throws {ClaimError}
 * @example const { txHash, amount } = await claimDirect({ rpcUrl, senderKey, proof });
 */
export async function claimDirect(input: { rpcUrl: string; senderKey: Hex; proof: ClaimProof }): Promise<{ txHash: Hex; amount: bigint }> {
  const { client, wallet, account } = rewardClients(input.proof.chainId, input.rpcUrl, input.senderKey);
  const amount = await checkClaimProof(client, input.proof);
  const fees = await claimFees(client, account.address);
  const { txHash } = await sendClaim({ client, wallet, account, proof: input.proof, fees });
  return { txHash, amount };
}

/**
 * Claims every token of an account's proofs (reward token and settlement tokens) in one transaction (the
 * distributor's multicall), sent by the account's own key.
 *
 * @throws {ClaimError}
 * @example const { txHash, claimed } = await claimAllTokens({ rpcUrl, senderKey, proofs });
 */
export async function claimAllTokens(input: {
  rpcUrl: string;
  senderKey: Hex;
  proofs: readonly ClaimProof[];
}): Promise<{ txHash: Hex; claimed: { token: Hex; amount: bigint }[] }> {
  if (input.proofs.length === 0) throw new ClaimError("NO_ENTITLEMENT", "no proof to claim");
  const { client, wallet, account } = rewardClients(input.proofs[0].chainId, input.rpcUrl, input.senderKey);
  const fees = await claimFees(client, account.address);
  const { txHash, claimed } = await sendClaims({ client, wallet, account, proofs: input.proofs, fees });
  return { txHash, claimed };
}

/**
 * Checks a signed relayed claim and submits it from `senderKey`: `claimWithSignature`, the recipient is paid.
 *
 * @throws {ClaimError}
 * @example const { txHash } = await submitRelayedClaim({ rpcUrl, senderKey, signed });
 */
export async function submitRelayedClaim(input: {
  rpcUrl: string;
  senderKey: Hex;
  signed: SignedClaim;
}): Promise<{ txHash: Hex; amount: bigint }> {
  const { client, wallet, account } = rewardClients(input.signed.chainId, input.rpcUrl, input.senderKey);
  const amount = await checkSignedClaim(client, input.signed);
  const fees = await claimFees(client, account.address);
  const { txHash } = await sendRelayedClaim({ client, wallet, account, signed: input.signed, fees });
  return { txHash, amount };
}

const USAGE = `usage: claim [--oracle URL]... [--rpc URL] [--account 0x…] [--all-tokens | --relayed [--recipient 0x…]] [--sign-only] [--submit FILE]
  --oracle URL       an oracle's base URL (repeat, or ORACLE_URLS=comma list; default http://127.0.0.1:8548)
  --rpc URL          the reward chain (REWARD_RPC_URL; default http://127.0.0.1:8546)
  --account 0x…      whose entitlement (default: the address of BENEFICIARY_PRIVATE_KEY)
  (default)          claim(account, …) sent by the account itself (BENEFICIARY_PRIVATE_KEY); the account is paid
  --all-tokens       claim the reward token and every settlement token (data-sale shares) in one transaction
  --relayed          BENEFICIARY_PRIVATE_KEY signs, CLAIM_SENDER_PRIVATE_KEY submits claimWithSignature; --recipient is paid (default the account)
  --sign-only        with --relayed: print the signed claim JSON instead of submitting it
  --submit FILE      submit a signed claim JSON (from --sign-only) with CLAIM_SENDER_PRIVATE_KEY
  --deadline-seconds N  validity of a signed claim (default 3600)`;

const KEY = /^0x[0-9a-fA-F]{64}$/;

type ClaimArgs = Record<string, string | boolean | string[] | undefined>;

/** The claim itself, once arguments and keys are known; answers the exit code (usage errors through `usage`). */
async function runClaim(
  settings: {
    values: ClaimArgs;
    rpcUrl: string;
    oracles: string[];
    beneficiaryKey: string | undefined;
    senderKey: string | undefined;
    deadlineSeconds: number;
  },
  out: (line: string) => void,
  usage: (message: string) => number,
): Promise<number> {
  const { values, rpcUrl, oracles, beneficiaryKey, senderKey, deadlineSeconds } = settings;
  if (values.submit !== undefined) {
    if (senderKey === undefined) return usage("--submit needs CLAIM_SENDER_PRIVATE_KEY");
    const signed = JSON.parse(await readFile(values.submit as string, "utf8")) as SignedClaim;
    const { txHash, amount } = await submitRelayedClaim({ rpcUrl, senderKey: senderKey as Hex, signed });
    out(JSON.stringify({ status: "claimed", account: signed.account, recipient: signed.recipient, amount: amount.toString(), txHash }));
    return 0;
  }
  const accountText =
    (values.account as string | undefined) ??
    (beneficiaryKey === undefined ? undefined : privateKeyToAccount(beneficiaryKey as Hex).address);
  if (accountText === undefined) return usage("give --account or BENEFICIARY_PRIVATE_KEY");
  if (!isAddress(accountText, { strict: false })) return usage(`--account ${accountText} is not an address`);
  const account = getAddress(accountText);
  if (values["all-tokens"]) {
    if (values.relayed) return usage("--all-tokens claims directly, in one transaction; relay one token at a time with --relayed");
    if (beneficiaryKey === undefined) return usage("--all-tokens needs BENEFICIARY_PRIVATE_KEY (only the account may claim directly)");
    if (getAddress(privateKeyToAccount(beneficiaryKey as Hex).address) !== account)
      return usage(`BENEFICIARY_PRIVATE_KEY is not ${account}'s key: only the account may claim directly`);
    const proofs = await fetchClaimProofs(oracles, account);
    const { txHash, claimed } = await claimAllTokens({ rpcUrl, senderKey: beneficiaryKey as Hex, proofs });
    const claims = claimed.map((c) => ({ token: c.token, amount: c.amount.toString() }));
    out(JSON.stringify({ status: "claimed", account, recipient: account, claims, epoch: proofs[0].epoch, txHash }));
    return 0;
  }
  const proof = await fetchClaimProof(oracles, account);
  if (values.relayed) {
    if (beneficiaryKey === undefined) return usage("--relayed needs BENEFICIARY_PRIVATE_KEY (the account signs its claim)");
    const recipientText = (values.recipient as string | undefined) ?? account;
    if (!isAddress(recipientText, { strict: false })) return usage(`--recipient ${recipientText} is not an address`);
    const client = createPublicClient({ chain: rpcChain(proof.chainId, "reward", rpcUrl), transport: http(rpcUrl) }) as PublicClient;
    const signed = await signRelayedClaim({
      client,
      beneficiaryKey: beneficiaryKey as Hex,
      proof,
      recipient: getAddress(recipientText),
      deadlineSeconds,
    });
    if (values["sign-only"]) {
      out(JSON.stringify(signed));
      return 0;
    }
    if (senderKey === undefined) return usage("--relayed needs CLAIM_SENDER_PRIVATE_KEY");
    const { txHash, amount } = await submitRelayedClaim({ rpcUrl, senderKey: senderKey as Hex, signed });
    out(JSON.stringify({ status: "claimed", account, recipient: signed.recipient, amount: amount.toString(), epoch: proof.epoch, txHash }));
    return 0;
  }
  // Only the account may call claim() itself: a third party submits the account's signed claim (--relayed).
  if (beneficiaryKey === undefined)
    return usage("a direct claim needs BENEFICIARY_PRIVATE_KEY (only the account may claim directly; others use --relayed / --submit)");
  const { txHash, amount } = await claimDirect({ rpcUrl, senderKey: beneficiaryKey as Hex, proof });
  out(JSON.stringify({ status: "claimed", account, recipient: account, amount: amount.toString(), epoch: proof.epoch, txHash }));
  return 0;
}

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
  let values: ClaimArgs;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        oracle: { type: "string", multiple: true },
        rpc: { type: "string" },
        account: { type: "string" },
        recipient: { type: "string" },
        relayed: { type: "boolean" },
        "all-tokens": { type: "boolean" },
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
  const oracles =
    (values.oracle as string[] | undefined) ??
    (env.ORACLE_URLS ?? "http://127.0.0.1:8548")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
  const beneficiaryKey = env.BENEFICIARY_PRIVATE_KEY;
  const senderKey = env.CLAIM_SENDER_PRIVATE_KEY ?? beneficiaryKey;
  if (beneficiaryKey !== undefined && !KEY.test(beneficiaryKey)) return usage("BENEFICIARY_PRIVATE_KEY must be a 32-byte 0x hex key");
  if (senderKey !== undefined && !KEY.test(senderKey)) return usage("CLAIM_SENDER_PRIVATE_KEY must be a 32-byte 0x hex key");
  const deadlineSeconds = Number((values["deadline-seconds"] as string | undefined) ?? "3600");
  if (!Number.isSafeInteger(deadlineSeconds) || deadlineSeconds <= 0) return usage("--deadline-seconds must be a positive integer");
  try {
    return await runClaim({ values, rpcUrl, oracles, beneficiaryKey, senderKey, deadlineSeconds }, out, usage);
  } catch (error) {
    if (error instanceof ClaimError) {
      err(`claim: ${error.code}: ${error.message}`);
      return 1;
    }
    err(`claim: ${(error as Error).message}`);
    return 1;
  }
}
