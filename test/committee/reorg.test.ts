import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createTestClient, http } from "viem";

import type { AuditChain } from "../helpers/audit-chain.js";
import { newDevice, postJson, request, signedReading, waitFor, type TestDevice, type TestRelayer } from "../relayer/fixtures.js";
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
  type ManifestMirror,
  type OracleTestbed,
  type TestOracle,
} from "./fixtures.js";

const K = 3;

describe("oracle and audit-chain reorgs", { timeout: 240_000 }, () => {
  let audit: AuditChain;
  let relayer: TestRelayer;
  let mirror: ManifestMirror;
  let bed: OracleTestbed;
  let testClient: ReturnType<typeof createTestClient>;
  const oracles: TestOracle[] = [];
  const ben = newAccount();
  let device: TestDevice;
  let t0: number;

  const status = async (o: TestOracle) => (await request(`${o.url}/v1/status`)).body;
  const bothPosted = (total: bigint) => allPosted(audit, oracles, total, `both oracles post total ${total}`);

  before(async () => {
    bed = await startOracleTestbed(oracles);
    ({ audit, relayer, mirror } = bed);
    testClient = createTestClient({ mode: "hardhat", transport: http(audit.rpcUrl) });
    device = await deviceFor(audit, "secp256k1", ben.address);
    t0 = await nextMinute(audit);
    await submitConfirmed(bed, device, 1, t0);
    await startOracleMesh(bed, oracles, 2, { confirmations: K });
    await bothPosted(WEI);
  });

  after(async () => {
    await bed?.close();
  });

  it("a reorg shallower than K is seen, nothing is built on the orphaned batch, and the chain is re-read", async () => {
    const snapshot = await testClient.snapshot();
    const reading = signedReading(device, { chainId: audit.chainId, anchor: audit.anchor }, { seq: 2, timestamp: t0 + 60 });
    const { blockNumber } = await anchorManually(audit, mirror, [itemOf(reading)]);
    // Both oracles see the block at the head, unconfirmed.
    await waitFor(
      async () => (await Promise.all(oracles.map(status))).every((s) => s.head >= Number(blockNumber)),
      "oracles see the orphan-to-be",
    );
    for (const o of oracles) assert.ok((await status(o)).processedBlock < Number(blockNumber));
    const orphan = (await audit.publicClient.getBlock({ blockNumber })).hash;
    await testClient.revert({ id: snapshot });
    // Another history at the same heights.
    await audit.registerDevice({ scheme: "secp256k1", publicKey: newDevice("secp256k1").publicKey });
    await audit.mine(K + 12);
    assert.notEqual((await audit.publicClient.getBlock({ blockNumber })).hash, orphan, "the revert replaced the block");
    await waitFor(
      async () => {
        const texts = await Promise.all(oracles.map(async (o) => (await request(`${o.url}/metrics`)).text));
        return texts.every((t) => /sensorseal_oracle_reorgs_total\{depth="shallow"\} [1-9]/.test(t));
      },
      "shallow reorg counted",
      60_000,
    );
    await untilMining(
      audit,
      async () => (await Promise.all(oracles.map(status))).every((s) => s.processedBlock >= Number(blockNumber)),
      "past the orphaned height",
    );
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
    await untilMining(
      audit,
      async () => (await Promise.all(oracles.map(status))).every((s) => s.processedBlock > head),
      "oracles process blocks after the snapshot",
    );
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
    // Two full worker passes after the blocks were mined (the first may have started before them).
    await oracles[0].oracle.tick();
    await oracles[0].oracle.tick();
    assert.equal((await status(oracles[0])).processedBlock, before);
  });
});
