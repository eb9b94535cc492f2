/**
 * The data market end to end on the reward chain, deployed through the DataMarket Ignition module:
 * a purchase pays the fee to the treasury and the pool to the distributor; the committee's root (one
 * tree, reward token and settlement token leaves) binds both tokens' totals; contributors claim both,
 * one by one and in a batch. Gas figures are printed for the README's bench section.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";

import { network } from "hardhat";
import type { Address, Hex } from "viem";

import { AUDIT_CHAIN_ID } from "../../oracle/core/chains.js";
import { OracleMessageDigester, signOracleMessage, sortOracleSignatures, type OracleMessage } from "../../oracle/core/oracle-message.js";
import { buildRewardTree } from "../../oracle/core/reward.js";
import DataMarketModule from "../../ignition/modules/DataMarket.js";
import { edrNetworkNow } from "../helpers/test-node.js";

const PARAMETERS = path.resolve(import.meta.dirname, "../../ignition/parameters/local.json");
const ORACLE_KEYS = [
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
] as const satisfies readonly Hex[];

describe("data market (Ignition deployment)", async () => {
  const { viem, ignition } = await network.create(edrNetworkNow("reward"));
  const publicClient = await viem.getPublicClient();
  const [deployer, , , relayer, , , , , alice, bob, consumer] = await viem.getWalletClients();
  const { market, settlementToken, distributor, token } = await ignition.deploy(DataMarketModule, { parameters: PARAMETERS });
  const digester = new OracleMessageDigester(await publicClient.getChainId(), distributor.address);
  const gas = async (hash: Promise<Hex>) => Number((await publicClient.waitForTransactionReceipt({ hash: await hash })).gasUsed);
  const PRICE = 1000n * 10n ** 18n;

  it("purchase → pool in the distributor → one root for both tokens → claims pay both", async () => {
    await settlementToken.write.transfer([consumer.account.address, 10n * PRICE]);
    await market.write.list([("0x" + "ab".repeat(32)) as Hex, settlementToken.address, PRICE, 86_400n]);
    const approveGas = await gas(settlementToken.write.approve([market.address, PRICE], { account: consumer.account }));
    const purchaseGas = await gas(market.write.purchase([1n, settlementToken.address, PRICE], { account: consumer.account }));
    assert.equal(await settlementToken.read.balanceOf([distributor.address]), 900n * 10n ** 18n, "pool (fee 10%)");

    const accounts: Address[] = [alice.account.address, bob.account.address];
    const tree = buildRewardTree([
      { account: accounts[0], token: token.address, cumulative: 5n * 10n ** 18n },
      { account: accounts[0], token: settlementToken.address, cumulative: 600n * 10n ** 18n },
      { account: accounts[1], token: settlementToken.address, cumulative: 250n * 10n ** 18n },
    ]);
    const message: OracleMessage = {
      sourceChainId: BigInt(AUDIT_CHAIN_ID),
      destinationChainId: BigInt(await publicClient.getChainId()),
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
    const sigs = sortOracleSignatures(ORACLE_KEYS.map((k) => signOracleMessage(k, digester, message)));
    await gas(distributor.write.postRoot([message, sigs], { account: relayer.account }));
    assert.equal((await distributor.read.tokenState([settlementToken.address])).activeTotal, 850n * 10n ** 18n);
    assert.equal(await distributor.read.unallocated([settlementToken.address]), 50n * 10n ** 18n, "remainder stays, visible");

    const claimGas = await gas(
      distributor.write.claim([accounts[0], settlementToken.address, 600n * 10n ** 18n, tree.proof(accounts[0], settlementToken.address)], {
        account: alice.account,
      }),
    );
    const rewardClaimGas = await gas(
      distributor.write.claim([accounts[0], token.address, 5n * 10n ** 18n, tree.proof(accounts[0], token.address)], {
        account: alice.account,
      }),
    );
    assert.equal(await settlementToken.read.balanceOf([accounts[0]]), 600n * 10n ** 18n);
    assert.equal(await token.read.balanceOf([accounts[0]]), 5n * 10n ** 18n);

    await distributor.write.grantRole([await distributor.read.BATCH_CLAIMER_ROLE(), relayer.account.address], {
      account: deployer.account,
    });
    const batchGas = await gas(
      distributor.write.claimBatch(
        [
          settlementToken.address,
          [
            { account: accounts[1], cumulative: 250n * 10n ** 18n, proof: tree.proof(accounts[1], settlementToken.address) },
            { account: accounts[0], cumulative: 600n * 10n ** 18n, proof: tree.proof(accounts[0], settlementToken.address) },
          ],
        ],
        { account: relayer.account },
      ),
    );
    assert.equal(await settlementToken.read.balanceOf([accounts[1]]), 250n * 10n ** 18n, "batch paid bob");
    assert.equal(await distributor.read.claimedOf([accounts[0], settlementToken.address]), 600n * 10n ** 18n, "alice not paid twice");
    console.log(
      `      gas: approve ${approveGas} + purchase ${purchaseGas}; settlement claim ${claimGas}; reward claim ${rewardClaimGas}; ` +
        `batch of 2 (1 paid, 1 skipped) ${batchGas}`,
    );
  });
});
