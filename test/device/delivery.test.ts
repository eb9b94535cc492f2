import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { getAddress, type Address, type Hex } from "viem";

import { classifyResponse, deliveryBody, DeliveryWorker, parseRetryAfter } from "../../oracle/device/delivery.js";
import { Outbox, type OutboxEntry } from "../../oracle/device/outbox.js";
import { fakeServices, type FakeService } from "./fake-services.js";

function entry(device: Address, seq: number): OutboxEntry {
  return {
    device,
    seq,
    ts: 1_700_000_000 + seq,
    payload: JSON.stringify({ device, seq }),
    dataHash: `0x${seq.toString(16).padStart(64, "0")}` as Hex,
    signature: `0x${"22".repeat(64)}` as Hex,
  };
}

/** n distinct device addresses in ascending (outbox) order. */
function devices(n: number): Address[] {
  return Array.from({ length: n }, (_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`)).sort();
}

describe("delivery rules", () => {
  it("classifies answers", () => {
    const c = (status: number, code?: string, body?: unknown) =>
      classifyResponse(status, body ?? (code === undefined ? null : { error: { code, message: "m" } }), undefined);
    assert.deepEqual(
      [200, 201, 202].map((s) => c(s).kind),
      ["delivered", "delivered", "delivered"],
    );
    assert.deepEqual(c(200, undefined, { status: "duplicate" }), { kind: "delivered", status: 200, duplicate: true, response: null });
    assert.deepEqual(c(409, "DUPLICATE_READING"), { kind: "delivered", status: 409, duplicate: true, response: null });
    assert.deepEqual(c(409), { kind: "delivered", status: 409, duplicate: true, response: null });
    assert.deepEqual(c(409, "SEQUENCE_CONFLICT"), { kind: "rejected", status: 409, code: "SEQUENCE_CONFLICT", message: "m" });
    assert.deepEqual(c(409, "STALE_SEQUENCE").kind, "rejected");
    assert.deepEqual(c(400, "INVALID_SIGNATURE"), { kind: "rejected", status: 400, code: "INVALID_SIGNATURE", message: "m" });
    assert.deepEqual(c(403, "DEVICE_NOT_ACTIVE").kind, "rejected");
    assert.deepEqual(c(404).kind, "rejected");
    assert.deepEqual(c(413, "PAYLOAD_TOO_LARGE").kind, "rejected");
    assert.deepEqual(c(422, "UNKNOWN_DEVICE"), { kind: "retryReading", status: 422, code: "UNKNOWN_DEVICE", message: "m" });
    assert.deepEqual(c(503, "SHUTTING_DOWN"), {
      kind: "retry",
      scope: "target",
      status: 503,
      code: "SHUTTING_DOWN",
      message: "m",
      retryAfterMs: undefined,
    });
    assert.deepEqual([c(429, "RATE_LIMITED"), c(429, "QUEUE_FULL"), c(500), c(502), c(408)].map((o) => o.kind === "retry" && o.scope), [
      "target",
      "target",
      "target",
      "target",
      "target",
    ]);
    assert.deepEqual([c(429, "QUOTA_EXCEEDED"), c(429, "DEVICE_QUOTA_EXCEEDED")].map((o) => o.kind === "retry" && o.scope), ["reading", "reading"]);
    assert.deepEqual(c(400, "INVALID_PAYLOAD").kind, "rejected");
    assert.equal(classifyResponse(422, { error: { code: "UNKNOWN_DEVICE" } }, undefined, null, []).kind, "rejected");
  });

  it("parses Retry-After in seconds and as an HTTP date", () => {
    const now = Date.parse("2025-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("3", now), 3000);
    assert.equal(parseRetryAfter("0", now), 0);
    assert.equal(parseRetryAfter("Wed, 01 Jan 2025 00:00:10 GMT", now), 10_000);
    assert.equal(parseRetryAfter("Tue, 31 Dec 2024 00:00:10 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });

  it("builds each target's body", () => {
    const e = entry(devices(1)[0]!, 7);
    assert.deepEqual(deliveryBody("platform", e), { payload: e.payload, signature: e.signature });
    assert.deepEqual(deliveryBody("relayer", e), {
      device: e.device,
      seq: "7",
      timestamp: "1700000007",
      dataHash: e.dataHash,
      signature: e.signature,
    });
  });
});

describe("DeliveryWorker scheduling", () => {
  let platform: FakeService;
  let relayer: FakeService;
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await platform?.stop();
    await relayer?.stop();
  });

  async function setup(): Promise<{ outbox: Outbox; seeks: { n: number } }> {
    ({ platform, relayer } = await fakeServices());
    await platform.start();
    await relayer.start();
    const outbox = Outbox.open(":memory:");
    cleanups.push(() => outbox.close());
    const seeks = { n: 0 };
    const headAfter = outbox.headAfter.bind(outbox);
    outbox.headAfter = (target, afterDevice) => {
      seeks.n++;
      return headAfter(target, afterDevice);
    };
    return { outbox, seeks };
  }

  it("finds due readings behind a long run of readings that are waiting, then sleeps", async () => {
    const { outbox, seeks } = await setup();
    const all = devices(300);
    for (const d of all) outbox.append(entry(d, 1));
    // The first 280 devices (in outbox order) are backing off for a minute; 20 are due.
    for (const d of all.slice(0, 280)) {
      outbox.markRetry(d, 1, "platform", { nextAttemptAt: Date.now() + 60_000, code: "QUOTA_EXCEEDED" });
      outbox.markRetry(d, 1, "relayer", { nextAttemptAt: Date.now() + 60_000, code: "QUOTA_EXCEEDED" });
    }
    const worker = new DeliveryWorker({ outbox, endpoints: { platform: platform.url, relayer: relayer.url }, concurrency: 1 });
    cleanups.push(() => worker.stop());
    const until = Date.now() + 5_000;
    while (platform.accepted.length < 20 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(platform.accepted.length, 20);
    assert.equal(relayer.accepted.length, 20);
    assert.deepEqual(new Set(platform.acceptedKeys), new Set(all.slice(280).map((d) => `${d}|1`)));
    // Then it sleeps until the first retry is due instead of walking the outbox again and again.
    await new Promise((r) => setTimeout(r, 100));
    const settled = seeks.n;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(seeks.n, settled);
    assert.deepEqual(worker.stats().pending, { platform: 280, relayer: 280 });
  });

  it("serves many devices fairly and each device in seq order", async () => {
    const { outbox } = await setup();
    const all = devices(50);
    const batch: OutboxEntry[] = [];
    for (let seq = 1; seq <= 6; seq++) for (const d of all) batch.push(entry(d, seq));
    outbox.appendMany(batch);
    const worker = new DeliveryWorker({ outbox, endpoints: { platform: platform.url, relayer: relayer.url }, concurrency: 8 });
    cleanups.push(() => worker.stop());
    await worker.drain(20_000);
    for (const service of [platform, relayer]) {
      assert.equal(service.acceptedKeys.length, 300);
      for (const d of all) {
        assert.deepEqual(
          service.acceptedKeys.filter((k) => k.startsWith(`${d}|`)).map((k) => Number(k.split("|")[1])),
          [1, 2, 3, 4, 5, 6],
        );
      }
    }
    // Round robin: every device got its first reading through before any device's last one.
    const firstOfAll = Math.max(...all.map((d) => relayer.acceptedKeys.indexOf(`${d}|1`)));
    const lastOfAny = Math.min(...all.map((d) => relayer.acceptedKeys.indexOf(`${d}|6`)));
    assert.ok(firstOfAll < lastOfAny, `${firstOfAll} < ${lastOfAny}`);
  });

  it("pauses a target that is down instead of trying every device, then resumes", async () => {
    const { outbox } = await setup();
    relayer.mode = "unavailable"; // 503 + Retry-After: 0
    const all = devices(40);
    for (const d of all) outbox.append(entry(d, 1));
    const worker = new DeliveryWorker({
      outbox,
      endpoints: { platform: platform.url, relayer: relayer.url },
      concurrency: 4,
      retry: { initialDelayMs: 300, maxDelayMs: 300, jitter: false },
    });
    cleanups.push(() => worker.stop());
    await new Promise((r) => setTimeout(r, 450));
    assert.equal(platform.accepted.length, 40);
    // At most a few rounds of `concurrency` requests reached the relayer while it was down.
    assert.ok(relayer.log.length <= 12, `${relayer.log.length} requests to a service that is down`);
    relayer.mode = "ok";
    await worker.drain(10_000);
    assert.equal(relayer.accepted.length, 40);
  });
});
