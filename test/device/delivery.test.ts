import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";

import { getAddress, type Address, type Hex } from "viem";

import { classifyResponse, deliveryBody, DeliveryWorker, parseRetryAfter } from "../../oracle/device/delivery.js";
import { Outbox, type OutboxEntry } from "../../oracle/device/outbox.js";
import { fakeServices, type FakeService } from "./fake-services.js";

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) assert.fail("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets `n` turns of the event loop run (setImmediate callbacks queued now run in the first). */
async function nextTurns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** A window in which nothing is expected to happen (a negative assertion cannot wait on a condition). */
function quietWindow(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

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
    assert.deepEqual(c(202, undefined, { status: "queued", duplicate: true }), {
      kind: "delivered",
      status: 202,
      duplicate: true,
      response: null,
    });
    assert.deepEqual(c(201, undefined, { status: "stored" }), { kind: "delivered", status: 201, duplicate: false, response: null });
    // No service answers 409 for a duplicate: a 409 is the sequence refusing the reading.
    assert.deepEqual(c(409, "SEQUENCE_CONFLICT"), { kind: "rejected", status: 409, code: "SEQUENCE_CONFLICT", message: "m" });
    assert.deepEqual(c(409, "STALE_SEQUENCE").kind, "rejected");
    assert.deepEqual(c(409, "DUPLICATE_READING").kind, "rejected");
    assert.deepEqual(c(409), { kind: "rejected", status: 409, code: "HTTP_409", message: "HTTP 409" });
    assert.deepEqual(c(400, "INVALID_SIGNATURE"), { kind: "rejected", status: 400, code: "INVALID_SIGNATURE", message: "m" });
    assert.deepEqual(c(400, "FUTURE_TIMESTAMP").kind, "rejected");
    assert.deepEqual(c(403, "DEVICE_NOT_ACTIVE").kind, "rejected");
    assert.deepEqual(c(403, "DEVICE_REVOKED").kind, "rejected");
    assert.deepEqual(c(404).kind, "rejected");
    assert.deepEqual(c(413, "PAYLOAD_TOO_LARGE").kind, "rejected");
    assert.deepEqual(c(403, "UNKNOWN_DEVICE"), { kind: "retryReading", status: 403, code: "UNKNOWN_DEVICE", message: "m" });
    assert.deepEqual(c(503, "SHUTTING_DOWN"), {
      kind: "retry",
      scope: "target",
      status: 503,
      code: "SHUTTING_DOWN",
      message: "m",
      retryAfterMs: undefined,
    });
    assert.deepEqual(
      [
        c(429, "RATE_LIMITED"),
        c(429, "QUEUE_FULL"),
        c(429, "OVERLOADED"),
        c(503, "REGISTRY_UNAVAILABLE"),
        c(500, "INTERNAL"),
        c(500),
        c(502),
        c(408),
        c(429),
      ].map((o) => o.kind === "retry" && o.scope),
      ["target", "target", "target", "target", "target", "target", "target", "target", "target"],
    );
    // Only the table's device-scoped code holds back one device; a look-alike code is not matched by pattern.
    assert.deepEqual(
      [c(429, "DEVICE_QUOTA_EXCEEDED"), c(429, "QUOTA_EXCEEDED")].map((o) => o.kind === "retry" && o.scope),
      ["reading", "target"],
    );
    assert.deepEqual(classifyResponse(429, { error: { code: "DEVICE_QUOTA_EXCEEDED" } }, 2000), {
      kind: "retry",
      scope: "reading",
      status: 429,
      code: "DEVICE_QUOTA_EXCEEDED",
      message: "HTTP 429",
      retryAfterMs: 2000,
    });
    // An unknown code falls back to its status class.
    assert.deepEqual([c(400, "SOMETHING_NEW").kind, c(503, "SOMETHING_NEW").kind], ["rejected", "retry"]);
    assert.deepEqual(c(400, "INVALID_PAYLOAD").kind, "rejected");
    assert.equal(classifyResponse(403, { error: { code: "UNKNOWN_DEVICE" } }, undefined, null, []).kind, "rejected");
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
      outbox.markRetry(d, 1, "platform", { nextAttemptAt: Date.now() + 60_000, code: "DEVICE_QUOTA_EXCEEDED" });
      outbox.markRetry(d, 1, "relayer", { nextAttemptAt: Date.now() + 60_000, code: "DEVICE_QUOTA_EXCEEDED" });
    }
    const worker = new DeliveryWorker({ outbox, endpoints: { platform: platform.url, relayer: relayer.url }, concurrency: 1 });
    cleanups.push(() => worker.stop());
    await waitFor(() => platform.accepted.length === 20 && relayer.accepted.length === 20 && worker.stats().inFlight === 0);
    assert.deepEqual(new Set(platform.acceptedKeys), new Set(all.slice(280).map((d) => `${d}|1`)));
    // The passes after the last completion walk the waiting run a slice per event-loop turn:
    // wait until a number of turns in a row sees no walk.
    for (let still = 0, last = seeks.n; still < 20;) {
      await nextTurns(1);
      still = seeks.n === last ? still + 1 : 0;
      last = seeks.n;
    }
    // Then it sleeps until the first retry is due (a minute away) instead of walking the outbox
    // again and again: a quiet window must see no walk at all.
    const settled = seeks.n;
    await quietWindow(300);
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
    platform.mode = "shutting-down"; // 503 SHUTTING_DOWN (the platform sends no Retry-After)
    const all = devices(40);
    for (const d of all) outbox.append(entry(d, 1));
    const worker = new DeliveryWorker({
      outbox,
      endpoints: { platform: platform.url, relayer: relayer.url },
      concurrency: 4,
      // One pause outlasts the test: every request the platform sees is from the first round.
      retry: { initialDelayMs: 60_000, maxDelayMs: 60_000, jitter: false },
    });
    cleanups.push(() => worker.stop());
    await waitFor(() => relayer.accepted.length === 40 && worker.stats().inFlight === 0);
    // Only the first round of `concurrency` requests reached the platform while it was down.
    assert.ok(platform.log.length <= 4, `${platform.log.length} requests to a service that is down`);
    assert.deepEqual(new Set(platform.log.map((l) => l.status)), new Set([503]));
    assert.equal(worker.stats().pending.platform, 40);
    platform.mode = "ok";
    worker.retryNow(); // e.g. the network is back
    await worker.drain(10_000);
    assert.equal(platform.accepted.length, 40);
  });
});
