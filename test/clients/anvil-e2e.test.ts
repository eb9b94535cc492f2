/**
 * The end-to-end suites on a second, independent EVM client: anvil, in two profiles.
 *
 * - default: an EIP-1559 chain with a base fee, a block per transaction; CONFIRMATIONS=2.
 * - permissioned (a Besu QBFT / GoQuorum network): base fee 0, gas price 0, a block every second,
 *   CONFIRMATIONS=1, and legacy-only transactions. anvil cannot refuse EIP-1559 transactions on a
 *   hardfork our (Prague) contracts run on, so a legacy-only fake front stands before it
 *   (test/helpers/fake-rpc.ts: blocks without a base fee, type 2 refused as geth refuses it): the
 *   services detect "free gas, legacy transactions" by themselves.
 *
 * Each profile: readings anchored through the relayer, a direct submission (`submitReading`), the
 * verifier finding them VERIFIED and a proof bundle checked with only the RPC; the committee (2 of 3)
 * posting the reward root; a direct and a relayed claim with the claim CLI. On the permissioned
 * profile the direct submission and the direct claim come from accounts holding no ether.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createWalletClient, http, type Hex, type PublicClient, type Transaction } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi, rewardTokenAbi } from "../../oracle/chain/abis.js";
import { detectFeeModel, type FeeModelKind } from "../../oracle/chain/fee-model.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { claimCli } from "../../oracle/claim/cli.js";
import { checkAnyBundleOnChain, exportAnyBundle } from "../../oracle/verifier/evidence-bundle.js";
import { Verifier } from "../../oracle/verifier/verifier.js";
import {
  allPosted,
  deviceFor,
  newAccount,
  nextMinute,
  startOracleMesh,
  startOracleTestbed,
  untilMining,
  WEI,
  type OracleTestbed,
  type TestOracle,
} from "../committee/fixtures.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import { REWARD_PAYER_KEYS } from "../helpers/reward-chain.js";
import type { TestNode } from "../helpers/test-node.js";
import { postJson, request, signedReading } from "../relayer/fixtures.js";
import { chainTime, registeredDevice, startStack, waitFor, type Stack } from "../verifier/fixtures.js";

interface Profile {
  name: string;
  node: TestNode;
  confirmations: number;
  /** What the services must detect, and the type and price of every transaction they send. */
  feeModel: FeeModelKind;
  txType: Transaction["type"];
  /** Accounts that send the direct submission and the direct claim hold no ether (gas costs nothing). */
  unfunded: boolean;
}

const PROFILES: Profile[] = [
  { name: "default profile", node: { client: "anvil" }, confirmations: 2, feeModel: "eip1559", txType: "eip1559", unfunded: false },
  {
    name: "permissioned profile: zero fees, 1 s blocks, CONFIRMATIONS=1, legacy-only (fake RPC front)",
    node: { client: "anvil", anvil: { profile: "permissioned" }, legacyOnly: true },
    confirmations: 1,
    feeModel: "free",
    txType: "legacy",
    unfunded: true,
  },
];

/** The type and price of a mined transaction, as the profile expects them. */
async function assertPriced(client: PublicClient, hash: Hex, profile: Profile, what: string): Promise<void> {
  const [tx, receipt] = await Promise.all([client.getTransaction({ hash }), client.getTransactionReceipt({ hash })]);
  assert.equal(receipt.status, "success", what);
  assert.equal(tx.type, profile.txType, `${what}: transaction type`);
  if (profile.feeModel === "free") assert.equal(receipt.effectiveGasPrice, 0n, `${what}: gas is free`);
  else assert.ok(receipt.effectiveGasPrice > 0n, `${what}: gas has a price`);
}

/** A wallet for `key` on `chain`; on the permissioned profile a fresh key holds no ether at all. */
function walletOn(chain: { chainId: number; rpcUrl: string }, key: Hex, name: string) {
  return createWalletClient({
    account: privateKeyToAccount(key),
    chain: rpcChain(chain.chainId, name, chain.rpcUrl),
    transport: http(chain.rpcUrl),
  });
}

for (const profile of PROFILES) {
  describe(`anvil, ${profile.name}: relayer, direct path and verifier`, { timeout: 300_000 }, () => {
    let stack: Stack;
    let chain: AuditChain;
    const sent: { device: `0x${string}`; seq: number }[] = [];
    let directTx: Hex;

    before(async () => {
      stack = await startStack({ node: profile.node, relayer: { confirmations: profile.confirmations } });
      chain = stack.chain;
      const devices = [await registeredDevice(chain, "secp256k1"), await registeredDevice(chain, "p256")];
      const t0 = await chainTime(chain);
      for (const d of devices) {
        for (const seq of [1, 2]) {
          await stack.send(d, seq, t0 + seq);
          sent.push({ device: d.address, seq });
        }
      }
      for (const d of devices) await stack.waitAnchored(d.address, [1, 2]);

      // The direct path: a P-256 device's reading submitted on-chain by someone who is not the relayer.
      const direct = await registeredDevice(chain, "p256");
      const signed = stack.sign(direct, 1, await chainTime(chain));
      // The platform catches up with the registry at most once a second on an unknown device
      // (registryResyncMs): a device registered just after a catch-up is refused (403) until the next.
      await waitFor(async () => (await stack.sendPlatform(signed)) === 201, "the platform accepting the direct device");
      const submitter = profile.unfunded ? newAccount().key : chain.keys.stranger;
      const call = {
        address: chain.anchor,
        abi: readingAnchorAbi,
        functionName: "submitReading",
        args: [signed.reading, signed.signature],
      } as const;
      // Headroom over the estimate, as the services and wallets add: with 1 s blocks the block that
      // mines it has a later timestamp than the estimate's, and the time checks' look-ups cost more.
      const estimate = await chain.publicClient.estimateContractGas({ ...call, account: privateKeyToAccount(submitter) });
      directTx = await walletOn(chain, submitter, "audit").writeContract({ ...call, gas: (estimate * 5n) / 4n + 10_000n });
      await chain.publicClient.waitForTransactionReceipt({ hash: directTx });
      sent.push({ device: direct.address, seq: 1 });
    });

    after(async () => {
      await stack?.close();
    });

    it("the relayer detects the fee model, anchors both schemes' readings and prices its transactions by it", async () => {
      const model = await detectFeeModel(chain.publicClient, { from: privateKeyToAccount(chain.keys.relayer).address });
      assert.equal(model.kind, profile.feeModel);
      const batches = await stack.relayer.db.query<{ id: number }>("SELECT id FROM relayer_batches ORDER BY id");
      assert.ok(batches.length >= 1);
      for (const { id } of batches) {
        // The relayer confirms a batch `confirmations` blocks after it is mined, on its own poll.
        let batch = await request(`${stack.relayerUrl}/v1/batches/${id}`);
        await waitFor(async () => {
          batch = await request(`${stack.relayerUrl}/v1/batches/${id}`);
          return batch.body.status === "confirmed";
        }, `batch ${id} confirmed`);
        assert.equal(batch.body.status, "confirmed", batch.text);
        await assertPriced(chain.publicClient, batch.body.txHash as Hex, profile, `anchoring of batch ${id}`);
      }
      await assertPriced(chain.publicClient, directTx, profile, "submitReading");
    });

    it("the verifier finds every reading VERIFIED, and a P-256 reading's proof bundle holds with only the RPC", async () => {
      const verifier = await Verifier.create({
        rpc: chain.rpcUrl,
        anchor: chain.anchor,
        platform: { url: stack.platformUrl, apiKey: stack.apiKey },
        threads: 1,
      });
      try {
        const report = await verifier.verifyAll();
        for (const s of sent) {
          const r = report.readings.find((x) => x.device === s.device && x.seq === s.seq);
          assert.equal(r?.status, "VERIFIED", `${s.device} #${s.seq}: ${JSON.stringify(r?.problems)}`);
        }
        assert.equal(report.readings.find((x) => x.device === sent[4].device)?.direct?.txHash, directTx);
        for (const s of [sent[2], sent[4]]) {
          const { bundle } = await exportAnyBundle(verifier, s.device, s.seq);
          const verdict = await checkAnyBundleOnChain(bundle, chain.rpcUrl);
          assert.equal(verdict.status, "VERIFIED", JSON.stringify(verdict.checks.filter((c) => !c.ok)));
        }
      } finally {
        await verifier.close();
      }
    });
  });

  describe(`anvil, ${profile.name}: committee and claims`, { timeout: 300_000 }, () => {
    let bed: OracleTestbed;
    const oracles: TestOracle[] = [];
    const benA = newAccount();
    const benB = newAccount();
    const recipient = newAccount();
    // d1: 2 readings in 2 minutes, d2: 1 → A 3; d3: 1 through the relayer + 1 submitted directly → B 2.
    const expectedA = 3n * WEI;
    const expectedB = 2n * WEI;
    let latest: any[];

    before(async () => {
      bed = await startOracleTestbed(oracles, { node: profile.node, relayer: { confirmations: profile.confirmations } });
      const { audit, relayer } = bed;
      const d1 = await deviceFor(audit, "secp256k1", benA.address);
      const d2 = await deviceFor(audit, "p256", benA.address);
      const d3 = await deviceFor(audit, "p256", benB.address);
      const t0 = await nextMinute(audit);
      const domain = { chainId: audit.chainId, anchor: audit.anchor };
      const readings = [
        signedReading(d1, domain, { seq: 1, timestamp: t0 }),
        signedReading(d1, domain, { seq: 2, timestamp: t0 + 60 }),
        signedReading(d2, domain, { seq: 1, timestamp: t0 + 5 }),
        signedReading(d3, domain, { seq: 1, timestamp: t0 + 1 }),
      ];
      const accepted = await postJson(`${relayer.url}/v1/readings`, readings);
      assert.equal(accepted.status, 202, accepted.text);
      await untilMining(
        audit,
        async () => (await request(`${relayer.url}/v1/readings/${d3.address}/1`)).body?.status === "confirmed",
        "relayer batch confirmed",
      );
      const direct = signedReading(d3, domain, { seq: 2, timestamp: t0 + 61 });
      const submitter = profile.unfunded ? newAccount().key : audit.keys.stranger;
      const hash = await walletOn(audit, submitter, "audit").writeContract({
        address: audit.anchor,
        abi: readingAnchorAbi,
        functionName: "submitReading",
        args: [{ device: direct.device, seq: 2n, timestamp: BigInt(direct.timestamp), dataHash: direct.dataHash }, direct.signature],
      });
      await audit.publicClient.waitForTransactionReceipt({ hash });

      await startOracleMesh(bed, oracles, 3, { confirmations: profile.confirmations });
      latest = await allPosted(audit, oracles, expectedA + expectedB, "all three oracles see the posted root", 180_000);
    });

    after(async () => {
      await bed?.close();
    });

    it("the committee posts one root, priced by the reward chain's fee model", async () => {
      assert.equal(new Set(latest.map((e) => e.root)).size, 1);
      assert.equal(latest.filter((e) => e.postedByUs).length, 1);
      const model = await detectFeeModel(bed.reward.publicClient, { from: privateKeyToAccount(REWARD_PAYER_KEYS[0]).address });
      assert.equal(model.kind, profile.feeModel);
      await assertPriced(bed.reward.publicClient, latest[0].txHash, profile, "postRoot");
    });

    it("the claim CLI pays a direct claim and a relayed one", async () => {
      const { reward } = bed;
      // Only the account itself may claim(): on a paid chain it needs gas money, on a free one none.
      if (!profile.unfunded) await reward.fund(benA.address);
      const lines: string[] = [];
      const errors: string[] = [];
      const direct = await claimCli(
        ["--oracle", oracles[0].url],
        { REWARD_RPC_URL: reward.rpcUrl, BENEFICIARY_PRIVATE_KEY: benA.key },
        (l) => lines.push(l),
        (l) => errors.push(l),
      );
      assert.equal(direct, 0, errors.join("\n"));
      const relayed = await claimCli(
        ["--oracle", oracles[1].url, "--relayed", "--recipient", recipient.address],
        { REWARD_RPC_URL: reward.rpcUrl, BENEFICIARY_PRIVATE_KEY: benB.key, CLAIM_SENDER_PRIVATE_KEY: REWARD_PAYER_KEYS[1] },
        (l) => lines.push(l),
        (l) => errors.push(l),
      );
      assert.equal(relayed, 0, errors.join("\n"));
      const balance = (account: `0x${string}`) =>
        reward.publicClient.readContract({ address: reward.token, abi: rewardTokenAbi, functionName: "balanceOf", args: [account] });
      assert.deepEqual(
        [await balance(benA.address), await balance(recipient.address), await balance(benB.address)],
        [expectedA, expectedB, 0n],
      );
      for (const line of lines) await assertPriced(reward.publicClient, JSON.parse(line).txHash, profile, "claim");
      if (profile.unfunded) assert.equal(await reward.publicClient.getBalance({ address: benA.address }), 0n);
    });
  });
}
