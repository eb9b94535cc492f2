/**
 * Section 6 of the bench: claim gas vs an ERC-20 transfer; postRoot with 2 vs 3 oracle signatures.
 *
 * @module
 */
import { getAddress, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { rewardDistributorAbi, rewardTokenAbi } from "../../../oracle/chain/abis.js";
import { bytesToHex, randomBytes } from "../../../oracle/core/bytes.js";
import { AUDIT_CHAIN_ID } from "../../../oracle/core/chains.js";
import { generatePrivateKey } from "../../../oracle/core/keys.js";
import { MerkleTree, rewardLeaf } from "../../../oracle/core/merkle.js";
import {
  OracleMessageDigester,
  oracleAddress,
  signOracleMessage,
  sortOracleSignatures,
  type OracleMessage,
} from "../../../oracle/core/oracle-message.js";
import { DEV_KEYS } from "../dev-keys.js";
import { startBenchRewardChain } from "./chains.js";
import { CFG, log, rows, results, cleanups } from "./run.js";
import { fmtNum, fmtRatio, median } from "./util.js";

// ================================================================================================
export async function rewardSection(): Promise<void> {
  log("6. reward chain: starting EDR over JSON-RPC, deploying RewardChain (Ignition, parameters local.json)…");
  const reward = await startBenchRewardChain();
  cleanups.push(() => reward.close());
  const { publicClient, distributor, token } = reward;
  const set = await publicClient.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "getOracleSet", args: [1] });
  const expected = DEV_KEYS.oracles.map((k) => oracleAddress(k));
  if (set.threshold !== 2 || set.oracles.map((a) => getAddress(a)).join() !== expected.join())
    throw new Error(`unexpected oracle set: ${JSON.stringify({ oracles: set.oracles, threshold: set.threshold })}`);
  log(`   distributor ${distributor}, token ${token}; oracles #5 #6 #7, threshold ${set.threshold}`);

  // Beneficiaries: a few accounts whose keys we hold (they claim, then transfer), the rest random.
  const holders = Array.from({ length: CFG.rewardClaims }, () => bytesToHex(generatePrivateKey("secp256k1")));
  const accounts: Address[] = [
    ...holders.map((k) => privateKeyToAccount(k).address),
    ...Array.from({ length: CFG.rewardEntries - holders.length }, () => getAddress(bytesToHex(randomBytes(20)))),
  ];
  const base = accounts.map(() => BigInt(1 + Math.floor(Math.random() * 100)) * 10n ** 18n);
  const treeAt = (epoch: number) => {
    const amounts = base.map((b) => b * BigInt(epoch));
    const tree = MerkleTree.fromLeaves(accounts.map((a, i) => rewardLeaf(a, token, amounts[i])));
    return { tree, amounts, total: amounts.reduce((a, b) => a + b, 0n) };
  };
  const digester = new OracleMessageDigester(reward.chainId, distributor);
  const poster = reward.wallet(DEV_KEYS.stranger);
  async function postRoot(epoch: number, signers: number): Promise<{ gasUsed: number; tree: ReturnType<typeof treeAt> }> {
    const t = treeAt(epoch);
    const message: OracleMessage = {
      sourceChainId: BigInt(AUDIT_CHAIN_ID),
      destinationChainId: BigInt(reward.chainId),
      distributor,
      epoch: BigInt(epoch),
      root: t.tree.root,
      cumulativeTotal: t.total,
      fromBlock: BigInt((epoch - 1) * 100 + 1),
      toBlock: BigInt(epoch * 100),
      rulesVersion: 1,
      oracleSetVersion: 1,
      tokenTotals: [],
    };
    const signatures = sortOracleSignatures(DEV_KEYS.oracles.slice(0, signers).map((k) => signOracleMessage(k, digester, message)));
    const hash = await poster.writeContract({
      address: distributor,
      abi: rewardDistributorAbi,
      functionName: "postRoot",
      args: [message, signatures],
      chain: reward.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== "success") throw new Error(`postRoot epoch ${epoch} reverted`);
    return { gasUsed: Number(receipt.gasUsed), tree: t };
  }
  log("   postRoot: epoch 1 (2 signatures, the first root), epoch 2 (2 signatures), epoch 3 (3 signatures)…");
  const first = await postRoot(1, 2);
  const two = await postRoot(2, 2);
  const three = await postRoot(3, 3);
  log(`   postRoot gas: first ${fmtNum(first.gasUsed)}, 2 signatures ${fmtNum(two.gasUsed)}, 3 signatures ${fmtNum(three.gasUsed)}`);

  // Claims against the newest root (epoch 3), each an account's first (sent by the account); then each holder transfers
  // half of its tokens to a fresh address (a new holder, as a claim makes one).
  const claimGas: number[] = [];
  const proofLengths: number[] = [];
  const { tree, amounts } = three.tree;
  for (let i = 0; i < holders.length; i++) {
    const proof = tree.getProof(tree.treeIndexOf(i));
    proofLengths.push(proof.length);
    // Only the account itself may claim(): the holder pays its own gas.
    const holder = reward.wallet(holders[i] as Hex);
    await reward.rpc("hardhat_setBalance", [holder.account.address, toHex(10n ** 18n)]);
    const hash = await holder.writeContract({
      address: distributor,
      abi: rewardDistributorAbi,
      functionName: "claim",
      args: [accounts[i], token, amounts[i], proof],
      chain: reward.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== "success") throw new Error("claim reverted");
    claimGas.push(Number(receipt.gasUsed));
  }
  const transferGas: number[] = [];
  for (let i = 0; i < holders.length; i++) {
    const wallet = reward.wallet(holders[i] as Hex);
    const balance = await publicClient.readContract({
      address: token,
      abi: rewardTokenAbi,
      functionName: "balanceOf",
      args: [wallet.account.address],
    });
    if (balance !== amounts[i]) throw new Error(`claimed balance ${balance} ≠ ${amounts[i]}`);
    const to = getAddress(bytesToHex(randomBytes(20)));
    const hash = await wallet.writeContract({
      address: token,
      abi: rewardTokenAbi,
      functionName: "transfer",
      args: [to, balance / 2n],
      chain: reward.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== "success") throw new Error("transfer reverted");
    transferGas.push(Number(receipt.gasUsed));
  }
  const claim = median(claimGas);
  const transfer = median(transferGas);
  log(`   claim gas (median of ${claimGas.length}) ${fmtNum(claim)}, ERC-20 transfer ${fmtNum(transfer)}`);
  results.reward = {
    entries: CFG.rewardEntries,
    postRoot: {
      first2Signatures: first.gasUsed,
      signatures2: two.gasUsed,
      signatures3: three.gasUsed,
      perExtraSignature: three.gasUsed - two.gasUsed,
    },
    claim: { median: claim, samples: claimGas, proofLengths },
    transfer: { median: transfer, samples: transferGas },
    note: "claims: each an account's first claim (claimed 0 → non-zero, balance minted 0 → non-zero), sent by a third party; transfers: half a holder's balance to a fresh address",
  };
  rows.push(
    {
      section: 6,
      measurement: `claim (an account's first, proof of ${median(proofLengths)} hashes, tree of ${fmtNum(CFG.rewardEntries)})`,
      result: `${fmtNum(claim)} gas`,
      baseline: "ERC-20 transfer of the same token to a new holder",
      baselineResult: `${fmtNum(transfer)} gas`,
      ratio: `${fmtRatio(claim / transfer)} (claim / transfer)`,
    },
    {
      section: 6,
      measurement: "postRoot with 2 oracle signatures (threshold 2 of 3; not the first root)",
      result: `${fmtNum(two.gasUsed)} gas`,
      baseline: "postRoot with 3 signatures",
      baselineResult: `${fmtNum(three.gasUsed)} gas`,
      ratio: `${fmtRatio(two.gasUsed / three.gasUsed)} (2 / 3 signatures)`,
    },
  );
  await reward.close();
  cleanups.pop();
}

// ================================================================================================
// Sections 4 and 5: CPU only
