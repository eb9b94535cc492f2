/**
 * The relayer's intake over real HTTP against a real audit chain: every kind of bad input gets its
 * own 4xx code and stores nothing; good readings get a verifiable receipt; resends are idempotent;
 * limits, quotas, backpressure and shutdown answer with their codes.
 */
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import type { Hex } from "viem";

import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { receiptsUnderRoot, verifyReceipt } from "../../oracle/core/receipt.js";
import { ADMISSION_CASES, type AdmissionCase } from "../core/admission-cases.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import {
  chainTime,
  newDevice,
  postJson,
  registeredDevice,
  request,
  signedReading,
  startTestRelayer,
  tempDir,
  type HttpAnswer,
  type TestDevice,
  type TestRelayer,
} from "./fixtures.js";

const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

describe("relayer intake over HTTP", () => {
  let chain: AuditChain;
  let tmp: { dir: string; remove(): Promise<void> };
  let t: TestRelayer;
  let k1: TestDevice;
  let p1: TestDevice;
  let domain: { chainId: number; anchor: Hex };
  let ts: number;

  before(async () => {
    chain = await startAuditChain();
    tmp = await tempDir();
    k1 = await registeredDevice(chain, "secp256k1");
    p1 = await registeredDevice(chain, "p256");
    domain = { chainId: chain.chainId, anchor: chain.anchor };
    ts = await chainTime(chain);
    // Not started: nothing is batched while intake is under test; small limits to reach them.
    t = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "intake.sqlite"),
      start: false,
      batch: { maxSize: 1000, maxAgeMs: 60_000 },
      limits: { bodyLimit: "16kb", maxBulk: 20 },
      anchoring: { marginSeconds: 600 },
    });
  });
  after(async () => {
    await t?.close();
    await chain?.close();
    await tmp?.remove();
  });

  /** Runs `send` and checks the answer's status and code, and that no row was written. */
  async function rejected(send: () => Promise<HttpAnswer>, status: number, code: string): Promise<HttpAnswer> {
    const before = await t.relayer.store.rowCounts();
    const depth = t.relayer.store.queueDepth;
    const answer = await send();
    assert.equal(answer.status, status, answer.text);
    assert.equal(answer.body?.error?.code, code, answer.text);
    assert.equal(typeof answer.body.error.message, "string");
    assert.deepEqual(await t.relayer.store.rowCounts(), before, `${code} stored nothing`);
    assert.equal(t.relayer.store.queueDepth, depth);
    return answer;
  }

  const post = (value: unknown) => postJson(`${t.url}/v1/readings`, value);
  const raw = (body: string, contentType = "application/json") =>
    request(`${t.url}/v1/readings`, { method: "POST", headers: { "content-type": contentType }, body });

  it("accepts a reading of each scheme with a receipt signed on the relayer domain, deadline = now + maxAge + margin", async () => {
    for (const device of [k1, p1]) {
      const reading = signedReading(device, domain, { seq: 1, timestamp: ts });
      const before = Math.floor(Date.now() / 1000);
      const answer = await post(reading);
      const after = Math.floor(Date.now() / 1000);
      assert.equal(answer.status, 202, answer.text);
      assert.equal(answer.body.status, "queued");
      assert.equal(answer.body.duplicate, false);
      const receipt = answer.body.receipt;
      assert.deepEqual(
        { device: receipt.device, seq: receipt.seq, dataHash: receipt.dataHash, signer: receipt.signer },
        { device: device.address, seq: "1", dataHash: reading.dataHash, signer: t.relayer.receiptSigner },
      );
      const deadline = Number(receipt.deadline);
      assert.ok(deadline >= before + 60 + 600 && deadline <= after + 60 + 600, `deadline ${deadline}`);
      assert.equal(await verifyReceipt({ chainId: chain.chainId, anchor: chain.anchor, relayer: t.relayer.receiptSigner, receipt }), true);

      const status = await request(`${t.url}/v1/readings/${device.address.toLowerCase()}/1`);
      assert.equal(status.status, 200);
      assert.equal(status.body.status, "queued");
      assert.deepEqual(status.body.receipt, receipt);
      assert.equal(status.body.signature, reading.signature);
      assert.equal(status.body.batchId, undefined);
    }
    assert.deepEqual(await t.relayer.store.rowCounts(), { readings: 2, batches: 0, txs: 0 });
  });

  it("answers an identical resend with the same receipt and stores nothing new", async () => {
    const reading = signedReading(k1, domain, { seq: 2, timestamp: ts + 1 });
    const first = await post(reading);
    assert.equal(first.status, 202);
    const counts = await t.relayer.store.rowCounts();
    const again = await post(reading);
    assert.equal(again.status, 202);
    assert.equal(again.body.duplicate, true);
    assert.deepEqual(again.body.receipt, first.body.receipt);
    // Numbers instead of strings, lowercase address: the same reading.
    const loose = { ...reading, device: reading.device.toLowerCase(), seq: 2, timestamp: ts + 1 };
    const third = await post(loose);
    assert.equal(third.status, 202, third.text);
    assert.deepEqual(third.body.receipt, first.body.receipt);
    assert.deepEqual(await t.relayer.store.rowCounts(), counts);
  });

  it("refuses malformed requests: bad JSON, oversize body, wrong media type, empty or too large bulk", async () => {
    await rejected(() => raw("{not json"), 400, "INVALID_JSON");
    await rejected(() => raw('"a string"'), 400, "INVALID_JSON"); // strict: objects and arrays only
    await rejected(() => raw(`[${"1,".repeat(9000)}1]`), 413, "PAYLOAD_TOO_LARGE");
    await rejected(
      () => raw(JSON.stringify(signedReading(k1, domain, { seq: 50, timestamp: ts })), "text/plain"),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await rejected(() => post([]), 400, "EMPTY_BULK");
    const many = Array.from({ length: 21 }, (_, i) => signedReading(k1, domain, { seq: 100 + i, timestamp: ts }));
    const answer = await rejected(() => post(many), 413, "TOO_MANY_READINGS");
    assert.deepEqual(answer.body.error.details, { max: 20, got: 21 });
  });

  it("refuses malformed readings with INVALID_READING naming the field", async () => {
    const good = signedReading(k1, domain, { seq: 60, timestamp: ts });
    const cases: [unknown, string][] = [
      [{ ...good, extra: 1 }, "extra"],
      [{ ...good, device: "0x1234" }, "device"],
      [{ ...good, seq: "abc" }, "seq"],
      [{ ...good, seq: -1 }, "seq"],
      [{ ...good, seq: "0" }, "seq"],
      [{ ...good, seq: "18446744073709551616" }, "seq"],
      [{ ...good, seq: "9007199254740992" }, "seq"],
      [{ ...good, timestamp: 1.5 }, "timestamp"],
      [{ ...good, dataHash: "0x1234" }, "dataHash"],
      [{ device: good.device, seq: good.seq, timestamp: good.timestamp, signature: good.signature }, "dataHash"],
    ];
    for (const [body, field] of cases) {
      const answer = await rejected(() => post(body), 400, "INVALID_READING");
      assert.equal(answer.body.error.details.field, field, JSON.stringify(body));
    }
    for (const signature of ["0x1234", `0x${"ab".repeat(66)}`, 12, `0x${"zz".repeat(65)}`]) {
      await rejected(() => post({ ...good, signature }), 400, "INVALID_SIGNATURE");
    }
  });

  it("refuses signatures that do not verify: another key, tampered field, wrong chain id, wrong anchor, high-s, wrong scheme length", async () => {
    const other = newDevice("secp256k1");
    const forged = { ...signedReading(other, domain, { seq: 70, timestamp: ts }), device: k1.address };
    await rejected(() => post(forged), 400, "INVALID_SIGNATURE");
    const good = signedReading(p1, domain, { seq: 70, timestamp: ts });
    await rejected(() => post({ ...good, timestamp: String(ts + 1) }), 400, "INVALID_SIGNATURE");
    await rejected(() => post({ ...good, seq: "71" }), 400, "INVALID_SIGNATURE");
    await rejected(
      () => post(signedReading(p1, { chainId: 1, anchor: chain.anchor }, { seq: 70, timestamp: ts })),
      400,
      "INVALID_SIGNATURE",
    );
    await rejected(
      () => post(signedReading(k1, { chainId: chain.chainId, anchor: chain.registry }, { seq: 70, timestamp: ts })),
      400,
      "INVALID_SIGNATURE",
    );
    const sig = hexToBytes(good.signature);
    const s = BigInt(bytesToHex(sig.subarray(32, 64)));
    const highS = new Uint8Array(sig);
    highS.set(hexToBytes(`0x${(P256_N - s).toString(16).padStart(64, "0")}`), 32);
    await rejected(() => post({ ...good, signature: bytesToHex(highS) }), 400, "INVALID_SIGNATURE");
    // A secp256k1 device sending a 64-byte signature, a P-256 device sending 65 bytes.
    const k = signedReading(k1, domain, { seq: 70, timestamp: ts });
    await rejected(() => post({ ...k, signature: k.signature.slice(0, 130) }), 400, "INVALID_SIGNATURE");
    await rejected(() => post({ ...good, signature: `${good.signature}1b` }), 400, "INVALID_SIGNATURE");
    // Still accepted when right.
    assert.equal((await post(good)).status, 202);
  });

  it("refuses unknown, revoked, suspended devices, readings before registration and from the future", async () => {
    await rejected(() => post(signedReading(newDevice("p256"), domain, { seq: 1, timestamp: ts })), 403, "UNKNOWN_DEVICE");

    const revoked = await registeredDevice(chain, "secp256k1");
    const suspended = await registeredDevice(chain, "p256");
    const registeredAt = await chainTime(chain);
    await chain.revoke(revoked.address);
    await chain.suspend(suspended.address);
    await t.registry.sync();
    const now = await chainTime(chain);
    // Revoked: refused even for a time when the device was active.
    await rejected(() => post(signedReading(revoked, domain, { seq: 1, timestamp: registeredAt })), 403, "DEVICE_REVOKED");
    const answer = await rejected(() => post(signedReading(suspended, domain, { seq: 1, timestamp: now })), 403, "DEVICE_NOT_ACTIVE");
    assert.equal(answer.body.error.details.status, "suspended");
    const early = await rejected(() => post(signedReading(k1, domain, { seq: 80, timestamp: ts - 3600 })), 403, "DEVICE_NOT_ACTIVE");
    assert.equal(early.body.error.details.status, "unknown");
    const future = Math.floor(Date.now() / 1000) + 400;
    await rejected(() => post(signedReading(k1, domain, { seq: 80, timestamp: future })), 400, "FUTURE_TIMESTAMP");
    // Suspended before, accepted again once resumed (a reading made after the resume).
    await chain.resume(suspended.address);
    await t.registry.sync();
    assert.equal((await post(signedReading(suspended, domain, { seq: 1, timestamp: await chainTime(chain) }))).status, 202);
  });

  it("refuses readings outside the intake window (TIMESTAMP_TOO_OLD, FUTURE_TIMESTAMP); receipt deadlines stay within it", async () => {
    const device = await registeredDevice(chain, "secp256k1");
    await t.registry.sync();
    const maxAnchorDelay = 86_400; // ignition/parameters/local.json
    const margin = 60 + 600; // batch max age + RECEIPT_MARGIN_SECONDS of this relayer
    const now = Math.floor(Date.now() / 1000);
    // Dated so long ago that it could not be anchored within maxAnchorDelay: refused before any other check.
    const old = await rejected(
      () => post(signedReading(device, domain, { seq: 1, timestamp: now - maxAnchorDelay + 10 })),
      400,
      "TIMESTAMP_TOO_OLD",
    );
    assert.equal(old.body.error.details.maxAnchorDelay, String(maxAnchorDelay));
    await rejected(() => post(signedReading(device, domain, { seq: 1, timestamp: now + 3600 })), 400, "FUTURE_TIMESTAMP");
    // The oldest reading accepted gets a receipt deadline of at most t + maxAnchorDelay − margin: a relayer
    // whose clock is near the end of the window of a reading made now (the device is registered just now).
    // Dated when the device is registered: the chain's clock, which earlier mined blocks may have put ahead of the wall clock.
    const t0 = Math.max(Math.floor(Date.now() / 1000), await chainTime(chain));
    const skewMs = (maxAnchorDelay - 2 * margin - 60) * 1000;
    const late = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "intake-window.sqlite"),
      start: false,
      batch: { maxSize: 1000, maxAgeMs: 60_000 },
      anchoring: { marginSeconds: 600 },
      now: () => Date.now() + skewMs,
    });
    try {
      const accepted = await postJson(`${late.url}/v1/readings`, signedReading(device, domain, { seq: 2, timestamp: t0 }));
      assert.equal(accepted.status, 202, accepted.text);
      const deadline = Number(accepted.body.receipt.deadline);
      assert.ok(deadline <= t0 + maxAnchorDelay - margin, `deadline ${deadline} beyond ${t0 + maxAnchorDelay - margin}`);
      await rejected(
        () => postJson(`${late.url}/v1/readings`, signedReading(device, domain, { seq: 3, timestamp: t0 - 2 * margin })),
        400,
        "TIMESTAMP_TOO_OLD",
      );
    } finally {
      await late.close();
    }
  });

  it("still answers an identical resend with its receipt after the device was revoked; new readings are refused", async () => {
    const device = await registeredDevice(chain, "p256");
    await t.registry.sync();
    const now = await chainTime(chain);
    const reading = signedReading(device, domain, { seq: 1, timestamp: now });
    const first = await post(reading);
    assert.equal(first.status, 202);
    await chain.revoke(device.address);
    await t.registry.sync();
    const counts = await t.relayer.store.rowCounts();
    const again = await post(reading);
    assert.equal(again.status, 202, again.text);
    assert.equal(again.body.duplicate, true);
    assert.deepEqual(again.body.receipt, first.body.receipt);
    assert.deepEqual(await t.relayer.store.rowCounts(), counts);
    await rejected(() => post(signedReading(device, domain, { seq: 2, timestamp: now })), 403, "DEVICE_REVOKED");
    // Same seq, other content: the revocation answers first.
    await rejected(() => post(signedReading(device, domain, { seq: 1, timestamp: now })), 403, "DEVICE_REVOKED");
  });

  it("refuses a replayed seq with other content (SEQUENCE_CONFLICT); accepts a lower seq not seen before (attack 7: any order)", async () => {
    const device = await registeredDevice(chain, "p256");
    await t.registry.sync();
    const now = await chainTime(chain);
    assert.equal((await post(signedReading(device, domain, { seq: 1, timestamp: now }))).status, 202);
    assert.equal((await post(signedReading(device, domain, { seq: 3, timestamp: now + 2 }))).status, 202);
    const replay = await rejected(() => post(signedReading(device, domain, { seq: 3, timestamp: now + 2 })), 409, "SEQUENCE_CONFLICT");
    assert.equal(replay.body.error.details.seq, "3");
    // A lower seq after a higher one is still queued: each (device, seq) earns once whatever the order.
    const lower = await post(signedReading(device, domain, { seq: 2, timestamp: now + 1 }));
    assert.equal(lower.status, 202);
    assert.equal(lower.body.duplicate, false);
    await rejected(() => post(signedReading(device, domain, { seq: 1, timestamp: now + 5 })), 409, "SEQUENCE_CONFLICT");
  });

  it("answers a mixed bulk with 207 and a result per reading; only the good ones are stored", async () => {
    const device = await registeredDevice(chain, "secp256k1");
    await t.registry.sync();
    const now = await chainTime(chain);
    const r1 = signedReading(device, domain, { seq: 1, timestamp: now });
    const r2 = signedReading(device, domain, { seq: 2, timestamp: now });
    const bad = { ...signedReading(device, domain, { seq: 3, timestamp: now }), dataHash: `0x${"00".repeat(32)}` };
    const before = await t.relayer.store.rowCounts();
    const answer = await post([r1, bad, r1, { ...r1, dataHash: `0x${"11".repeat(32)}` }, r2, "junk"]);
    assert.equal(answer.status, 207, answer.text);
    assert.equal(answer.body.accepted, 3);
    assert.equal(answer.body.rejected, 3);
    assert.deepEqual(
      answer.body.results.map((r: { status: number; error?: { code: string }; duplicate?: boolean }) => [
        r.status,
        r.error?.code ?? (r.duplicate ? "dup" : "new"),
      ]),
      [
        [202, "new"],
        [400, "INVALID_SIGNATURE"],
        [202, "dup"],
        [400, "INVALID_SIGNATURE"],
        [202, "new"],
        [400, "INVALID_READING"],
      ],
    );
    assert.deepEqual(answer.body.results[0].receipt, answer.body.results[2].receipt);
    const after = await t.relayer.store.rowCounts();
    assert.equal(after.readings, before.readings + 2);
  });

  it("receipts a bulk that asks for it (Prefer: receipt=root) with one signed root; each reading's own receipt says the same", async () => {
    const device = await registeredDevice(chain, "p256");
    await t.registry.sync();
    const now = await chainTime(chain);
    const [r1, r2, r3] = [1, 2, 3].map((seq) => signedReading(device, domain, { seq, timestamp: now }));
    const accepted = await post(r3); // accepted alone, with its own receipt, before the bulk
    const bad = { ...signedReading(device, domain, { seq: 4, timestamp: now }), dataHash: `0x${"00".repeat(32)}` };
    const before = Math.floor(Date.now() / 1000);
    const answer = await request(`${t.url}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "respond-async, receipt=root" },
      body: JSON.stringify([r1, bad, r2, r3]),
    });
    assert.equal(answer.status, 207, answer.text);
    assert.equal(answer.headers.get("preference-applied"), "receipt=root");
    assert.deepEqual(
      answer.body.results.map((r: { status: number; duplicate?: boolean; receipt?: unknown }) => [r.status, r.duplicate, r.receipt]),
      [
        [202, false, undefined],
        [400, undefined, undefined],
        [202, false, undefined],
        [202, true, undefined],
      ],
    );
    const root = answer.body.receipt;
    assert.equal(root.count, 3);
    assert.equal(root.signer, t.relayer.receiptSigner);
    assert.ok(Number(root.deadline) >= before + 60 + 600, root.deadline);
    // The device's evidence: its accepted readings under the root, each verifying as a lone receipt does.
    const under = receiptsUnderRoot(root, [r1, r2, r3]);
    for (const receipt of under)
      assert.equal(await verifyReceipt({ ...domain, relayer: t.relayer.receiptSigner, receipt }), true, JSON.stringify(receipt));
    assert.throws(() => receiptsUnderRoot(root, [r1, r2, bad]), { code: "INVALID_ARGUMENT" });
    // Asked later, a reading receipted under the root gets its own receipt with the root's deadline, the same each time.
    const status = await request(`${t.url}/v1/readings/${device.address}/1`);
    const again = await request(`${t.url}/v1/readings/${device.address}/1`);
    assert.equal(status.body.receipt.deadline, root.deadline);
    assert.deepEqual(again.body.receipt, status.body.receipt);
    assert.equal(await verifyReceipt({ ...domain, relayer: t.relayer.receiptSigner, receipt: status.body.receipt }), true);
    const resend = await post(r2);
    assert.equal(resend.body.duplicate, true);
    assert.deepEqual(resend.body.receipt, (await request(`${t.url}/v1/readings/${device.address}/2`)).body.receipt);
    // The reading accepted before keeps its own receipt.
    assert.deepEqual((await request(`${t.url}/v1/readings/${device.address}/3`)).body.receipt, accepted.body.receipt);
    // Without the preference (or for one reading), receipts per reading as before.
    const plain = await post([signedReading(device, domain, { seq: 5, timestamp: now })]);
    assert.equal(plain.headers.get("preference-applied"), null);
    assert.equal(plain.body.receipt, undefined);
    assert.equal(await verifyReceipt({ ...domain, relayer: t.relayer.receiptSigner, receipt: plain.body.results[0].receipt }), true);
    const single = await request(`${t.url}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "receipt=root" },
      body: JSON.stringify(signedReading(device, domain, { seq: 6, timestamp: now })),
    });
    assert.equal(single.status, 202);
    assert.equal(await verifyReceipt({ ...domain, relayer: t.relayer.receiptSigner, receipt: single.body.receipt }), true);
    // A bulk with nothing accepted has no root.
    const none = await request(`${t.url}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", prefer: "receipt=root" },
      body: JSON.stringify([bad]),
    });
    assert.equal(none.status, 207);
    assert.equal(none.body.receipt, undefined);
  });

  it("serves 404 and 400 in the error shape for unknown readings, batches and routes", async () => {
    const missing = await request(`${t.url}/v1/readings/${k1.address}/999`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "READING_NOT_FOUND");
    assert.equal((await request(`${t.url}/v1/readings/0x12/1`)).body.error.code, "INVALID_PARAMETER");
    assert.equal((await request(`${t.url}/v1/readings/${k1.address}/0`)).body.error.code, "INVALID_PARAMETER");
    assert.equal((await request(`${t.url}/v1/batches/7`)).body.error.code, "BATCH_NOT_FOUND");
    assert.equal((await request(`${t.url}/v1/batches/${"0x" + "ab".repeat(32)}/manifest`)).status, 404);
    assert.equal((await request(`${t.url}/v1/batches/zzz`)).body.error.code, "INVALID_PARAMETER");
    const nowhere = await request(`${t.url}/v2/nothing`);
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.body.error.code, "NOT_FOUND");
    const info = await request(`${t.url}/v1/info`);
    assert.equal(info.body.receiptSigner, t.relayer.receiptSigner);
    assert.equal(info.body.relayer, t.relayer.relayerAddress);
    assert.equal(info.body.receiptDeadlineSeconds, 660);
  });

  it("counts every rejection by code in /metrics", async () => {
    const text = (await request(`${t.url}/metrics`)).text;
    const count = (code: string) =>
      Number(new RegExp(`^sensorseal_relayer_readings_rejected_total\\{code="${code}"\\} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
    assert.equal(count("INVALID_JSON"), 2);
    assert.equal(count("PAYLOAD_TOO_LARGE"), 1);
    assert.equal(count("UNSUPPORTED_MEDIA_TYPE"), 1);
    assert.equal(count("TOO_MANY_READINGS"), 1);
    assert.equal(count("UNKNOWN_DEVICE"), 1);
    assert.equal(count("DEVICE_REVOKED"), 3);
    assert.equal(count("FUTURE_TIMESTAMP"), 2);
    assert.equal(count("TIMESTAMP_TOO_OLD"), 1);
    assert.equal(count("STALE_SEQUENCE"), 0);
    assert.equal(count("SEQUENCE_CONFLICT"), 2);
    assert.equal(count("INVALID_READING"), 11);
    assert.equal(count("INVALID_SIGNATURE"), 4 + 8 + 2 + 2);
    assert.match(text, /^# TYPE sensorseal_relayer_anchor_latency_seconds histogram$/m);
    assert.match(text, /^sensorseal_relayer_anchor_latency_seconds_bucket\{le="\+Inf"\} 0$/m);
  });

  it("answers every admission refusal with the shared table's code and status (as the platform does)", async () => {
    const active = await registeredDevice(chain, "p256");
    const revoked = await registeredDevice(chain, "secp256k1");
    const suspended = await registeredDevice(chain, "p256");
    await chain.revoke(revoked.address);
    await chain.suspend(suspended.address);
    await t.registry.sync();
    const at = await chainTime(chain);
    const bad: Record<AdmissionCase["code"], unknown> = {
      FUTURE_TIMESTAMP: signedReading(active, domain, { seq: 1, timestamp: Math.floor(Date.now() / 1000) + 3600 }),
      UNKNOWN_DEVICE: signedReading(newDevice("p256"), domain, { seq: 1, timestamp: at }),
      INVALID_SIGNATURE: { ...signedReading(newDevice("p256"), domain, { seq: 1, timestamp: at }), device: active.address },
      DEVICE_REVOKED: signedReading(revoked, domain, { seq: 1, timestamp: at }),
      DEVICE_NOT_ACTIVE: signedReading(suspended, domain, { seq: 1, timestamp: at }),
    };
    for (const c of ADMISSION_CASES) await rejected(() => post(bad[c.code]), c.status, c.code);
  });
});

describe("relayer limits, backpressure and shutdown", () => {
  let chain: AuditChain;
  let tmp: { dir: string; remove(): Promise<void> };
  let device: TestDevice;
  let domain: { chainId: number; anchor: Hex };
  let ts: number;

  before(async () => {
    chain = await startAuditChain();
    tmp = await tempDir();
    device = await registeredDevice(chain, "secp256k1");
    domain = { chainId: chain.chainId, anchor: chain.anchor };
    ts = await chainTime(chain);
  });
  after(async () => {
    await chain?.close();
    await tmp?.remove();
  });

  it("rate-limits readings per client (a bulk costs its length) and per device, with Retry-After", async () => {
    const t = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "limits.sqlite"),
      start: false,
      limits: { readingRate: { ratePerSecond: 0.01, burst: 5 }, deviceQuota: { ratePerSecond: 0.01, burst: 3 } },
    });
    try {
      const bodies = [1, 2, 3, 4].map((seq) => signedReading(device, domain, { seq, timestamp: ts }));
      const reading = (seq: number) => bodies[seq - 1];
      assert.equal((await postJson(`${t.url}/v1/readings`, [reading(1), reading(2)])).status, 202);
      assert.equal((await postJson(`${t.url}/v1/readings`, reading(3))).status, 202);
      const quota = await postJson(`${t.url}/v1/readings`, reading(4));
      assert.equal(quota.status, 429);
      assert.equal(quota.body.error.code, "DEVICE_QUOTA_EXCEEDED");
      assert.ok(Number(quota.headers.get("retry-after")) >= 1);
      // A resend of an accepted reading is answered with its receipt even with the quota spent.
      const resend = await postJson(`${t.url}/v1/readings`, reading(3));
      assert.equal(resend.status, 202, resend.text);
      assert.equal(resend.body.duplicate, true);
      const other = await registeredDevice(chain, "p256");
      await t.registry.sync();
      const now = await chainTime(chain);
      const bulk = await postJson(`${t.url}/v1/readings`, [
        signedReading(other, domain, { seq: 1, timestamp: now }),
        signedReading(other, domain, { seq: 2, timestamp: now }),
      ]);
      assert.equal(bulk.status, 429);
      assert.equal(bulk.body.error.code, "RATE_LIMITED");
      assert.ok(Number(bulk.headers.get("retry-after")) >= 1);
      assert.deepEqual(await t.relayer.store.rowCounts(), { readings: 3, batches: 0, txs: 0 });
    } finally {
      await t.close();
    }
  });

  it("carrier NAT: valid readings from one address are not limited per address; refused ones are (per reading, then before the body is read)", async () => {
    const t = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "carrier-nat.sqlite"),
      start: false,
      limits: { refusedReadingRate: { ratePerSecond: 0.01, burst: 4 }, deviceQuota: undefined },
    });
    try {
      // Far more valid readings than the burst, from one address (many devices behind one NAT do this).
      const valid = Array.from({ length: 30 }, (_, i) => signedReading(device, domain, { seq: 100 + i, timestamp: ts }));
      const honest = await postJson(`${t.url}/v1/readings`, valid);
      assert.equal(honest.status, 202, honest.text);
      assert.equal(honest.body.accepted, 30);
      // Forged readings (another key signed them) spend the address's budget: 4 are checked, the rest refused unchecked.
      const forged = Array.from({ length: 6 }, (_, i) => ({
        ...signedReading(newDevice("secp256k1"), domain, { seq: 200 + i, timestamp: ts }),
        device: device.address,
      }));
      const abusive = await postJson(`${t.url}/v1/readings`, forged);
      assert.equal(abusive.status, 207);
      assert.deepEqual(
        abusive.body.results.map((r: { error: { code: string } }) => r.error.code),
        ["INVALID_SIGNATURE", "INVALID_SIGNATURE", "INVALID_SIGNATURE", "INVALID_SIGNATURE", "RATE_LIMITED", "RATE_LIMITED"],
      );
      const next = await postJson(`${t.url}/v1/readings`, signedReading(device, domain, { seq: 300, timestamp: ts }));
      assert.equal(next.status, 429, "spent: refused before the body is read");
      assert.equal(next.body.error.code, "RATE_LIMITED");
      assert.ok(Number(next.headers.get("retry-after")) >= 1);
      const metrics = (await request(`${t.url}/metrics`)).text;
      assert.match(metrics, /^sensorseal_relayer_readings_rejected_total\{code="RATE_LIMITED"\} 3$/m);
      assert.match(metrics, /^sensorseal_relayer_readings_rejected_total\{code="INVALID_SIGNATURE"\} 4$/m);
      // prom-client: every refused request by code (the 207 is not a refusal), and the process metrics a soak reads.
      assert.match(metrics, /^sensorseal_relayer_refusals_total\{code="RATE_LIMITED"\} 1$/m);
      assert.match(metrics, /^sensorseal_relayer_process_resident_memory_bytes \d+/m);
      assert.match(metrics, /^sensorseal_relayer_nodejs_eventloop_lag_p99_seconds /m);
      assert.deepEqual(await t.relayer.store.rowCounts(), { readings: 30, batches: 0, txs: 0 });
    } finally {
      await t.close();
    }
  });

  it("carrier NAT: single-reading requests from one address are not limited per request; refused requests are", async () => {
    const t = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "carrier-nat-requests.sqlite"),
      start: false,
      limits: { requestRate: { ratePerSecond: 0.01, burst: 3 }, deviceQuota: undefined },
    });
    try {
      // Ten times the per-address request burst, one valid reading per request (many devices behind one NAT).
      for (let seq = 400; seq < 430; seq++) {
        const answer = await postJson(`${t.url}/v1/readings`, signedReading(device, domain, { seq, timestamp: ts }));
        assert.equal(answer.status, 202, answer.text);
      }
      // Requests refused for what they carry cost a point each: 3 are answered, the next is 429 before it is read.
      for (let i = 0; i < 3; i++) assert.equal((await postJson(`${t.url}/v1/readings`, { device: device.address })).status, 400);
      const spent = await postJson(`${t.url}/v1/readings`, signedReading(device, domain, { seq: 430, timestamp: ts }));
      assert.equal(spent.status, 429);
      assert.equal(spent.body.error.code, "RATE_LIMITED");
      assert.ok(Number(spent.headers.get("retry-after")) >= 1);
      // Other routes still cost a point per request: the window is spent for them too.
      assert.equal((await request(`${t.url}/v1/info`)).status, 429);
      assert.deepEqual(await t.relayer.store.rowCounts(), { readings: 30, batches: 0, txs: 0 });
    } finally {
      await t.close();
    }
  });

  it("answers 429 QUEUE_FULL with Retry-After when the queue is at its bound", async () => {
    const t = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "backpressure.sqlite"),
      start: false,
      batch: { maxSize: 100, maxAgeMs: 4000 },
      limits: { maxQueueDepth: 3 },
    });
    try {
      for (let seq = 1; seq <= 3; seq++)
        assert.equal((await postJson(`${t.url}/v1/readings`, signedReading(device, domain, { seq, timestamp: ts }))).status, 202);
      const full = await postJson(`${t.url}/v1/readings`, signedReading(device, domain, { seq: 4, timestamp: ts }));
      assert.equal(full.status, 429);
      assert.equal(full.body.error.code, "QUEUE_FULL");
      assert.equal(full.headers.get("retry-after"), "4");
      assert.equal(t.relayer.store.queueDepth, 3);
    } finally {
      await t.close();
    }
  });

  it("the queue bound is hard: concurrent bulk submissions never take the queue past it", async () => {
    const bound = 400;
    const t = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "hard-bound.sqlite"),
      start: false, // nothing is batched: the depth only grows, so its final value is its peak
      batch: { maxSize: 1000, maxAgeMs: 4000 },
      limits: { maxQueueDepth: bound, deviceQuota: undefined, readingRate: undefined, requestRate: undefined, maxBulk: 100 },
    });
    try {
      // A slow commit (a busy disk, a remote PostgreSQL): requests keep arriving while readings are being
      // written, which is when a bound checked only against the committed depth was overshot.
      const store = t.relayer.store;
      const accept = store.acceptReadings.bind(store);
      store.acceptReadings = async (...args: Parameters<typeof accept>) => {
        await new Promise((r) => setTimeout(r, 100));
        return accept(...args);
      };
      const senders: TestDevice[] = [];
      for (let i = 0; i < 16; i++) senders.push(await registeredDevice(chain, "secp256k1"));
      await t.registry.sync();
      const now = await chainTime(chain);
      // 16 bulks of 50 (twice the bound) at once, one device each, then a second wave.
      let accepted = 0;
      let full = 0;
      let peak = 0;
      const watch = setInterval(() => (peak = Math.max(peak, t.relayer.store.queueDepth)), 1);
      for (const wave of [0, 1]) {
        const bulks = senders.map((d) =>
          Array.from({ length: 50 }, (_, i) => signedReading(d, domain, { seq: wave * 50 + i + 1, timestamp: now })),
        );
        const answers = await Promise.all(bulks.map((b) => postJson(`${t.url}/v1/readings`, b)));
        for (const a of answers) {
          peak = Math.max(peak, t.relayer.store.queueDepth);
          if (a.status === 202) accepted += a.body.accepted;
          else {
            assert.equal(a.status, 429, a.text);
            assert.equal(a.body.error.code, "QUEUE_FULL");
            assert.ok(Number(a.headers.get("retry-after")) >= 1);
            full++;
          }
        }
      }
      clearInterval(watch);
      const depth = t.relayer.store.queueDepth;
      assert.ok(peak <= bound, `peak depth ${peak} > bound ${bound}`);
      assert.ok(depth <= bound, `depth ${depth} > bound ${bound}`);
      assert.equal(depth, bound, "the bound is reached (whole bulks of 50 fill 400 exactly)");
      assert.equal(accepted, depth);
      assert.equal((await t.relayer.store.rowCounts()).readings, depth);
      assert.ok(full > 0, "the rest got QUEUE_FULL");
      assert.match((await request(`${t.url}/metrics`)).text, new RegExp(`^sensorseal_relayer_queue_depth ${bound}$`, "m"));
    } finally {
      await t.close();
    }
  });

  /** A submission whose body is still on the wire: counted in flight until `finish()` sends the rest. */
  function partialPost(url: string, body: string): { finish(): Promise<number> } {
    const u = new URL(`${url}/v1/readings`);
    const req = httpRequest({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: "POST",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    const answered = new Promise<number>((resolve, reject) => {
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("error", reject);
    });
    const half = Math.floor(body.length / 2);
    req.write(body.slice(0, half));
    return {
      finish() {
        req.end(body.slice(half));
        return answered;
      },
    };
  }

  async function inFlight(t: TestRelayer, n: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (new RegExp(`^sensorseal_relayer_submissions_in_flight ${n}$`, "m").test((await request(`${t.url}/metrics`)).text)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`never ${n} submissions in flight`);
  }

  it("sheds load: above maxConcurrentSubmissions new submissions get 429 OVERLOADED with Retry-After, unread", async () => {
    const t = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "shed-in-flight.sqlite"),
      start: false,
      batch: { maxSize: 100, maxAgeMs: 4000 },
      limits: { maxConcurrentSubmissions: 2, deviceQuota: undefined },
    });
    let held: { finish(): Promise<number> }[] = [];
    try {
      const other = await registeredDevice(chain, "secp256k1");
      await t.registry.sync();
      const now = await chainTime(chain);
      held = [device, other].map((d) => partialPost(t.url, JSON.stringify(signedReading(d, domain, { seq: 1, timestamp: now }))));
      await inFlight(t, 2);
      const shed = await postJson(`${t.url}/v1/readings`, signedReading(device, domain, { seq: 2, timestamp: now }));
      assert.equal(shed.status, 429, shed.text);
      assert.equal(shed.body.error.code, "OVERLOADED");
      assert.equal(shed.body.error.details.reason, "in_flight");
      assert.equal(shed.headers.get("retry-after"), "1");
      const finishing = held;
      held = [];
      assert.deepEqual(await Promise.all(finishing.map((h) => h.finish())), [202, 202], "the admitted ones are answered");
      await inFlight(t, 0);
      assert.equal(
        (await postJson(`${t.url}/v1/readings`, signedReading(device, domain, { seq: 2, timestamp: now }))).status,
        202,
        "admitted again",
      );
      const metrics = (await request(`${t.url}/metrics`)).text;
      assert.match(metrics, /^sensorseal_relayer_requests_shed_total\{reason="in_flight"\} 1$/m);
      assert.match(metrics, /^sensorseal_relayer_readings_rejected_total\{code="OVERLOADED"\} 1$/m);
      assert.equal((await t.relayer.store.rowCounts()).readings, 3);
    } finally {
      await Promise.all(held.map((h) => h.finish().catch(() => 0)));
      await t.close();
    }
  });

  it("sheds load: while the event loop lags past maxEventLoopLagMs, new submissions beside a running one get 429 OVERLOADED", async () => {
    const t = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "shed-lag.sqlite"),
      start: false,
      batch: { maxSize: 100, maxAgeMs: 4000 },
      limits: { maxEventLoopLagMs: 100, deviceQuota: undefined },
    });
    let finishing: (() => Promise<number>) | undefined;
    try {
      const now = await chainTime(chain);
      const lone = partialPost(t.url, JSON.stringify(signedReading(device, domain, { seq: 100, timestamp: now })));
      finishing = lone.finish;
      await inFlight(t, 1);
      const busyUntil = Date.now() + 400;
      while (Date.now() < busyUntil); // the loop stalls 400 ms
      let answer: HttpAnswer | undefined;
      for (let i = 0; i < 40 && answer?.status !== 429; i++) {
        // Not a valid reading: 400 when admitted, so nothing is stored whatever the answer.
        answer = await postJson(`${t.url}/v1/readings`, { device: device.address });
        if (answer.status !== 429) assert.equal(answer.status, 400, answer.text);
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(answer?.status, 429, answer?.text);
      assert.equal(answer?.body.error.code, "OVERLOADED");
      assert.equal(answer?.body.error.details.reason, "event_loop_lag");
      assert.equal(answer?.headers.get("retry-after"), "1");
      finishing = undefined;
      assert.equal(await lone.finish(), 202, "the running one is answered");
      assert.match((await request(`${t.url}/metrics`)).text, /^sensorseal_relayer_requests_shed_total\{reason="event_loop_lag"\} [1-9]/m);
    } finally {
      await finishing?.().catch(() => undefined);
      await t.close();
    }
  });

  it("stops gracefully: in-flight submissions are committed and answered, later ones get 503, readiness drops", async () => {
    const t = await startTestRelayer(chain, {
      databaseUrl: path.join(tmp.dir, "shutdown.sqlite"),
      batch: { maxSize: 1000, maxAgeMs: 60_000 },
      limits: { deviceQuota: undefined },
    });
    const ready = await request(`${t.url}/readyz`);
    assert.equal(ready.status, 200);
    // One reading per device: concurrent requests may arrive in any order.
    const devices: TestDevice[] = [];
    for (let i = 0; i < 24; i++) devices.push(await registeredDevice(chain, i % 2 ? "p256" : "secp256k1"));
    await t.registry.sync();
    const now = await chainTime(chain);
    const bodies = devices.map((d) => signedReading(d, domain, { seq: 1, timestamp: now }));
    const answers = bodies.map((b) => postJson(`${t.url}/v1/readings`, b));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const stopping = t.relayer.stop();
    const late = await postJson(`${t.url}/v1/readings`, signedReading(devices[0], domain, { seq: 1000, timestamp: now }));
    await stopping;
    const results = await Promise.all(answers);
    assert.equal(late.status, 503);
    assert.equal(late.body.error.code, "SHUTTING_DOWN");
    assert.equal((await request(`${t.url}/readyz`)).status, 503);
    const accepted = results.filter((r) => r.status === 202).length;
    assert.ok(results.every((r) => r.status === 202 || (r.status === 503 && r.body.error.code === "SHUTTING_DOWN")));
    // Every 202 is durable: exactly that many rows, each with its receipt.
    assert.equal((await t.relayer.store.rowCounts()).readings, accepted);
    for (const [i, r] of results.entries()) {
      const row = await t.relayer.store.reading(devices[i].address, 1);
      assert.equal(row !== undefined, r.status === 202);
      if (row) assert.equal(row.receipt.signature, r.body.receipt.signature);
    }
    assert.equal((await t.relayer.store.rowCounts()).batches, 0, "no partial batch");
    await t.close();
  });
});
