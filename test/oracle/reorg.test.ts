import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createTestClient, http } from "viem";

import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { ORACLE_KEYS, startRewardChain, type RewardChain } from "../helpers/reward-chain.js";
import { chainTime, newDevice, postJson, request, signedReading, startTestRelayer, tempDir, waitFor, type TestDevice, type TestRelayer } from "../relayer/fixtures.js";
import { anchorManually, deviceFor, itemOf, newAccount, postedWithTotal, startManifestMirror, startTestOracle, untilMining, WEI, type TestOracle } from "./fixtures.js";

const K = 3;

describe("oracle and audit-chain reorgs", { timeout: 240_000 }, () => {
  let audit: AuditChain;
  let reward: RewardChain;
  let relayer: TestRelayer;
  let mirror: Awaited<ReturnType<typeof startManifestMirror>>;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let testClient: ReturnType<typeof createTestClient>;
  const oracles: TestOracle[] = [];
  const ben = newAccount();
  let device: TestDevice;
  let t0: number;

  const status = async (o: TestOracle) => (await request(`${o.url}/v1/status`)).body;
  const bothPosted = (total: bigint) =>
    untilMining(audit, async () => {
      const answers = await Promise.all(oracles.map((o) => postedWithTotal(o.url, total)));
      return answers.every((a) => a !== undefined) ? answers : undefined;
    }, `both oracles post total ${total}`);

  before(async () => {
    dir = await tempDir();
    [audit, reward] = await Promise.all([startAuditChain(), startRewardChain()]);
    testClient = createTestClient({ mode: "hardhat", transport: http(audit.rpcUrl) });
    relayer = await startTestRelayer(audit, { databaseUrl: `${dir.dir}/relayer.sqlite` });
    mirror = await startManifestMirror();
    device = await deviceFor(audit, "secp256k1", ben.address);
    t0 = (Math.floor((await chainTime(audit)) / 60) + 1) * 60;
    const first = signedReading(device, { chainId: audit.chainId, anchor: audit.anchor }, { seq: 1, timestamp: t0 });
    assert.equal((await postJson(`${relayer.url}/v1/readings`, first)).status, 202);
    await waitFor(async () => (await request(`${relayer.url}/v1/readings/${device.address}/1`)).body?.status === "confirmed", "reading 1 confirmed");
    const peers: string[][] = [[], []];
    for (let i = 0; i < 2; i++) {
      oracles.push(await startTestOracle({ audit, reward, key: ORACLE_KEYS[i], dir: dir.dir, name: `o${i}`, sources: [relayer.url, mirror.url], peers: peers[i], confirmations: K }));
    }
    peers[0].push(oracles[1].url);
    peers[1].push(oracles[0].url);
    await bothPosted(WEI);
  });

  after(async () => {
    await Promise.all(oracles.map((o) => o.close()));
    await relayer?.close();
    await mirror?.close();
    await reward?.close();
    await audit?.close();
    await dir?.remove();
  });

  it("a reorg shallower than K is seen, nothing is built on the orphaned batch, and the chain is re-read", async () => {
    const snapshot = await testClient.snapshot();
    const reading = signedReading(device, { chainId: audit.chainId, anchor: audit.anchor }, { seq: 2, timestamp: t0 + 60 });
    const { blockNumber } = await anchorManually(audit, mirror, [itemOf(reading)]);
    // Both oracles see the block at the head, unconfirmed.
    await waitFor(async () => (await Promise.all(oracles.map(status))).every((s) => s.head >= Number(blockNumber)), "oracles see the orphan-to-be");
    for (const o of oracles) assert.ok((await status(o)).processedBlock < Number(blockNumber));
    const orphan = (await audit.publicClient.getBlock({ blockNumber })).hash;
    await testClient.revert({ id: snapshot });
    // Another history at the same heights.
    await audit.registerDevice({ scheme: "secp256k1", publicKey: newDevice("secp256k1").publicKey });
    await audit.mine(K + 12);
    assert.notEqual((await audit.publicClient.getBlock({ blockNumber })).hash, orphan, "the revert replaced the block");
    await waitFor(async () => {
      const texts = await Promise.all(oracles.map(async (o) => (await request(`${o.url}/metrics`)).text));
      return texts.every((t) => /sensorseal_oracle_reorgs_total\{depth="shallow"\} [1-9]/.test(t));
    }, "shallow reorg counted", 60_000);
    await untilMining(audit, async () => (await Promise.all(oracles.map(status))).every((s) => s.processedBlock >= Number(blockNumber)), "past the orphaned height");
    for (const o of oracles) {
      const ledger = (await request(`${o.url}/v1/ledger`)).body;
      assert.equal(ledger.total, WEI.toString());
      assert.equal(ledger.beneficiaries[0].readings, 1);
      assert.equal((await request(`${o.url}/readyz`)).status, 200);
    }
    // The same reading, anchored for real this time, is rewarded once.
    assert.equal((await postJson(`${relayer.url}/v1/readings`, reading)).status, 202);
    await bothPosted(2n * WEI);
  });

  it("a reorg deeper than K halts every oracle with a clear report; /readyz says not ready", async () => {
    const snapshot = await testClient.snapshot();
    const head = Number(await audit.publicClient.getBlockNumber({ cacheTime: 0 }));
    await untilMining(audit, async () => (await Promise.all(oracles.map(status))).every((s) => s.processedBlock > head), "oracles process blocks after the snapshot");
    const processed = (await status(oracles[0])).processedBlock;
    await testClient.revert({ id: snapshot });
    await audit.registerDevice({ scheme: "secp256k1", publicKey: newDevice("secp256k1").publicKey });
    await audit.mine(40);
    const reports = await waitFor(async () => {
      const s = await Promise.all(oracles.map(status));
      return s.every((x) => x.halted !== null) ? s.map((x) => x.halted) : undefined;
    }, "oracles halt");
    for (const report of reports) {
      assert.equal(report.reason, "DEEP_REORG");
      assert.ok(report.block > head && report.block <= processed, `reported block ${report.block} in (${head}, ${processed}]`);
      assert.notEqual(report.chainHash, report.storedHash);
      assert.equal(report.confirmations, K);
      assert.match(report.message, /deeper than the confirmation depth/);
    }
    for (const o of oracles) {
      const ready = await request(`${o.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, "not_ready");
      assert.match((await request(`${o.url}/metrics`)).text, /sensorseal_oracle_halted 1/);
    }
    // Halted: nothing more is processed.
    const before = (await status(oracles[0])).processedBlock;
    await audit.mine(20);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await status(oracles[0])).processedBlock, before);
  });
});
