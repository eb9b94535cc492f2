/**
 * The reward chain end to end, deployed through its Ignition module with the local parameters: a
 * root signed by 2 of the 3 oracle keys with the core's oracle-message format is accepted, proofs
 * from the core's reward tree pay claims, and the core, viem, @openzeppelin/merkle-tree and the
 * contracts agree byte for byte on digests, leaves and roots.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { network } from "hardhat";
import { hashTypedData, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { bytesToHex, randomBytes } from "../../oracle/core/bytes.js";
import { AUDIT_CHAIN_ID, REWARD_CHAIN_ID } from "../../oracle/core/chains.js";
import { rewardLeaf } from "../../oracle/core/merkle.js";
import {
  OracleMessageDigester,
  oracleAddress,
  oracleMessageTypedData,
  signOracleMessage,
  sortOracleSignatures,
  type OracleMessage,
} from "../../oracle/core/oracle-message.js";
import {
  REWARD_LEAF_ENCODING,
  buildRewardTree,
  claimDigest,
  claimTypedData,
  signClaim,
  type RewardEntry,
} from "../../oracle/core/reward.js";
import RewardChainModule from "../../ignition/modules/RewardChain.js";
import { edrNetworkNow } from "../helpers/test-node.js";

const PARAMETERS = path.resolve(import.meta.dirname, "../../ignition/parameters/local.json");

/** Hardhat's development keys #5, #6, #7: the oracles of ignition/parameters/local.json. */
const ORACLE_KEYS = [
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
] as const satisfies readonly Hex[];

describe("reward chain (Ignition deployment)", async () => {
  const { viem, ignition, networkHelpers } = await network.create(edrNetworkNow("reward"));
  const publicClient = await viem.getPublicClient();
  const [deployer, , , relayer, , , , , alice, bob] = await viem.getWalletClients();
  const { token, distributor } = await ignition.deploy(RewardChainModule, { parameters: PARAMETERS });
  const chainId = await publicClient.getChainId();
  const digester = new OracleMessageDigester(chainId, distributor.address);

  // A beneficiary with a key the test holds, for signed claims, and two without a wallet.
  const carolKey = bytesToHex(randomBytes(32));
  const carol = privateKeyToAccount(carolKey).address;
  const dave = bytesToHex(randomBytes(20)) as Address;
  const recipient = bytesToHex(randomBytes(20)) as Address;

  let epoch = 0n;
  let total = 0n;

  /** The next epoch's message for a tree, covering 100 audit-chain blocks. */
  function nextMessage(root: Hex, cumulativeTotal: bigint): OracleMessage {
    return {
      sourceChainId: BigInt(AUDIT_CHAIN_ID),
      destinationChainId: BigInt(chainId),
      distributor: distributor.address,
      epoch: epoch + 1n,
      root,
      cumulativeTotal,
      fromBlock: epoch * 100n + 1n,
      toBlock: epoch * 100n + 100n,
      rulesVersion: 1,
      oracleSetVersion: 1,
      tokenTotals: [],
    };
  }

  /** Signs with the given oracle keys and answers the signatures in the order the contract takes them. */
  function signBy(keys: readonly Hex[], message: OracleMessage): Hex[] {
    return sortOracleSignatures(keys.map((key) => signOracleMessage(key, digester, message)));
  }

  async function post(entries: RewardEntry[], keys: readonly Hex[] = [ORACLE_KEYS[0], ORACLE_KEYS[2]]) {
    const tree = buildRewardTree(entries);
    const message = nextMessage(tree.root, tree.totalOf(token.address));
    await viem.assertions.emitWithArgs(
      distributor.write.postRoot([message, signBy(keys, message)], { token: token.address, account: relayer.account }),
      distributor,
      "RootPosted",
      [message.epoch, message.root, message.cumulativeTotal, message.fromBlock, message.toBlock, 1, 1],
    );
    epoch = message.epoch;
    total = message.cumulativeTotal;
    return tree;
  }

  it("the deployment follows the parameters file and binds the token to the distributor", async () => {
    assert.equal(chainId, REWARD_CHAIN_ID);
    assert.equal((await token.read.distributor()).toLowerCase(), distributor.address.toLowerCase());
    assert.equal((await token.read.deployer()).toLowerCase(), deployer.account.address.toLowerCase());
    assert.equal((await distributor.read.token()).toLowerCase(), token.address.toLowerCase());
    assert.equal(await distributor.read.sourceChainId(), BigInt(AUDIT_CHAIN_ID));
    assert.equal(await distributor.read.epochCap(), 10n ** 24n);
    assert.equal(await distributor.read.oracleSetGracePeriod(), 86_400n);
    assert.equal(await distributor.read.oracleSetVersion(), 1);
    const set = await distributor.read.getOracleSet([1]);
    assert.deepEqual(set.oracles, ORACLE_KEYS.map(oracleAddress));
    assert.equal(set.threshold, 2);
    assert.equal(await distributor.read.hasRole([await distributor.read.PAUSER_ROLE(), deployer.account.address]), true);
    assert.equal(await distributor.read.hasRole([await distributor.read.GUARDIAN_ROLE(), deployer.account.address]), true);
    assert.equal(await distributor.read.challengePeriod(), 0n);
    assert.equal(await token.read.symbol(), "SSR");
  });

  it("oracle message digest: core = viem = contract", async () => {
    const message = nextMessage(bytesToHex(randomBytes(32)), 12_345n);
    const digest = digester.digestHex(message);
    assert.equal(digest, hashTypedData(oracleMessageTypedData(digester.domain, message)));
    assert.equal(digest, await distributor.read.oracleMessageDigest([message]));
  });

  it("claim digest: core = viem = contract", async () => {
    const claim = { token: token.address, account: carol, cumulative: 77n, recipient, nonce: 3n, deadline: 1_900_000_000n };
    const digest = bytesToHex(claimDigest(digester.domain, claim));
    assert.equal(digest, hashTypedData(claimTypedData(digester.domain, claim)));
    assert.equal(
      digest,
      await distributor.read.claimDigest([claim.account, token.address, claim.cumulative, claim.recipient, claim.nonce, claim.deadline]),
    );
  });

  it("reward tree: core = @openzeppelin/merkle-tree = contract leaf", async () => {
    const entries = Array.from({ length: 9 }, (_, i) => ({
      account: bytesToHex(randomBytes(20)) as Address,
      token: token.address,
      cumulative: BigInt(i) * 10n ** 17n + 1n,
    }));
    const tree = buildRewardTree(entries);
    const values = entries.map((e) => [e.account, e.token, e.cumulative]);
    const oz = StandardMerkleTree.of(values, [...REWARD_LEAF_ENCODING]);
    assert.equal(tree.root, oz.root);
    assert.equal(StandardMerkleTree.load(tree.dump()).root, oz.root);
    for (let i = 0; i < entries.length; i++) {
      assert.deepEqual(tree.proof(entries[i].account, token.address), oz.getProof(i));
      const leaf = bytesToHex(rewardLeaf(entries[i].account, token.address, entries[i].cumulative));
      assert.equal(leaf, oz.leafHash(values[i]));
      assert.equal(leaf, await distributor.read.rewardLeaf([entries[i].account, token.address, entries[i].cumulative]));
    }
  });

  it("posts a root signed by 2 of the 3 oracles and pays claims with the core's proofs", async () => {
    const entries = [
      { token: token.address, account: alice.account.address, cumulative: 100n * 10n ** 18n },
      { token: token.address, account: bob.account.address, cumulative: 250n * 10n ** 18n },
      { token: token.address, account: carol, cumulative: 7n * 10n ** 18n },
      { token: token.address, account: dave, cumulative: 1n },
    ];
    const tree = await post(entries);
    assert.equal(await distributor.read.currentRoot(), tree.root);
    assert.equal(await distributor.read.totalPosted(), tree.totalOf(token.address));

    // alice and bob claim themselves; nobody else can claim for them (a relayed claim goes through
    // claimWithSignature, which a plain claim would otherwise front-run), so dave's stays unclaimed.
    await viem.assertions.emitWithArgs(
      distributor.write.claim(
        [alice.account.address, token.address, entries[0].cumulative, tree.proof(alice.account.address, token.address)],
        {
          account: alice.account,
        },
      ),
      distributor,
      "Claimed",
      [alice.account.address, token.address, alice.account.address, entries[0].cumulative, entries[0].cumulative],
    );
    for (const { account, cumulative } of [entries[1], entries[3]]) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.claim([account, token.address, cumulative, tree.proof(account, token.address)], {
          token: token.address,
          account: relayer.account,
        }),
        distributor,
        "RewardDistributorUnauthorizedClaim",
        [relayer.account.address, account],
      );
    }
    await distributor.write.claim(
      [bob.account.address, token.address, entries[1].cumulative, tree.proof(bob.account.address, token.address)],
      { token: token.address, account: bob.account },
    );
    assert.equal(await token.read.balanceOf([alice.account.address]), entries[0].cumulative);
    assert.equal(await token.read.balanceOf([bob.account.address]), entries[1].cumulative);
    assert.equal(await token.read.balanceOf([dave]), 0n);
    assert.equal(await token.read.balanceOf([relayer.account.address]), 0n);
    assert.equal(await token.read.totalSupply(), entries[0].cumulative + entries[1].cumulative);
    assert.equal(await distributor.read.totalClaimed(), await token.read.totalSupply());

    await viem.assertions.revertWithCustomErrorWithArgs(
      distributor.write.claim(
        [alice.account.address, token.address, entries[0].cumulative, tree.proof(alice.account.address, token.address)],
        {
          account: alice.account,
        },
      ),
      distributor,
      "RewardDistributorNothingToClaim",
      [alice.account.address, token.address, entries[0].cumulative, entries[0].cumulative],
    );
  });

  it("a newer root supersedes the old one: claims pay the rise, old proofs revert", async () => {
    const old = buildRewardTree([
      { token: token.address, account: alice.account.address, cumulative: 100n * 10n ** 18n },
      { token: token.address, account: bob.account.address, cumulative: 250n * 10n ** 18n },
      { token: token.address, account: carol, cumulative: 7n * 10n ** 18n },
      { token: token.address, account: dave, cumulative: 1n },
    ]);
    const entries = [
      { token: token.address, account: alice.account.address, cumulative: 130n * 10n ** 18n },
      { token: token.address, account: bob.account.address, cumulative: 250n * 10n ** 18n },
      { token: token.address, account: carol, cumulative: 9n * 10n ** 18n },
      { token: token.address, account: dave, cumulative: 1n },
    ];
    const tree = await post(entries, [ORACLE_KEYS[1], ORACLE_KEYS[2]]);

    await viem.assertions.revertWithCustomErrorWithArgs(
      distributor.write.claim([alice.account.address, token.address, 100n * 10n ** 18n, old.proof(alice.account.address, token.address)], {
        token: token.address,
        account: alice.account,
      }),
      distributor,
      "RewardDistributorInvalidProof",
      [alice.account.address, token.address, 100n * 10n ** 18n],
    );
    await viem.assertions.emitWithArgs(
      distributor.write.claim(
        [alice.account.address, token.address, entries[0].cumulative, tree.proof(alice.account.address, token.address)],
        {
          account: alice.account,
        },
      ),
      distributor,
      "Claimed",
      [alice.account.address, token.address, alice.account.address, 30n * 10n ** 18n, entries[0].cumulative],
    );
    assert.equal(await token.read.balanceOf([alice.account.address]), entries[0].cumulative);
  });

  it("a relayed claim signed by the beneficiary pays the recipient it names; a replay reverts", async () => {
    const cumulative = 9n * 10n ** 18n;
    const proof = buildRewardTree([
      { token: token.address, account: alice.account.address, cumulative: 130n * 10n ** 18n },
      { token: token.address, account: bob.account.address, cumulative: 250n * 10n ** 18n },
      { token: token.address, account: carol, cumulative },
      { token: token.address, account: dave, cumulative: 1n },
    ]).proof(carol, token.address);
    const nonce = await distributor.read.nonces([carol]);
    const deadline = BigInt(await networkHelpers.time.latest()) + 3600n;
    const claim = { token: token.address, account: carol, cumulative, recipient, nonce, deadline };
    // The core's signature equals the one a wallet makes with eth_signTypedData_v4.
    const signature = signClaim(carolKey, digester.domain, claim);
    assert.equal(signature, await privateKeyToAccount(carolKey).signTypedData(claimTypedData(digester.domain, claim)));

    await viem.assertions.emitWithArgs(
      distributor.write.claimWithSignature([carol, token.address, cumulative, proof, recipient, deadline, signature], {
        token: token.address,
        account: relayer.account,
      }),
      distributor,
      "Claimed",
      [carol, token.address, recipient, cumulative, cumulative],
    );
    assert.equal(await token.read.balanceOf([recipient]), cumulative);
    assert.equal(await token.read.balanceOf([carol]), 0n);
    assert.equal(await distributor.read.nonces([carol]), nonce + 1n);

    await viem.assertions.revertWithCustomErrorWithArgs(
      distributor.write.claimWithSignature([carol, token.address, cumulative, proof, recipient, deadline, signature], {
        token: token.address,
        account: relayer.account,
      }),
      distributor,
      "RewardDistributorInvalidClaimSignature",
      [carol],
    );
  });

  describe("bad oracle messages", () => {
    const tree = buildRewardTree([{ token: token.address, account: bob.account.address, cumulative: 10n ** 30n }]);

    it("one signature of a 2-of-3 set → RewardDistributorInsufficientSignatures", async () => {
      const message = nextMessage(tree.root, total + 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.postRoot([message, signBy([ORACLE_KEYS[0]], message)]),
        distributor,
        "RewardDistributorInsufficientSignatures",
        [1n, 2n],
      );
    });

    it("signers not in ascending order → RewardDistributorUnsortedSigners", async () => {
      const message = nextMessage(tree.root, total + 1n);
      const sorted = signBy([ORACLE_KEYS[0], ORACLE_KEYS[1]], message);
      const signers = [ORACLE_KEYS[0], ORACLE_KEYS[1]].map(oracleAddress).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.postRoot([message, [sorted[1], sorted[0]]]),
        distributor,
        "RewardDistributorUnsortedSigners",
        [signers[1], signers[0]],
      );
    });

    it("a key outside the set → RewardDistributorUnknownSigner", async () => {
      const message = nextMessage(tree.root, total + 1n);
      const outsider = bytesToHex(randomBytes(32));
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.postRoot([message, signBy([ORACLE_KEYS[0], outsider], message)]),
        distributor,
        "RewardDistributorUnknownSigner",
        [1, oracleAddress(outsider)],
      );
    });

    it("a stale epoch → RewardDistributorStaleEpoch; a lower total → RewardDistributorDecreasingTotal", async () => {
      const stale = { ...nextMessage(tree.root, total + 1n), epoch };
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.postRoot([stale, signBy(ORACLE_KEYS, stale)]),
        distributor,
        "RewardDistributorStaleEpoch",
        [epoch, epoch],
      );
      const lower = nextMessage(tree.root, total - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.postRoot([lower, signBy(ORACLE_KEYS, lower)]),
        distributor,
        "RewardDistributorDecreasingTotal",
        [total - 1n, total],
      );
    });

    it("an epoch gap → RewardDistributorEpochGap; a block range gap → RewardDistributorBlockRangeGap", async () => {
      const far = { ...nextMessage(tree.root, total + 1n), epoch: 2n ** 64n - 1n };
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.postRoot([far, signBy(ORACLE_KEYS, far)]),
        distributor,
        "RewardDistributorEpochGap",
        [2n ** 64n - 1n, epoch + 1n],
      );
      const gap = { ...nextMessage(tree.root, total + 1n), fromBlock: epoch * 100n + 2n };
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.postRoot([gap, signBy(ORACLE_KEYS, gap)]),
        distributor,
        "RewardDistributorBlockRangeGap",
        [epoch * 100n + 2n, epoch * 100n + 1n],
      );
      assert.equal(await distributor.read.lastToBlock(), epoch * 100n);
    });

    it("a root in its challenge period pays nothing and a guardian vetoes it → RootVetoed", async () => {
      await distributor.write.setChallengePeriod([3600n]);
      const evil = buildRewardTree([{ token: token.address, account: relayer.account.address, cumulative: total }]);
      const message = nextMessage(evil.root, total);
      await distributor.write.postRoot([message, signBy(ORACLE_KEYS, message)]);
      assert.equal((await distributor.read.pendingRoot()).root, evil.root);
      assert.notEqual(await distributor.read.currentRoot(), evil.root);
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.claim([relayer.account.address, token.address, total, evil.proof(relayer.account.address, token.address)], {
          token: token.address,
          account: relayer.account,
        }),
        distributor,
        "RewardDistributorInvalidProof",
        [relayer.account.address, token.address, total],
      );
      await viem.assertions.emitWithArgs(distributor.write.vetoRoot([message.epoch]), distributor, "RootVetoed", [
        message.epoch,
        evil.root,
        deployer.account.address,
      ]);
      assert.equal(await distributor.read.lastEpoch(), epoch);
      await distributor.write.setChallengePeriod([0n]);
    });

    it("a total over the epoch cap → RewardDistributorEpochCapExceeded", async () => {
      const message = nextMessage(tree.root, total + 10n ** 24n + 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        distributor.write.postRoot([message, signBy(ORACLE_KEYS, message)]),
        distributor,
        "RewardDistributorEpochCapExceeded",
        [10n ** 24n + 1n, 10n ** 24n],
      );
    });
  });
});
