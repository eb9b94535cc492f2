/**
 * The committee against the attacks of ISSUE-11 (docs/TRUST-MODEL.md §1, §2, §5, §7): a relayer that
 * withholds a manifest or serves an oversized one, a future-dated reading, and direct submissions in
 * any seq order. Before: the withheld manifest stopped every epoch (processedEpoch 0, totalPosted 0
 * forever), the future reading earned, direct submissions earned nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi, rewardDistributorAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { buildBatch } from "../../oracle/core/manifest.js";
import { maxManifestBytes } from "../../oracle/committee/manifests.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import { request, signedReading, type ReadingBody } from "../relayer/fixtures.js";
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
  WEI,
  type OracleTestbed,
  type TestOracle,
} from "./fixtures.js";

/** Submits a reading directly on the audit chain (`submitReading`), from the stranger account. */
async function submitDirect(audit: AuditChain, body: ReadingBody): Promise<void> {
  const wallet = createWalletClient({
    account: privateKeyToAccount(audit.keys.stranger),
    chain: rpcChain(audit.chainId, "audit", audit.rpcUrl),
    transport: http(audit.rpcUrl),
  });
  const hash = await wallet.writeContract({
    address: audit.anchor,
    abi: readingAnchorAbi,
    functionName: "submitReading",
    args: [{ device: body.device, seq: BigInt(body.seq), timestamp: BigInt(body.timestamp), dataHash: body.dataHash }, body.signature],
  });
  assert.equal((await audit.publicClient.waitForTransactionReceipt({ hash })).status, "success");
}

describe("oracle committee: one bad batch fails only itself; one timestamp rule; direct submissions", { timeout: 300_000 }, () => {
  let bed: OracleTestbed;
  const oracles: TestOracle[] = [];
  const honest = newAccount();
  const attacker = newAccount();
  const direct = newAccount();
  // honest: 2 readings via the relayer; direct: seq 2 then seq 1 submitted on-chain (both earn).
  // attacker: a withheld batch, an oversized one, a reading dated a year ahead — nothing.
  const total = 4n * WEI;
  let latest: any[];

  before(async () => {
    bed = await startOracleTestbed(oracles);
    const { audit, mirror } = bed;
    const dH = await deviceFor(audit, "secp256k1", honest.address);
    const dW = await deviceFor(audit, "secp256k1", attacker.address);
    const dO = await deviceFor(audit, "p256", attacker.address);
    const dF = await deviceFor(audit, "secp256k1", attacker.address);
    const dD = await deviceFor(audit, "secp256k1", direct.address);
    const domain = { chainId: audit.chainId, anchor: audit.anchor };
    const t0 = await nextMinute(audit);

    await submitConfirmed(bed, dH, 1, t0);
    // A second registered relayer anchors a batch and never serves its manifest.
    await anchorManually(audit, mirror, [itemOf(signedReading(dW, domain, { seq: 1, timestamp: t0 }))], { publish: false });
    // It serves another one padded past maxManifestBytes (the bytes do hash to the anchored manifestHash).
    const oversizedItems = [itemOf(signedReading(dO, domain, { seq: 1, timestamp: t0 }))];
    const real = buildBatch({ chainId: audit.chainId, anchor: audit.anchor, items: oversizedItems }).manifestBytes;
    const padded = new Uint8Array(maxManifestBytes(1) + 1);
    padded.fill(0x20);
    padded.set(real);
    await anchorManually(audit, mirror, oversizedItems, { manifestBytes: padded });
    // A reading dated a year after its anchoring.
    await anchorManually(audit, mirror, [itemOf(signedReading(dF, domain, { seq: 1, timestamp: t0 + 365 * 86_400 }))]);
    // Direct submissions: a higher seq first, then a lower one (each (device, seq) earns once, any order).
    await submitDirect(audit, signedReading(dD, domain, { seq: 2, timestamp: t0 + 60 }));
    await submitDirect(audit, signedReading(dD, domain, { seq: 1, timestamp: t0 }));
    // The honest relayer keeps anchoring while the withheld batch waits out D blocks.
    await submitConfirmed(bed, dH, 2, t0 + 60);

    await startOracleMesh(bed, oracles, 3);
    // Past D (manifestAvailabilityBlocks, 100 on the local chains): the missing manifests are final.
    await audit.mine(100);
    latest = await allPosted(audit, oracles, total, "every oracle sees the root with the withheld batch excluded", 120_000);
  });

  after(async () => {
    await bed?.close();
  });

  it("roots keep being posted and every oracle posts the same root", async () => {
    assert.equal(new Set(latest.map((e) => e.root)).size, 1);
    const { reward } = bed;
    const totalPosted = await reward.publicClient.readContract({
      address: reward.distributor,
      abi: rewardDistributorAbi,
      functionName: "totalPosted",
    });
    assert.equal(totalPosted, total);
  });

  it("the withheld and the oversized batch are EXCLUDED and earn nothing; the future reading earns nothing", async () => {
    for (const o of oracles) {
      const ledger = await request(`${o.url}/v1/ledger`);
      assert.deepEqual(
        ledger.body.beneficiaries.map((b: any) => [b.beneficiary, b.cumulative, b.readings]).sort(),
        [
          [honest.address, (2n * WEI).toString(), 2],
          [direct.address, (2n * WEI).toString(), 2],
        ].sort(),
      );
      const metrics = (await request(`${o.url}/metrics`)).text;
      assert.match(metrics, /sensorseal_oracle_batches_total\{reason="MANIFEST_UNAVAILABLE",status="excluded"\} 2/);
      assert.match(metrics, /sensorseal_oracle_readings_total\{reason="FUTURE_TIMESTAMP",result="rejected"\} 1/);
    }
  });
});
