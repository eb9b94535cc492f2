import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, it } from "node:test";

import { hashTypedData, keccak256, toBytes, type Address, type Hex } from "viem";

import { hexToBytes } from "../../oracle/core/bytes.js";
import { isCanonical } from "../../oracle/core/canonical.js";
import { verifyDeviceSignature, type KeyScheme } from "../../oracle/core/keys.js";
import { parsePayload } from "../../oracle/core/payload.js";
import { ReadingDigester, readingDomain, readingFromPayload, readingTypedData } from "../../oracle/core/reading.js";
import { DeviceClient, signReading } from "../../oracle/device/client.js";
import { DeliveryState, Outbox } from "../../oracle/device/outbox.js";
import { SoftwareSecureElement } from "../../oracle/device/secure-element.js";
import { errorAnswer, fakeServices, type FakeService } from "./fake-services.js";

const CHAIN_ID = 31337;
const ANCHOR: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const FAST_RETRY = { initialDelayMs: 20, maxDelayMs: 200, factor: 2, jitter: false };

function element(scheme: KeyScheme, fill: number): SoftwareSecureElement {
  return SoftwareSecureElement.fromPrivateKey(scheme, new Uint8Array(32).fill(fill));
}

function seqsOf(service: FakeService, device: Address): number[] {
  return service.acceptedKeys.filter((k) => k.startsWith(`${device}|`)).map((k) => Number(k.split("|")[1]));
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) assert.fail("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("DeviceClient", () => {
  let dir: string;
  let platform: FakeService;
  let relayer: FakeService;
  const clients: DeviceClient[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sensorseal-client-"));
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await platform?.stop();
    await relayer?.stop();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function setup(outboxName: string, scheme: KeyScheme = "p256", fill = 7): Promise<DeviceClient> {
    ({ platform, relayer } = await fakeServices());
    return open(outboxName, scheme, fill);
  }

  function open(outboxName: string, scheme: KeyScheme = "p256", fill = 7): DeviceClient {
    const client = DeviceClient.open({
      element: element(scheme, fill),
      chainId: CHAIN_ID,
      anchor: ANCHOR,
      platformUrl: platform.url,
      relayerUrl: relayer.url,
      outbox: path.join(dir, outboxName),
      retry: FAST_RETRY,
      requestTimeoutMs: 2_000,
    });
    clients.push(client);
    return client;
  }

  for (const scheme of ["secp256k1", "p256"] as const) {
    it(`${scheme}: signs canonical payloads whose Reading signature verifies`, async () => {
      const se = element(scheme, 5);
      const digester = new ReadingDigester(CHAIN_ID, ANCHOR);
      const fields = { temperature_c: 8.5, humidity_pct: 81.2, pm2_5_ugm3: 4.1, pm10_ugm3: 7.9, loc: { lat: 57.15, lon: -2.1 } };
      const a = await signReading(se, digester, { seq: 1, ts: 1_700_000_000, fields });
      const b = await signReading(se, digester, { seq: 1, ts: 1_700_000_000, fields });

      // Canonical JSON with every field, a fresh 16-byte salt each time.
      assert.equal(isCanonical(a.bytes), true);
      assert.equal(new TextDecoder().decode(a.bytes), a.payload);
      const value = parsePayload(a.bytes);
      assert.deepEqual({ ...value, salt: undefined }, { v: 1, device: se.address, seq: 1, ts: 1_700_000_000, salt: undefined, ...fields });
      assert.match(
        a.payload,
        /^\{"device":"0x[0-9a-fA-F]{40}","humidity_pct":81.2,"loc":\{"lat":57.15,"lon":-2.1\},"pm10_ugm3":7.9,"pm2_5_ugm3":4.1,"salt":"0x[0-9a-f]{32}","seq":1,"temperature_c":8.5,"ts":1700000000,"v":1\}$/,
      );
      assert.notEqual(value.salt, parsePayload(b.bytes).salt);
      assert.notEqual(a.dataHash, b.dataHash);

      // dataHash and the Reading are what an independent verifier recomputes.
      assert.equal(a.dataHash, keccak256(toBytes(a.payload)));
      assert.deepEqual(readingFromPayload(a.bytes), a.reading);
      const digest = hexToBytes(hashTypedData(readingTypedData(readingDomain(CHAIN_ID, ANCHOR), a.reading)));
      assert.deepEqual(digester.digest(a.reading), digest);
      const signature = hexToBytes(a.signature);
      assert.equal(signature.length, scheme === "secp256k1" ? 65 : 64);
      assert.equal(verifyDeviceSignature({ scheme, publicKey: se.publicKey, digest, signature }), true);
      // …and the signature is bound to the domain.
      const otherDomain = new ReadingDigester(CHAIN_ID + 1, ANCHOR).digest(a.reading);
      assert.equal(verifyDeviceSignature({ scheme, publicKey: se.publicKey, digest: otherDomain, signature }), false);
    });
  }

  it("sends the raw payload to the platform and the signed header to the relayer", async () => {
    const client = await setup("bodies.sqlite", "secp256k1");
    await platform.start();
    await relayer.start();
    const r = await client.record({ temperature_c: 3.06, humidity_pct: 67.37, pm2_5_ugm3: 0.93, pm10_ugm3: 3.13 }, { ts: 1_552_176_108 });
    await client.drain(10_000);

    assert.equal(platform.accepted.length, 1);
    const p = platform.accepted[0] as { payload: string; signature: Hex };
    assert.deepEqual(Object.keys(p).sort(), ["payload", "signature"]);
    assert.equal(typeof p.payload, "string");
    assert.equal(p.payload, r.payload);
    assert.equal(p.signature, r.signature);

    assert.equal(relayer.accepted.length, 1);
    assert.deepEqual(relayer.accepted[0], {
      device: client.address,
      seq: "1",
      timestamp: "1552176108",
      dataHash: keccak256(toBytes(p.payload)),
      signature: r.signature,
    });
    // Both sent at once: neither waited for the other's answer.
    const tp = platform.log[0]!.at;
    const tr = relayer.log[0]!.at;
    assert.ok(Math.abs(tp - tr) < 500, `sent ${Math.abs(tp - tr)} ms apart`);
    // The relayer's answer (its receipt) is kept with the delivery.
    const [item] = client.outbox.list(client.address);
    const answer = JSON.parse(item!.deliveries.find((d) => d.target === "relayer")!.response!) as {
      status: string;
      duplicate: boolean;
      receipt: { device: string; seq: string; dataHash: string };
    };
    assert.deepEqual(
      [answer.status, answer.duplicate, answer.receipt.device, answer.receipt.seq, answer.receipt.dataHash],
      ["queued", false, client.address, "1", r.dataHash],
    );
    assert.deepEqual(
      item!.deliveries.map((d) => [d.target, d.state, d.httpStatus]),
      [
        ["platform", DeliveryState.Delivered, 201],
        ["relayer", DeliveryState.Delivered, 202],
      ],
    );
  });

  it("queues while the services are down, then delivers every reading once, in seq order", async () => {
    const client = await setup("down-up.sqlite");
    // Phase 1: nothing listens on either port.
    for (let i = 0; i < 5; i++) await client.record({ pm2_5_ugm3: i }, { ts: 1_700_000_000 + i });
    await waitFor(() => client.worker.stats().retries.platform > 0 && client.worker.stats().retries.relayer > 0);
    assert.deepEqual(client.pending(), { platform: 5, relayer: 5 });
    const [first] = client.outbox.list(client.address);
    assert.equal(first!.deliveries[0]!.errorCode, "ECONNREFUSED");

    // Phase 2: they listen but refuse work: the platform is shutting down (503), the relayer
    // rate-limits (429 + Retry-After).
    platform.mode = "shutting-down";
    relayer.mode = "rate-limited";
    await platform.start();
    await relayer.start();
    for (let i = 5; i < 8; i++) await client.record({ pm2_5_ugm3: i }, { ts: 1_700_000_000 + i });
    await waitFor(() => platform.log.length > 0 && relayer.log.length > 0);
    assert.deepEqual(client.pending(), { platform: 8, relayer: 8 });
    assert.equal(platform.accepted.length, 0);
    // Only the oldest reading is ever tried while the head is not delivered.
    assert.deepEqual(new Set(platform.log.map((l) => l.key)), new Set([`${client.address}|1`]));

    // Phase 3: up.
    platform.mode = "ok";
    relayer.mode = "ok";
    for (let i = 8; i < 10; i++) await client.record({ pm2_5_ugm3: i }, { ts: 1_700_000_000 + i });
    await client.drain(15_000);

    const expected = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.deepEqual(seqsOf(platform, client.address), expected);
    assert.deepEqual(seqsOf(relayer, client.address), expected);
    assert.deepEqual(
      platform.accepted.map((b) => parsePayload(toBytes(String(b.payload))).pm2_5_ugm3),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    // Exactly once: no service answered any reading twice with a 2xx, and none was a duplicate.
    for (const s of [platform, relayer]) {
      const ok = s.log.filter((l) => l.status < 300).map((l) => l.key);
      assert.equal(ok.length, 10);
      assert.equal(new Set(ok).size, 10);
      assert.equal(s.log.filter((l) => l.status === 409).length, 0);
      assert.equal(s.log.filter((l) => l.status === 200).length, 0); // the platform's duplicate answer
    }
    assert.deepEqual(client.pending(), { platform: 0, relayer: 0 });
    assert.deepEqual(client.outbox.counts(), {
      platform: { pending: 0, delivered: 10, rejected: 0 },
      relayer: { pending: 0, delivered: 10, rejected: 0 },
    });
  });

  it("keeps each target's delivery state apart (platform up, relayer down)", async () => {
    const client = await setup("split.sqlite");
    await platform.start();
    for (let i = 0; i < 3; i++) await client.record({ temperature_c: i }, { ts: 1_700_000_100 + i });
    // The platform answers each reading while the relayer refuses connections.
    await waitFor(() => client.pending().platform === 0 && client.worker.stats().retries.relayer > 0);
    assert.equal(platform.accepted.length, 3);
    assert.deepEqual(client.pending(), { platform: 0, relayer: 3 });
    await relayer.start();
    await client.drain(10_000);
    assert.deepEqual(seqsOf(relayer, client.address), [1, 2, 3]);
  });

  it("continues the seq after a restart and resends what the last run left", async () => {
    const file = "restart.sqlite";
    const first = await setup(file, "secp256k1", 9);
    for (let i = 0; i < 4; i++) await first.record({ pm10_ugm3: i }, { ts: 1_700_000_200 + i });
    assert.equal(first.nextSeq, 5);
    await first.close(); // services never came up: all 4 still pending
    clients.splice(clients.indexOf(first), 1);

    await platform.start();
    await relayer.start();
    const second = open(file, "secp256k1", 9);
    assert.equal(second.nextSeq, 5);
    assert.deepEqual(second.pending(), { platform: 4, relayer: 4 });
    const r = await second.record({ pm10_ugm3: 4 }, { ts: 1_700_000_204 });
    assert.equal(r.seq, 5);
    assert.equal(parsePayload(r.bytes).seq, 5);
    await second.drain(10_000);
    assert.deepEqual(seqsOf(platform, second.address), [1, 2, 3, 4, 5]);
    assert.deepEqual(seqsOf(relayer, second.address), [1, 2, 3, 4, 5]);
    assert.deepEqual(
      relayer.accepted.map((b) => b.timestamp),
      ["1700000200", "1700000201", "1700000202", "1700000203", "1700000204"],
    );
  });

  it("marks a 4xx rejected without retrying it, and moves on to the next reading", async () => {
    const client = await setup("reject.sqlite");
    platform.answer = (_body, key) => (key.endsWith("|2") ? errorAnswer("platform", "INVALID_PAYLOAD", "bad field") : undefined);
    await platform.start();
    await relayer.start();
    for (let i = 0; i < 3; i++) await client.record({ temperature_c: i }, { ts: 1_700_000_300 + i });
    await client.drain(10_000);
    assert.deepEqual(seqsOf(platform, client.address), [1, 3]);
    assert.deepEqual(seqsOf(relayer, client.address), [1, 2, 3]);
    assert.equal(platform.log.filter((l) => l.key.endsWith("|2")).length, 1);
    const item = client.outbox.list(client.address).find((i) => i.seq === 2)!;
    const d = item.deliveries.find((x) => x.target === "platform")!;
    assert.deepEqual([d.state, d.httpStatus, d.errorCode, d.errorMessage], [DeliveryState.Rejected, 400, "INVALID_PAYLOAD", "bad field"]);
    assert.equal(client.worker.stats().rejected.platform, 1);
  });

  it("counts the platform's 200 duplicate as delivered and honours Retry-After on 429", async () => {
    const client = await setup("dup-429.sqlite");
    let relayerCalls = 0;
    relayer.answer = () => {
      relayerCalls++;
      if (relayerCalls === 1) {
        return errorAnswer("relayer", "RATE_LIMITED", "too many requests", { retryAfterSeconds: 1 });
      }
      return undefined;
    };
    // The platform already has the reading (an earlier send whose answer was lost): it answers 200 duplicate.
    platform.answer = (body) => {
      platform.preload(body);
      platform.answer = undefined;
      return undefined;
    };
    await platform.start();
    await relayer.start();
    await client.record({ temperature_c: 1 }, { ts: 1_700_000_400 });
    await client.drain(10_000);
    assert.deepEqual(platform.log.map((l) => l.status).at(-1), 200);
    const stats = client.worker.stats();
    assert.equal(stats.delivered.platform, 1);
    assert.equal(stats.duplicates.platform, 1);
    assert.equal(stats.delivered.relayer, 1);
    assert.equal(stats.retries.relayer, 1);
    assert.equal(relayer.log.length, 2);
    assert.ok(relayer.log[1]!.at - relayer.log[0]!.at >= 950, `retried after ${relayer.log[1]!.at - relayer.log[0]!.at} ms`);
    const outbox = Outbox.open(path.join(dir, "dup-429.sqlite"));
    try {
      assert.deepEqual(outbox.counts().platform, { pending: 0, delivered: 1, rejected: 0 });
    } finally {
      outbox.close();
    }
  });

  it("retries UNKNOWN_DEVICE (registry not caught up) for that reading only, then gives up", async () => {
    const client = await setup("unknown-device.sqlite");
    let platformCalls = 0;
    // The platform learns the device on the third try; the relayer never does.
    platform.answer = () => (++platformCalls <= 2 ? errorAnswer("platform", "UNKNOWN_DEVICE", "device is not in the registry") : undefined);
    relayer.answer = () => errorAnswer("relayer", "UNKNOWN_DEVICE", "device is not in the registry");
    await platform.start();
    await relayer.start();
    await client.worker.stop(); // replace the client's worker with one that gives up after 4 attempts
    const { DeliveryWorker } = await import("../../oracle/device/delivery.js");
    const worker = new DeliveryWorker({
      outbox: client.outbox,
      endpoints: { platform: platform.url, relayer: relayer.url },
      retry: FAST_RETRY,
      retryCodes: { codes: ["UNKNOWN_DEVICE"], maxAttempts: 4 },
    });
    try {
      await client.record({ temperature_c: 1 }, { ts: 1_700_000_500 });
      await worker.drain(10_000);
      assert.deepEqual(seqsOf(platform, client.address), [1]);
      assert.equal(platformCalls, 3);
      assert.equal(relayer.log.length, 4);
      const [item] = client.outbox.list(client.address);
      assert.deepEqual(
        item!.deliveries.map((d) => [d.target, d.state, d.attempts, d.httpStatus, d.errorCode]),
        [
          ["platform", DeliveryState.Delivered, 3, 201, null],
          ["relayer", DeliveryState.Rejected, 4, 403, "UNKNOWN_DEVICE"],
        ],
      );
    } finally {
      await worker.stop();
    }
  });

  it("holds back only the device whose quota is exceeded (429 DEVICE_QUOTA_EXCEEDED), not the whole service", async () => {
    ({ platform, relayer } = await fakeServices());
    await platform.start();
    await relayer.start();
    const outbox = Outbox.open(path.join(dir, "quota.sqlite"));
    const a = element("p256", 21);
    const b = element("secp256k1", 22);
    let first = true;
    relayer.answer = (body) => {
      if (body.device === a.address && first) {
        first = false;
        return errorAnswer("relayer", "DEVICE_QUOTA_EXCEEDED", "device reading quota exceeded", {
          device: a.address,
          retryAfterSeconds: 1,
        });
      }
      return undefined;
    };
    const { DeliveryWorker } = await import("../../oracle/device/delivery.js");
    const digester = new ReadingDigester(CHAIN_ID, ANCHOR);
    const worker = new DeliveryWorker({ outbox, endpoints: { platform: platform.url, relayer: relayer.url }, retry: FAST_RETRY });
    try {
      const started = Date.now();
      outbox.append(await signReading(a, digester, { seq: 1, ts: 1_700_000_600 }));
      outbox.append(await signReading(b, digester, { seq: 1, ts: 1_700_000_600 }));
      worker.kick();
      await waitFor(() => relayer.acceptedKeys.includes(`${b.address}|1`));
      assert.ok(Date.now() - started < 900, "device b was not held back by device a's quota");
      assert.equal(relayer.acceptedKeys.includes(`${a.address}|1`), false);
      await worker.drain(10_000);
      const log = relayer.log.filter((l) => l.key === `${a.address}|1`);
      assert.deepEqual(
        log.map((l) => l.status),
        [429, 202],
      );
      assert.ok(log[1]!.at - log[0]!.at >= 950, `retried after ${log[1]!.at - log[0]!.at} ms`);
    } finally {
      await worker.stop();
      outbox.close();
    }
  });

  it("refuses a seq that is not the device's next one", async () => {
    const outbox = Outbox.open(":memory:");
    const se = element("p256", 11);
    const digester = new ReadingDigester(CHAIN_ID, ANCHOR);
    const one = await signReading(se, digester, { seq: 1, ts: 1 });
    outbox.append(one);
    assert.throws(() => outbox.append(one), { code: "OUTBOX_SEQUENCE_CONFLICT" });
    const three = await signReading(se, digester, { seq: 3, ts: 3 });
    assert.throws(
      () => outbox.append(three),
      (err: unknown) => {
        assert.deepEqual((err as { details: unknown }).details, { device: se.address, seq: 3, expected: 2 });
        return true;
      },
    );
    assert.equal(outbox.nextSeq(se.address), 2);
    assert.equal(outbox.pendingCount(), 2);
    outbox.close();
  });
});
