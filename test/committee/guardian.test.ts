/**
 * The committee against attacks 3 and 4 of ISSUE-11 (docs/TRUST-MODEL.md §0 "Device statuses", §4
 * "Challenge period with guardian veto"), with real chains and real oracles:
 * - a distributor with a challenge period: the committee waits while a root is pending (no failed post,
 *   no stuck oracle), re-posts an epoch whose root a guardian vetoed, and rewards flow again;
 * - a device revoked as compromised since C: its readings dated from C on, judged after the
 *   `DeviceCompromised` event, earn nothing (whenever anchored); its readings dated and anchored before C
 *   still earn (a reading anchored from C on fails "not revoked at anchoring", §0 rule 5).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createTestClient, createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { rewardDistributorAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { DEV_KEYS } from "../helpers/audit-chain.js";
import type { RewardChain } from "../helpers/reward-chain.js";
import { chainTime, request, signedReading } from "../relayer/fixtures.js";
import {
  allPosted,
  anchorManually,
  deviceFor,
  itemOf,
  newAccount,
  nextMinute,
  startOracleMesh,
  startOracleTestbed,
  submitConfirmed,
  untilMining,
  WEI,
  type OracleTestbed,
  type TestOracle,
} from "./fixtures.js";

const CHALLENGE_PERIOD = 3600n;

/** The distributor's admin (also its guardian in ignition/parameters/local.json) and a test client on the reward chain. */
function rewardControl(reward: RewardChain) {
  const transport = http(reward.rpcUrl);
  const chain = rpcChain(reward.chainId, "reward", reward.rpcUrl);
  const admin = createWalletClient({ account: privateKeyToAccount(DEV_KEYS.admin), chain, transport });
  const testClient = createTestClient({ mode: "hardhat", chain, transport });
  /** A distributor view, at `blockNumber` (default latest). */
  const read = (functionName: "lastEpoch" | "activeTotal" | "totalPosted" | "pendingRoot" | "currentRoot", blockNumber?: bigint) =>
    reward.publicClient.readContract({
      address: reward.distributor,
      abi: rewardDistributorAbi,
      functionName,
      ...(blockNumber === undefined ? {} : { blockNumber }),
    }) as Promise<any>;
  /** Sends as the admin; answers the block it was mined in. */
  async function send(functionName: "setChallengePeriod" | "vetoRoot", arg: bigint): Promise<bigint> {
    const hash = await admin.writeContract({ address: reward.distributor, abi: rewardDistributorAbi, functionName, args: [arg] });
    const receipt = await reward.publicClient.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, "success");
    return receipt.blockNumber;
  }
  return {
    read,
    pending: (): Promise<{ root: Hex; cumulativeTotal: bigint; epoch: bigint; toBlock: bigint; validAt: bigint }> => read("pendingRoot"),
    setChallengePeriod: (seconds: bigint) => send("setChallengePeriod", seconds),
    veto: (epoch: bigint) => send("vetoRoot", epoch),
    /** Moves the reward chain's clock past the challenge period and mines a block. */
    async endChallenge(): Promise<void> {
      await testClient.increaseTime({ seconds: Number(CHALLENGE_PERIOD) + 1 });
      await testClient.mine({ blocks: 1 });
    },
  };
}

async function metricsOf(o: TestOracle): Promise<string> {
  return (await request(`${o.url}/metrics`)).text;
}

describe("oracle committee: challenge period and guardian veto (attack 4)", { timeout: 300_000 }, () => {
  let bed: OracleTestbed;
  const oracles: TestOracle[] = [];
  const alice = newAccount();

  before(async () => {
    bed = await startOracleTestbed(oracles);
  });

  after(async () => {
    await bed?.close();
  });

  it("waits while a root is pending, re-posts a vetoed epoch, and pays again", async () => {
    const { audit, reward } = bed;
    const control = rewardControl(reward);
    await control.setChallengePeriod(CHALLENGE_PERIOD);
    const device = await deviceFor(audit, "secp256k1", alice.address);
    const t0 = await nextMinute(audit);
    await submitConfirmed(bed, device, 1, t0);
    await startOracleMesh(bed, oracles, 3);

    // Epoch 1 is posted and pending: nothing is payable yet.
    const first = await untilMining(
      audit,
      async () => {
        const p = await control.pending();
        return p.epoch === 1n ? p : undefined;
      },
      "epoch 1 pending",
    );
    assert.equal(first.cumulativeTotal, WEI);
    assert.equal(await control.read("lastEpoch"), 1n);
    assert.equal(await control.read("activeTotal"), 0n);

    // A second reward while epoch 1 is pending: every oracle signs epoch 2 and holds the threshold, but waits.
    await submitConfirmed(bed, device, 2, t0 + 60);
    const waiting = await untilMining(
      audit,
      async () => {
        const answers = await Promise.all(oracles.map((o) => request(`${o.url}/v1/epochs/latest`)));
        const ok = answers.every(
          (a) =>
            a.status === 200 && a.body.epoch === 2 && a.body.cumulativeTotal === (2n * WEI).toString() && a.body.signaturesCollected >= 2,
        );
        return ok ? answers.map((a) => a.body) : undefined;
      },
      "epoch 2 signed by the threshold while epoch 1 is pending",
    );
    assert.equal(new Set(waiting.map((e) => e.root)).size, 1);
    for (const e of waiting) assert.equal(e.posted, false);
    // More ticks while pending: still no post, no failure, no halt.
    await audit.mine(10);
    await untilMining(
      audit,
      async () => {
        const statuses = await Promise.all(oracles.map((o) => request(`${o.url}/v1/status`)));
        return statuses.every((s) => s.status === 200 && s.body.processedEpoch >= waiting[0].range + 1);
      },
      "oracles keep processing while the root is pending",
    );
    assert.equal(await control.read("lastEpoch"), 1n);
    assert.equal((await control.pending()).epoch, 1n);
    for (const o of oracles) {
      const metrics = await metricsOf(o);
      assert.doesNotMatch(metrics, /sensorseal_oracle_post_failures_total\{/);
      assert.match(metrics, /sensorseal_oracle_halted 0/);
    }

    // The guardian vetoes epoch 1: the distributor falls back to nothing posted.
    // (Read at the veto's block: the committee may re-post in the next one.)
    const vetoBlock = await control.veto(1n);
    assert.equal(await control.read("lastEpoch", vetoBlock), 0n);
    assert.equal(await control.read("totalPosted", vetoBlock), 0n);
    assert.equal((await control.read("pendingRoot", vetoBlock)).epoch, 0n);

    // The committee posts epoch 1 again (the same root: the chain did not change).
    const again = await untilMining(
      audit,
      async () => {
        const p = await control.pending();
        return p.epoch === 1n ? p : undefined;
      },
      "epoch 1 re-posted after the veto",
    );
    assert.equal(again.root, first.root);
    assert.equal(again.cumulativeTotal, WEI);
    assert.equal(await control.read("activeTotal"), 0n);

    // Its challenge period ends: epoch 1 pays, and the committee posts epoch 2.
    await control.endChallenge();
    const second = await untilMining(
      audit,
      async () => {
        const p = await control.pending();
        return p.epoch === 2n ? p : undefined;
      },
      "epoch 2 posted once epoch 1 is due",
    );
    assert.equal(second.cumulativeTotal, 2n * WEI);
    assert.equal(second.root, waiting[0].root);
    assert.equal(await control.read("lastEpoch"), 2n);
    assert.equal(await control.read("activeTotal"), WEI);

    await control.endChallenge();
    assert.equal((await control.pending()).epoch, 0n);
    assert.equal(await control.read("activeTotal"), 2n * WEI);
    assert.equal(await control.read("currentRoot"), second.root);
    const latest = await allPosted(audit, oracles, 2n * WEI, "every oracle sees epoch 2 posted");
    assert.deepEqual(
      latest.map((e) => [e.epoch, e.root, e.postedRoot]),
      oracles.map(() => [2, second.root, second.root]),
    );
    // Three posts in all (epoch 1, epoch 1 again, epoch 2): one oracle posted each.
    const posts = await Promise.all(
      oracles.map(async (o) => Number(/sensorseal_oracle_roots_posted_total (\d+)/.exec(await metricsOf(o))?.[1])),
    );
    assert.equal(
      posts.reduce((a, b) => a + b, 0),
      3,
    );
    for (const o of oracles) {
      const epoch1 = await request(`${o.url}/v1/epochs/1`);
      assert.equal(epoch1.body.posted, true);
      assert.equal(epoch1.body.postedRoot, first.root);
    }
  });
});

describe("oracle committee: a device revoked as compromised (attack 3)", { timeout: 300_000 }, () => {
  let bed: OracleTestbed;
  const oracles: TestOracle[] = [];
  const owner = newAccount();

  before(async () => {
    bed = await startOracleTestbed(oracles);
  });

  after(async () => {
    await bed?.close();
  });

  it("readings dated from `since` on earn nothing once judged after DeviceCompromised; older ones anchored before it still earn", async () => {
    const { audit, mirror } = bed;
    const device = await deviceFor(audit, "secp256k1", owner.address);
    // Let the device's registration lie well before the readings' times.
    const clock = createTestClient({ mode: "hardhat", transport: http(audit.rpcUrl) });
    await clock.increaseTime({ seconds: 600 });
    await audit.mine(1);
    // The second relayer is registered up front, so the batch and the revocation are one block each.
    await audit.registerRelayer({
      manifestUrl: mirror.url,
      relayer: privateKeyToAccount(audit.keys.stranger).address,
      receiptSigner: privateKeyToAccount(audit.keys.stranger).address,
    });
    // Anchoring and revocation in one epoch (blocks 10k … 10k + 9): the batch is judged after the event.
    const head = Number(await audit.publicClient.getBlockNumber({ cacheTime: 0 }));
    const toNextEpoch = (10 - ((head + 1) % 10)) % 10;
    if (toNextEpoch > 0) await audit.mine(toNextEpoch);
    const minute = Math.floor((await chainTime(audit)) / 60) * 60;
    const domain = { chainId: audit.chainId, anchor: audit.anchor };
    // Dated and anchored before `since`: still earns.
    const early = await anchorManually(audit, mirror, [itemOf(signedReading(device, domain, { seq: 1, timestamp: minute }))]);
    // Dated from `since` on (and so anchored after it): earn nothing once the compromise is known.
    const since = minute + 120;
    await clock.increaseTime({ seconds: 240 });
    const late = await anchorManually(audit, mirror, [
      itemOf(signedReading(device, domain, { seq: 2, timestamp: since })),
      itemOf(signedReading(device, domain, { seq: 3, timestamp: since + 60 })),
    ]);
    await audit.revokeCompromised(device.address, since);
    const revokedAt = await audit.publicClient.getBlockNumber({ cacheTime: 0 });
    assert.equal(early.blockNumber / 10n, revokedAt / 10n, "the batches and the revocation share an epoch");
    assert.equal(late.blockNumber / 10n, revokedAt / 10n, "the batches and the revocation share an epoch");

    await startOracleMesh(bed, oracles, 3);
    const latest = await allPosted(audit, oracles, WEI, "every oracle posts the reading dated before `since`");
    assert.equal(new Set(latest.map((e) => e.root)).size, 1);
    for (const o of oracles) {
      const ledger = await request(`${o.url}/v1/ledger`);
      assert.deepEqual(
        ledger.body.beneficiaries.map((b: any) => [b.beneficiary, b.cumulative, b.readings]),
        [[owner.address, WEI.toString(), 1]],
      );
      assert.match(await metricsOf(o), /sensorseal_oracle_readings_total\{reason="DEVICE_NOT_ACTIVE",result="rejected"\} 2/);
    }
    const { reward } = bed;
    assert.equal(
      await reward.publicClient.readContract({ address: reward.distributor, abi: rewardDistributorAbi, functionName: "activeTotal" }),
      WEI,
    );
  });
});
