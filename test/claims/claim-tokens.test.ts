/**
 * Claiming both tokens (reward + settlement) for an account in one transaction with the claim flow the CLI
 * (`claim --all-tokens`) and the claim page share (oracle/claim/send.ts `sendClaims`: the distributor's
 * multicall), on the Ignition deployment; and its clear errors. Proofs are built with the core's reward tree,
 * the same the oracle serves.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";

import { network } from "hardhat";
import type { Address, PublicClient, WalletClient } from "viem";

import { ClaimError, type ClaimProof } from "../../oracle/claim/proof.js";
import { sendClaims } from "../../oracle/claim/send.js";
import { AUDIT_CHAIN_ID } from "../../oracle/core/chains.js";
import { OracleMessageDigester, signOracleMessage, sortOracleSignatures } from "../../oracle/core/oracle-message.js";
import { buildRewardTree } from "../../oracle/core/reward.js";
import DataMarketModule from "../../ignition/modules/DataMarket.js";
import { DEV_KEYS } from "../../scripts/lib/dev-keys.js";
import { edrNetworkNow } from "../helpers/test-node.js";

const PARAMETERS = path.resolve(import.meta.dirname, "../../ignition/parameters/local.json");

describe("claim both tokens in one transaction (sendClaims / claim --all-tokens)", async () => {
  const { viem, ignition } = await network.create(edrNetworkNow("reward"));
  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
  const [deployer, , , relayer, , , , , alice, bob] = await viem.getWalletClients();
  const { settlementToken, distributor, token } = await ignition.deploy(DataMarketModule, { parameters: PARAMETERS });
  const chainId = await publicClient.getChainId();
  const a = alice.account.address;
  const b = bob.account.address;
  const tree = buildRewardTree([
    { account: a, token: token.address, cumulative: 7n * 10n ** 18n },
    { account: a, token: settlementToken.address, cumulative: 300n * 10n ** 18n },
    { account: b, token: token.address, cumulative: 1n * 10n ** 18n },
    { account: b, token: settlementToken.address, cumulative: 50n * 10n ** 18n },
  ]);
  const proofOf = (account: Address, t: Address): ClaimProof => ({
    account,
    token: t,
    cumulative: tree.entry(account, t)!.cumulative.toString(),
    proof: tree.proof(account, t),
    epoch: 1,
    root: tree.root,
    distributor: distributor.address,
    chainId,
  });
  const expectClaimError = async (promise: Promise<unknown>, code: string) => {
    await assert.rejects(promise, (e: unknown) => e instanceof ClaimError && e.code === code);
  };

  it("setup: fund the pool and post one root for both tokens", async () => {
    await settlementToken.write.transfer([distributor.address, tree.totalOf(settlementToken.address)], { account: deployer.account });
    const message = {
      sourceChainId: BigInt(AUDIT_CHAIN_ID),
      destinationChainId: BigInt(chainId),
      distributor: distributor.address,
      epoch: 1n,
      root: tree.root,
      cumulativeTotal: tree.totalOf(token.address),
      fromBlock: 1n,
      toBlock: 100n,
      rulesVersion: 1,
      oracleSetVersion: 1,
      tokenTotals: [{ token: settlementToken.address, cumulativeTotal: tree.totalOf(settlementToken.address) }],
    };
    const digester = new OracleMessageDigester(chainId, distributor.address);
    const sigs = sortOracleSignatures(DEV_KEYS.oracles.slice(0, 2).map((k) => signOracleMessage(k, digester, message)));
    await distributor.write.postRoot([message, sigs], { account: relayer.account });
  });

  it("pays both tokens in one transaction, then answers NOTHING_TO_CLAIM", async () => {
    const proofs = [proofOf(a, token.address), proofOf(a, settlementToken.address)];
    const sent = await sendClaims({ client: publicClient, wallet: alice as unknown as WalletClient, account: alice.account, proofs });
    assert.deepEqual(
      sent.claimed.map((c) => [c.token, c.amount]),
      [
        [token.address, 7n * 10n ** 18n],
        [settlementToken.address, 300n * 10n ** 18n],
      ],
    );
    assert.equal(sent.paidByToken[token.address], 7n * 10n ** 18n);
    assert.equal(sent.paidByToken[settlementToken.address], 300n * 10n ** 18n);
    assert.equal(sent.receipt.logs.filter((l) => l.address.toLowerCase() === distributor.address.toLowerCase()).length, 2, "two Claimed");
    assert.equal(await token.read.balanceOf([a]), 7n * 10n ** 18n);
    assert.equal(await settlementToken.read.balanceOf([a]), 300n * 10n ** 18n);
    await expectClaimError(
      sendClaims({ client: publicClient, wallet: alice as unknown as WalletClient, account: alice.account, proofs }),
      "NOTHING_TO_CLAIM",
    );
  });

  it("refuses another sender (WRONG_ACCOUNT) and proofs of two accounts (MIXED_ACCOUNTS), nothing sent", async () => {
    const bobs = [proofOf(b, token.address), proofOf(b, settlementToken.address)];
    await expectClaimError(
      sendClaims({ client: publicClient, wallet: alice as unknown as WalletClient, account: alice.account, proofs: bobs }),
      "WRONG_ACCOUNT",
    );
    await expectClaimError(
      sendClaims({
        client: publicClient,
        wallet: bob as unknown as WalletClient,
        account: bob.account,
        proofs: [bobs[0], proofOf(a, token.address)],
      }),
      "MIXED_ACCOUNTS",
    );
    await expectClaimError(
      sendClaims({ client: publicClient, wallet: bob as unknown as WalletClient, account: bob.account, proofs: [] }),
      "NO_ENTITLEMENT",
    );
    const tampered = { ...bobs[1], cumulative: (51n * 10n ** 18n).toString() };
    await expectClaimError(
      sendClaims({ client: publicClient, wallet: bob as unknown as WalletClient, account: bob.account, proofs: [bobs[0], tampered] }),
      "INVALID_PROOF",
    );
    assert.equal(await token.read.balanceOf([b]), 0n, "nothing paid");
  });

  it("claims only what is left when one token was already claimed (a single claim)", async () => {
    const bobs = [proofOf(b, token.address), proofOf(b, settlementToken.address)];
    await distributor.write.claim([b, token.address, 10n ** 18n, bobs[0].proof], { account: bob.account });
    const sent = await sendClaims({ client: publicClient, wallet: bob as unknown as WalletClient, account: bob.account, proofs: bobs });
    assert.deepEqual(sent.claimed, [{ token: settlementToken.address, amount: 50n * 10n ** 18n }]);
    assert.equal(await settlementToken.read.balanceOf([b]), 50n * 10n ** 18n);
  });
});
