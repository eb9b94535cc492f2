/**
 * Manifest copies between oracles (docs/TRUST-MODEL.md §1, "Copies from peers"): a relayer that serves
 * a batch's manifest to one oracle only (the first that asks), and a lying peer that answers every
 * manifest request with another manifest. Before: the oracles the relayer refused waited out D blocks
 * and EXCLUDED the batch while the one it served rewarded it — the committee split, its majority
 * posted a root without the batch. Now: they copy the manifest from the oracle that has it (checked
 * against the anchored hash, so the liar's copy is refused), and all post the same root with the batch.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";
import { keccak256, type Hex } from "viem";

import { buildBatch } from "../../oracle/core/manifest.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { ORACLE_KEYS } from "../helpers/reward-chain.js";
import { request, signedReading } from "../relayer/fixtures.js";
import {
  allPosted,
  anchorManually,
  deviceFor,
  itemOf,
  newAccount,
  nextMinute,
  startOracleTestbed,
  startTestOracle,
  submitConfirmed,
  WEI,
  type OracleTestbed,
  type TestOracle,
} from "./fixtures.js";

/** A relayer's manifest URL that serves each manifest once, to whoever asks first, then answers 404. */
async function startStingyRelayer(): Promise<{
  url: string;
  served: () => number;
  add(root: Hex, bytes: Uint8Array): void;
  close(): Promise<void>;
}> {
  const manifests = new Map<string, Uint8Array>();
  let served = 0;
  const app = express();
  app.get("/v1/batches/:id/manifest", (req, res) => {
    const key = String(req.params.id).toLowerCase();
    const bytes = manifests.get(key);
    if (bytes === undefined) {
      res.status(404).json({ error: { code: "BATCH_NOT_FOUND", message: "no such batch" } });
      return;
    }
    manifests.delete(key);
    served += 1;
    res.type("application/json").send(Buffer.from(bytes));
  });
  const server = await listen(app, 0);
  return {
    url: server.url,
    served: () => served,
    add: (root, bytes) => manifests.set(root.toLowerCase(), bytes),
    close: () => server.close(),
  };
}

/** A peer that answers every manifest request with `bytes` (another manifest than the one asked for). */
async function startLyingPeer(bytes: Uint8Array): Promise<RunningServer & { asked: () => number }> {
  let asked = 0;
  const app = express();
  app.get("/v1/manifests/:hash", (_req, res) => {
    asked += 1;
    res.type("application/octet-stream").send(Buffer.from(bytes));
  });
  return Object.assign(await listen(app, 0), { asked: () => asked });
}

describe("oracle committee: a manifest the relayer served to one oracle reaches every oracle through peers", { timeout: 300_000 }, () => {
  let bed: OracleTestbed;
  let stingy: Awaited<ReturnType<typeof startStingyRelayer>>;
  let liar: Awaited<ReturnType<typeof startLyingPeer>>;
  const oracles: TestOracle[] = [];
  const honest = newAccount();
  const served = newAccount();
  const attacker = newAccount();
  let manifestHash: Hex;
  let manifestBytes: Uint8Array;
  let latest: any[];

  before(async () => {
    bed = await startOracleTestbed(oracles);
    const { audit } = bed;
    stingy = await startStingyRelayer();
    const dH = await deviceFor(audit, "secp256k1", honest.address);
    const dS = await deviceFor(audit, "secp256k1", served.address);
    const dA = await deviceFor(audit, "secp256k1", attacker.address);
    const domain = { chainId: audit.chainId, anchor: audit.anchor };
    const t0 = await nextMinute(audit);
    // The liar's copy: a well-formed manifest of this chain, paying the attacker.
    const forged = buildBatch({
      chainId: audit.chainId,
      anchor: audit.anchor,
      items: [itemOf(signedReading(dA, domain, { seq: 1, timestamp: t0 }))],
    });
    liar = await startLyingPeer(forged.manifestBytes);

    await submitConfirmed(bed, dH, 1, t0);
    const anchored = await anchorManually(audit, stingy, [itemOf(signedReading(dS, domain, { seq: 1, timestamp: t0 }))]);
    manifestBytes = anchored.manifestBytes;
    manifestHash = keccak256(manifestBytes);

    // Three oracles, each asking the liar first and then the two others.
    const peers: string[][] = [[liar.url], [liar.url], [liar.url]];
    for (let i = 0; i < 3; i++)
      oracles.push(
        await startTestOracle({
          audit,
          reward: bed.reward,
          key: ORACLE_KEYS[i],
          dir: bed.dir,
          name: `p${i}`,
          sources: [],
          peers: peers[i],
        }),
      );
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) if (i !== j) peers[i].push(oracles[j].url);
    latest = await allPosted(audit, oracles, 2n * WEI, "every oracle posts the root with the stingy relayer's batch", 120_000);
  });

  after(async () => {
    await bed?.close();
    await stingy?.close();
    await liar?.close();
  });

  it("the relayer served its manifest once, the liar was asked, and every oracle posts the same root", () => {
    assert.equal(stingy.served(), 1);
    assert.ok(liar.asked() >= 2, `the liar was asked ${liar.asked()} times`);
    assert.equal(new Set(latest.map((e) => e.root)).size, 1);
  });

  it("every oracle rewards the batch (not the liar's manifest) and serves the anchored bytes to its peers", async () => {
    for (const o of oracles) {
      const ledger = await request(`${o.url}/v1/ledger`);
      assert.deepEqual(
        ledger.body.beneficiaries.map((b: any) => [b.beneficiary, b.cumulative]).sort(),
        [
          [honest.address, WEI.toString()],
          [served.address, WEI.toString()],
        ].sort(),
      );
      const res = await fetch(`${o.url}/v1/manifests/${manifestHash}`);
      assert.equal(res.status, 200);
      assert.deepEqual(new Uint8Array(await res.arrayBuffer()), manifestBytes);
    }
  });

  it("bad input: a malformed hash is 400 INVALID_MANIFEST_HASH, an unknown one 404 MANIFEST_NOT_FOUND", async () => {
    const bad = await request(`${oracles[0].url}/v1/manifests/0x1234`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "INVALID_MANIFEST_HASH");
    const unknown = await request(`${oracles[0].url}/v1/manifests/0x${"ab".repeat(32)}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, "MANIFEST_NOT_FOUND");
  });
});
