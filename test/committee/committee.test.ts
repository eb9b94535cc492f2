import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";

import { createWalletClient, getAddress, http, parseEventLogs, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { rewardDistributorAbi, rewardTokenAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { claimCli } from "../../oracle/claim/cli.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import { REWARD_PAYER_KEYS, type RewardChain } from "../helpers/reward-chain.js";
import { postJson, request, signedReading, waitFor, type TestRelayer } from "../relayer/fixtures.js";
import {
  allPosted,
  anchorManually,
  deviceFor,
  itemOf,
  newAccount,
  nextMinute,
  startOracleMesh,
  startOracleTestbed,
  WEI,
  type ManifestMirror,
  type OracleTestbed,
  type TestOracle,
} from "./fixtures.js";

describe("oracle committee: three oracles, two chains, a real relayer", { timeout: 240_000 }, () => {
  let audit: AuditChain;
  let reward: RewardChain;
  let relayer: TestRelayer;
  let mirror: ManifestMirror;
  let bed: OracleTestbed;
  const oracles: TestOracle[] = [];
  const benA = newAccount();
  const benB = newAccount();
  const recipient = newAccount();
  // Rules v2: d1 3 readings in 3 minutes, d2 2 readings in one minute (1 rewarded), d3 2 + 1 (manual batch) → A 4, B 3.
  const expectedA = 4n * WEI;
  const expectedB = 3n * WEI;
  const total = expectedA + expectedB;
  let latest: any;

  before(async () => {
    bed = await startOracleTestbed(oracles);
    ({ audit, reward, relayer, mirror } = bed);
    const d1 = await deviceFor(audit, "secp256k1", benA.address);
    const d2 = await deviceFor(audit, "p256", benA.address);
    const d3 = await deviceFor(audit, "secp256k1", benB.address);
    const t0 = await nextMinute(audit);
    const domain = { chainId: audit.chainId, anchor: audit.anchor };
    const readings = [
      signedReading(d1, domain, { seq: 1, timestamp: t0 }),
      signedReading(d1, domain, { seq: 2, timestamp: t0 + 60 }),
      signedReading(d1, domain, { seq: 3, timestamp: t0 + 120 }),
      signedReading(d2, domain, { seq: 1, timestamp: t0 + 5 }),
      signedReading(d2, domain, { seq: 2, timestamp: t0 + 15 }),
      signedReading(d3, domain, { seq: 1, timestamp: t0 + 1 }),
      signedReading(d3, domain, { seq: 2, timestamp: t0 + 61 }),
    ];
    const accepted = await postJson(`${relayer.url}/v1/readings`, readings);
    assert.equal(accepted.status, 202, accepted.text);
    await waitFor(
      async () => (await request(`${relayer.url}/v1/readings/${d3.address}/2`)).body?.status === "confirmed",
      "relayer batch confirmed",
    );

    // A second relayer anchors: a replay (d1 seq 2), a forged signature (d3 seq 3 signed by d1's key), one valid reading.
    const forged = signedReading(d1, domain, { seq: 3, timestamp: t0 + 150 });
    const valid = signedReading(d3, domain, { seq: 4, timestamp: t0 + 180 });
    await anchorManually(audit, mirror, [
      itemOf(readings[1]),
      { ...itemOf(forged), reading: { ...itemOf(forged).reading, device: d3.address } },
      itemOf(valid),
    ]);

    await startOracleMesh(bed, oracles, 3);
    latest = await allPosted(audit, oracles, total, "all three oracles see the posted root");
  });

  after(async () => {
    await bed?.close();
  });

  it("all three reach the same root; exactly one posts it; the chain holds it", async () => {
    const roots = new Set(latest.map((e: any) => e.root));
    assert.equal(roots.size, 1);
    const [e] = latest;
    assert.equal(e.cumulativeTotal, total.toString());
    assert.equal(e.rulesVersion, 2);
    assert.ok(latest.every((x: any) => x.epoch === e.epoch && x.txHash === e.txHash && x.postedRoot === e.root));
    assert.equal(latest.filter((x: any) => x.postedByUs).length, 1);
    assert.ok(e.signaturesCollected >= 2);
    const onChain = await reward.publicClient.readContract({
      address: reward.distributor,
      abi: rewardDistributorAbi,
      functionName: "currentRoot",
    });
    assert.equal(onChain, e.root);
    assert.equal(
      await reward.publicClient.readContract({ address: reward.distributor, abi: rewardDistributorAbi, functionName: "totalPosted" }),
      total,
    );
    const receipt = await reward.publicClient.getTransactionReceipt({ hash: e.txHash });
    const posted = parseEventLogs({ abi: rewardDistributorAbi, logs: receipt.logs, eventName: "RootPosted" });
    assert.equal(posted.length, 1);
    assert.equal(posted[0].args.epoch, BigInt(e.epoch));
    assert.equal(posted[0].args.fromBlock, BigInt(e.fromBlock));
  });

  it("the ledger has the rules' amounts, and rejected readings are counted", async () => {
    for (const o of oracles) {
      const ledger = await request(`${o.url}/v1/ledger`);
      assert.equal(ledger.status, 200);
      assert.equal(ledger.body.total, total.toString());
      assert.deepEqual(
        ledger.body.beneficiaries.map((b: any) => [b.beneficiary, b.cumulative, b.readings]),
        [
          [benA.address, expectedA.toString(), 4],
          [benB.address, expectedB.toString(), 3],
        ],
      );
      const metrics = (await request(`${o.url}/metrics`)).text;
      assert.match(metrics, /sensorseal_oracle_readings_total\{reason="DUPLICATE_SEQUENCE",result="rejected"\} 1/);
      assert.match(metrics, /sensorseal_oracle_readings_total\{reason="INVALID_SIGNATURE",result="rejected"\} 1/);
      assert.match(metrics, /sensorseal_oracle_readings_total\{reason="SAME_MINUTE",result="rejected"\} 1/);
      assert.match(metrics, /sensorseal_oracle_readings_total\{result="rewarded"\} 7/);
    }
  });

  it("serves proofs; a direct claim pays the account the rules' amount", async () => {
    const claim = await request(`${oracles[1].url}/v1/claims/${benA.address}`);
    assert.equal(claim.status, 200);
    assert.equal(claim.body.account, benA.address);
    assert.equal(claim.body.cumulative, expectedA.toString());
    assert.equal(claim.body.distributor, reward.distributor);
    assert.equal(claim.body.chainId, reward.chainId);
    assert.equal(claim.body.root, latest[0].root);
    // Only the account itself may claim() (a third party would submit its signed claim).
    await reward.fund(benA.address);
    const payer = createWalletClient({
      account: privateKeyToAccount(benA.key),
      chain: rpcChain(reward.chainId, "reward", reward.rpcUrl),
      transport: http(reward.rpcUrl),
    });
    const hash = await payer.writeContract({
      address: reward.distributor,
      abi: rewardDistributorAbi,
      functionName: "claim",
      args: [claim.body.account, claim.body.token, BigInt(claim.body.cumulative), claim.body.proof as Hex[]],
    });
    await reward.publicClient.waitForTransactionReceipt({ hash });
    assert.equal(
      await reward.publicClient.readContract({
        address: reward.token,
        abi: rewardTokenAbi,
        functionName: "balanceOf",
        args: [benA.address],
      }),
      expectedA,
    );
    const none = await request(`${oracles[0].url}/v1/claims/${newAccount().address}`);
    assert.equal(none.status, 404);
    assert.equal(none.body.error.code, "NO_ENTITLEMENT");
  });

  it("the claim CLI pays a relayed claim to the named recipient, then refuses a second claim", async () => {
    const lines: string[] = [];
    const errors: string[] = [];
    const env = { REWARD_RPC_URL: reward.rpcUrl, BENEFICIARY_PRIVATE_KEY: benB.key, CLAIM_SENDER_PRIVATE_KEY: REWARD_PAYER_KEYS[1] };
    const code = await claimCli(
      ["--oracle", "http://127.0.0.1:1", "--oracle", oracles[2].url, "--relayed", "--recipient", recipient.address],
      env,
      (l) => lines.push(l),
      (l) => errors.push(l),
    );
    assert.equal(code, 0, errors.join("\n"));
    const out = JSON.parse(lines[0]);
    assert.equal(out.amount, expectedB.toString());
    assert.equal(getAddress(out.recipient), recipient.address);
    assert.equal(
      await reward.publicClient.readContract({
        address: reward.token,
        abi: rewardTokenAbi,
        functionName: "balanceOf",
        args: [recipient.address],
      }),
      expectedB,
    );
    assert.equal(
      await reward.publicClient.readContract({
        address: reward.token,
        abi: rewardTokenAbi,
        functionName: "balanceOf",
        args: [benB.address],
      }),
      0n,
    );
    const again: string[] = [];
    assert.equal(
      await claimCli(
        ["--oracle", oracles[2].url, "--relayed"],
        env,
        () => {},
        (l) => again.push(l),
      ),
      1,
    );
    assert.match(again.join("\n"), /NOTHING_TO_CLAIM/);
  });

  it("the claim CLI (scripts/claim.ts) exits non-zero with a clear message for an account without entitlement", async () => {
    const stranger = newAccount();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "scripts/claim.ts", "--oracle", oracles[0].url, "--account", stranger.address],
      {
        env: { ...process.env, REWARD_RPC_URL: reward.rpcUrl, CLAIM_SENDER_PRIVATE_KEY: REWARD_PAYER_KEYS[1] },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`NO_ENTITLEMENT: account ${stranger.address} has no reward entitlement`));
  });
});
