/**
 * The verifier against a real stack (chain, platform and relayer on SQLite files, HTTP), with real
 * tampering: stored payload bytes changed, rows deleted, a second signed payload for a seq, a
 * reading signed after revocation and anchored directly, a batch anchored with a wrong manifest
 * hash, a bad signature, a gap, a reading never anchored. Each is caught with its exact status; the
 * untouched readings stay VERIFIED.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createTestClient, http, type Address } from "viem";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { keccak256Hex } from "../../oracle/core/keccak.js";
import { ReadingVerdict, type ReadingResult, type Report } from "../../oracle/verifier/types.js";
import { Verifier } from "../../oracle/verifier/verifier.js";
import { chainTime, registeredDevice, startStack, type SignedPayload, type Stack, type TestDevice } from "./fixtures.js";

const statuses = (report: Report, device: Address) =>
  Object.fromEntries(report.readings.filter((r) => r.device === device).map((r) => [r.seq, r.status]));

describe("verifier: tampering with a real platform, relayer and chain", { timeout: 300_000 }, () => {
  let stack: Stack;
  let verifier: Verifier;
  const dev = {} as Record<"a" | "b" | "c" | "d" | "e" | "f" | "g" | "h", TestDevice>;
  const sent = {} as Record<string, SignedPayload>;
  let directBatch: number;
  let wrongHashBatch: number;
  let report: Report;

  before(async () => {
    stack = await startStack();
    const { chain } = stack;
    for (const [name, scheme] of [
      ["a", "secp256k1"],
      ["b", "p256"],
      ["c", "secp256k1"],
      ["d", "p256"],
      ["e", "secp256k1"],
      ["f", "p256"],
      ["g", "secp256k1"],
      ["h", "secp256k1"],
    ] as const)
      dev[name] = await registeredDevice(chain, scheme);
    const t0 = await chainTime(chain);

    // Honest traffic through both services.
    for (const [name, seqs] of [
      ["a", [1, 2, 3, 4]],
      ["b", [1, 2, 3]],
      ["c", [1, 2, 4]],
      ["d", [1]],
      ["f", [1, 2]],
    ] as const)
      for (const seq of seqs) sent[`${name}${seq}`] = await stack.send(dev[name], seq, t0 + seq);
    for (const [name, seqs] of [
      ["a", [1, 2, 3, 4]],
      ["b", [1, 2, 3]],
      ["c", [1, 2, 4]],
      ["d", [1]],
      ["f", [1, 2]],
    ] as const)
      await stack.waitAnchored(dev[name].address, [...seqs]);
    // g: raw data only, never given to the relayer.
    sent.g1 = stack.sign(dev.g, 1, t0 + 1);
    assert.equal(await stack.sendPlatform(sent.g1), 201);

    // 1. Change bytes of a stored payload (a2): a digit of temperature_c.
    const db = stack.platformDb();
    const row = db.prepare("SELECT payload FROM readings WHERE device = ? AND seq = 2").get(dev.a.address.toLowerCase()) as {
      payload: Buffer;
    };
    const text = row.payload.toString("utf8").replace(/"temperature_c":20\.2/, '"temperature_c":29.2');
    assert.notEqual(text, row.payload.toString("utf8"));
    db.prepare("UPDATE readings SET payload = ? WHERE device = ? AND seq = 2").run(Buffer.from(text), dev.a.address.toLowerCase());
    // 2. Delete a row (b2).
    assert.equal(db.prepare("DELETE FROM readings WHERE device = ? AND seq = 2").run(dev.b.address.toLowerCase()).changes, 1);
    db.close();
    // 3. Equivocation (f2): the device signs a second payload for seq 2; the platform keeps it as evidence.
    sent.f2b = stack.sign(dev.f, 2, t0 + 2, { pm10_ugm3: 99 });
    assert.equal(await stack.sendPlatform(sent.f2b), 409);

    // The relayer is idle from here: direct anchoring with its key does not race its nonces.
    await stack.relayer.close();

    // 4. Revoke d, then d signs seq 2 after; h1 is signed by a key that is not h's. Anchored directly.
    await chain.revoke(dev.d.address);
    await chain.mine(1, 5);
    const t1 = await chainTime(chain);
    sent.d2 = stack.sign(dev.d, 2, t1 + 1);
    const impostor = { ...dev.a, address: dev.h.address };
    sent.h1 = stack.sign(impostor, 1, t1 + 1);
    stack.insertRaw(sent.d2);
    stack.insertRaw(sent.h1);
    const direct = await stack.anchorDirect([sent.d2, sent.h1]);
    directBatch = direct.batchId;

    // 5. A batch anchored with a wrong manifest hash (e1, e2: raw data on the platform).
    sent.e1 = stack.sign(dev.e, 1, t1 + 1);
    sent.e2 = stack.sign(dev.e, 2, t1 + 2);
    assert.equal(await stack.sendPlatform(sent.e1), 201);
    assert.equal(await stack.sendPlatform(sent.e2), 201);
    const wrong = await stack.anchorDirect([sent.e1, sent.e2], keccak256Hex(new TextEncoder().encode("not the manifest")));
    wrongHashBatch = wrong.batchId;

    // g1 is never anchored: past its time + maxAnchorDelay (86 400 s in local.json) it can no longer be,
    // so it is NOT_ANCHORED rather than PENDING (still in flight).
    await createTestClient({ mode: "hardhat", transport: http(chain.rpcUrl) }).increaseTime({ seconds: 90_000 });
    await chain.mine(1);

    // The relayer's read API is still needed: restart it on the same store, idle (no worker).
    verifier = await Verifier.create({
      rpc: stack.chain.rpcUrl,
      anchor: stack.chain.anchor,
      platform: { url: stack.platformUrl, apiKey: stack.apiKey },
      relayer: await restartRelayerReadOnly(stack),
      // Directly anchored batches are published elsewhere: the verifier takes mirrors.
      manifests: [direct.batch.manifestBytes, wrong.batch.manifestBytes],
      threads: 2,
    });
    report = await verifier.verifyAll();
  });

  after(async () => {
    await verifier?.close();
    await stack?.close();
  });

  it("reports changed payload bytes as TAMPERED, and the device's other readings as VERIFIED", () => {
    assert.deepEqual(statuses(report, dev.a.address), { 1: "VERIFIED", 2: "TAMPERED", 3: "VERIFIED", 4: "VERIFIED" });
    const a2 = report.readings.find((r) => r.device === dev.a.address && r.seq === 2)!;
    assert.equal(a2.anchoredDataHash, sent.a2.reading.dataHash);
    assert.notEqual(a2.payloadHash, sent.a2.reading.dataHash);
  });

  it("reports a deleted row as RAW_MISSING", () => {
    assert.deepEqual(statuses(report, dev.b.address), { 1: "VERIFIED", 2: "RAW_MISSING", 3: "VERIFIED" });
  });

  it("reports a missing seq as SEQUENCE_GAP", () => {
    assert.deepEqual(statuses(report, dev.c.address), { 1: "VERIFIED", 2: "VERIFIED", 3: "SEQUENCE_GAP", 4: "VERIFIED" });
  });

  it("reports two signed payloads for one seq as EQUIVOCATION", () => {
    assert.deepEqual(statuses(report, dev.f.address), { 1: "VERIFIED", 2: "EQUIVOCATION" });
  });

  it("reports a reading signed after revocation as DEVICE_NOT_ACTIVE, the one before as VERIFIED", async () => {
    assert.deepEqual(statuses(report, dev.d.address), { 1: "VERIFIED", 2: "DEVICE_NOT_ACTIVE" });
    // The chain's own view agrees.
    const d2 = report.readings.find((r) => r.device === dev.d.address && r.seq === 2)!;
    assert.equal(d2.anchor?.batchId, directBatch);
  });

  it("reports a reading signed by another key as BAD_SIGNATURE", () => {
    assert.deepEqual(statuses(report, dev.h.address), { 1: "BAD_SIGNATURE" });
  });

  it("reports raw data that no batch anchors as NOT_ANCHORED", () => {
    assert.deepEqual(statuses(report, dev.g.address), { 1: "NOT_ANCHORED" });
  });

  it("reports readings of a batch anchored with a wrong manifest hash as MANIFEST_MISMATCH, and the batch audit says why", async () => {
    assert.deepEqual(statuses(report, dev.e.address), { 1: "MANIFEST_MISMATCH", 2: "MANIFEST_MISMATCH" });
    const audit = await verifier.auditBatch(wrongHashBatch);
    assert.equal(audit.ok, false);
    assert.deepEqual(
      audit.issues.map((i) => i.issue),
      ["MANIFEST_HASH_MISMATCH"],
    );
    const onChain = await stack.chain.publicClient.readContract({
      address: stack.chain.anchor,
      abi: readingAnchorAbi,
      functionName: "getBatch",
      args: [BigInt(wrongHashBatch)],
    });
    assert.equal(audit.manifestHash, onChain.manifestHash);
  });

  it("counts: nothing else is wrong, and the report is not ok", () => {
    assert.equal(report.ok, false);
    const bad = report.readings.filter((r) => r.status !== ReadingVerdict.VERIFIED).length;
    assert.equal(bad, 9);
    assert.equal(report.counts.VERIFIED, 10);
    const relayerBatches = report.batches!.filter((b) => b.batchId !== directBatch && b.batchId !== wrongHashBatch);
    assert.ok(relayerBatches.length >= 1);
    for (const b of relayerBatches) assert.equal(b.ok, true, JSON.stringify(b.issues));
  });

  it("verifies one reading and a device time range the same way", async () => {
    const fresh = await Verifier.create({
      rpc: stack.chain.rpcUrl,
      anchor: stack.chain.anchor,
      platform: { url: stack.platformUrl, apiKey: stack.apiKey },
      relayer: stack.relayerUrl,
    });
    try {
      const one: ReadingResult = await fresh.verifyReading(dev.a.address, 3);
      assert.equal(one.status, "VERIFIED");
      assert.ok(one.anchor?.batchId);
      assert.equal((await fresh.verifyReading(dev.a.address, 2)).status, "TAMPERED");
      const ts = Number(sent.a2.reading.timestamp);
      const range = await fresh.verifyDevice(dev.a.address, { from: ts, to: ts + 1 });
      assert.deepEqual(statuses(range, dev.a.address), { 2: "TAMPERED", 3: "VERIFIED" });
    } finally {
      await fresh.close();
    }
  });
});

/** The relayer again on its SQLite file, serving reads only (its worker is not started). */
async function restartRelayerReadOnly(stack: Stack): Promise<string> {
  const { startTestRelayer } = await import("../relayer/fixtures.js");
  const again = await startTestRelayer(stack.chain, { databaseUrl: `${stack.dir}/relayer.sqlite`, start: false });
  stack.relayer = again;
  stack.relayerUrl = again.url;
  return again.url;
}
