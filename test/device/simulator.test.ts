import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, afterEach, before, describe, it } from "node:test";

import { toBytes, type Address, type Hex } from "viem";

import { hexToBytes } from "../../oracle/core/bytes.js";
import { deviceIdFromPublicKey, publicKeyFromPrivate, verifyDeviceSignature, type KeyScheme } from "../../oracle/core/keys.js";
import { parsePayload } from "../../oracle/core/payload.js";
import { ReadingDigester, readingFromPayload } from "../../oracle/core/reading.js";
import type { SignedReading } from "../../oracle/device/client.js";
import { loadSensorCommunity } from "../../oracle/device/sensor-community.js";
import { loadOpenAq } from "../../oracle/device/openaq.js";
import {
  deriveSimulatedDeviceKey,
  SeededSecureElement,
  Simulator,
  type DeviceIdentity,
  type SimulatorOptions,
} from "../../oracle/device/simulator.js";
import { fakeServices, type FakeService } from "./fake-services.js";

const CHAIN_ID = 31337;
const ANCHOR: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DATA = "/work/shared/data/sensor-community-aberdeen";
const digester = new ReadingDigester(CHAIN_ID, ANCHOR);
const utc = (iso: string): number => Date.parse(`${iso}Z`) / 1000;

/** Collects progress lines instead of writing to stderr. */
function sink(): Writable & { lines: string[] } {
  const lines: string[] = [];
  const w = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  }) as Writable & { lines: string[] };
  w.lines = lines;
  return w;
}

function verify(scheme: KeyScheme, publicKey: Uint8Array, payload: string, signature: Hex): boolean {
  const reading = readingFromPayload(toBytes(payload));
  return verifyDeviceSignature({ scheme, publicKey, digest: digester.digest(reading), signature: hexToBytes(signature) });
}

describe("Simulator", () => {
  let dir: string;
  let platform: FakeService;
  let relayer: FakeService;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "sensorseal-sim-"));
  });
  afterEach(async () => {
    await platform?.stop();
    await relayer?.stop();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function up(): Promise<void> {
    ({ platform, relayer } = await fakeServices());
    await platform.start();
    await relayer.start();
  }

  function base(name: string): Omit<SimulatorOptions, "devices" | "keys"> {
    return {
      chainId: CHAIN_ID,
      anchor: ANCHOR,
      platformUrl: platform.url,
      relayerUrl: relayer.url,
      outboxFile: path.join(dir, `${name}.sqlite`),
      progress: false,
      retry: { initialDelayMs: 20, maxDelayMs: 200, jitter: false },
      drainTimeoutMs: 20_000,
    };
  }

  it("derives seeded simulation keys deterministically, one per (seed, scheme, index)", () => {
    const a = deriveSimulatedDeviceKey("seed-a", "p256", 0);
    assert.deepEqual(deriveSimulatedDeviceKey("seed-a", "p256", 0), a);
    assert.notDeepEqual(deriveSimulatedDeviceKey("seed-a", "p256", 1), a);
    assert.notDeepEqual(deriveSimulatedDeviceKey("seed-b", "p256", 0), a);
    assert.notDeepEqual(deriveSimulatedDeviceKey("seed-a", "secp256k1", 0), a);
    const se = new SeededSecureElement("seed-a", "p256", 0);
    assert.equal(se.address, deviceIdFromPublicKey(publicKeyFromPrivate("p256", a)));
    assert.deepEqual(se.publicKey, publicKeyFromPrivate("p256", a));
    assert.throws(() => deriveSimulatedDeviceKey("", "p256", 0), { code: "INVALID_DEVICE_CONFIG" });
  });

  it("replays a real Sensor.Community file: the platform receives its values, signed", async () => {
    await up();
    const { series } = await loadSensorCommunity([
      path.join(DATA, "2019-03-10_sds011_sensor_15092.csv"),
      path.join(DATA, "2019-03-10_bme280_sensor_15093.csv"),
    ]);
    const sim = await Simulator.create({
      ...base("replay"),
      devices: 1,
      scheme: "secp256k1",
      keys: { kind: "seed", seed: "replay-test" },
      source: { kind: "replay", series },
      speedup: 1e7, // the day's 401 readings in well under a second
      timestamps: "simulated",
    });
    const summary = await sim.run();
    assert.equal(summary.reason, "endOfData");
    assert.equal(summary.readings, 401);
    assert.equal(summary.delivery?.delivered.platform, 401);
    assert.equal(summary.delivery?.delivered.relayer, 401);

    const device = new SeededSecureElement("replay-test", "secp256k1", 0);
    const payloads = platform.accepted.map((b) => String(b.payload));
    const values = payloads.map((p) => parsePayload(toBytes(p)));
    assert.deepEqual(
      values.slice(0, 3).map((v) => ({ ...v, salt: undefined })),
      [
        [1, "2019-03-10T00:01:48", 3.13, 0.93, 3.06, 67.37],
        [2, "2019-03-10T00:04:16", 2.07, 0.7, 3.05, 67.22],
        [3, "2019-03-10T00:06:43", 3.23, 0.7, 3.04, 66.89],
      ].map(([seq, iso, pm10, pm25, t, h]) => ({
        v: 1,
        device: device.address,
        seq,
        ts: utc(iso as string),
        salt: undefined,
        pm10_ugm3: pm10,
        pm2_5_ugm3: pm25,
        temperature_c: t,
        humidity_pct: h,
        loc: { lat: 56.963, lon: -2.211 },
        source: { archive: "sensor.community", location: 7647, sensors: [15092, 15093], ts: utc(iso as string) },
      })),
    );
    assert.deepEqual(
      values.map((v) => v.seq),
      Array.from({ length: 401 }, (_, i) => i + 1),
    );
    assert.deepEqual([values.at(-1)!.ts, values.at(-1)!.pm10_ugm3], [utc("2019-03-10T16:53:26"), 0.97]);
    for (const [i, p] of payloads.entries()) {
      if (i % 50 !== 0) continue;
      assert.equal(verify("secp256k1", device.publicKey, p, platform.accepted[i]!.signature as Hex), true);
    }
    assert.deepEqual(relayer.accepted[0], {
      device: device.address,
      seq: "1",
      timestamp: String(utc("2019-03-10T00:01:48")),
      dataHash: readingFromPayload(toBytes(payloads[0]!)).dataHash,
      signature: platform.accepted[0]!.signature,
    });
  });

  it("replays a real OpenAQ export as a station: signed now (v2 payload), the station's hour kept in source", async () => {
    await up();
    const { series } = await loadOpenAq(
      path.join(import.meta.dirname, "..", "fixtures", "air-quality", "openaq", "openaq_location_1274950_measurments.csv"),
    );
    const before = Math.floor(Date.now() / 1000);
    const sim = await Simulator.create({
      ...base("stations"),
      devices: 1,
      keys: { kind: "seed", seed: "stations-test" },
      source: { kind: "stations", series },
      speedup: 1e9, // 13 hourly readings, then the jump to 2025-09-18, at once
    });
    const summary = await sim.run();
    assert.deepEqual([summary.reason, summary.readings, summary.delivery?.delivered.platform], ["endOfData", 13, 13]);
    const device = new SeededSecureElement("stations-test", "p256", 0);
    const values = platform.accepted.map((b) => parsePayload(toBytes(String(b.payload))));
    const first = values[0]!;
    assert.deepEqual(
      { ...first, ts: undefined, salt: undefined },
      {
        v: 2,
        device: device.address,
        seq: 1,
        ts: undefined,
        salt: undefined,
        co_mgm3: 0,
        no2_ugm3: 17.223357,
        o3_ugm3: 39.930948,
        pm2_5_ugm3: 5,
        so2_ugm3: 0,
        loc: { lat: 43.709444, lon: -79.5435 },
        source: {
          archive: "openaq",
          station: "1274950",
          ts: Date.parse("2025-09-01T01:00:00Z") / 1000,
          converted: { co_mgm3: "ppm", no2_ugm3: "ppm", o3_ugm3: "ppm", so2_ugm3: "ppm" },
        },
      },
    );
    // Signed at replay time, not back then.
    assert.ok(values.every((v) => v.ts >= before && v.ts <= Math.floor(Date.now() / 1000)));
    assert.equal(verify("p256", device.publicKey, String(platform.accepted[0]!.payload), platform.accepted[0]!.signature as Hex), true);
    // The hour with the refused negative ozone is replayed without it.
    assert.equal("o3_ugm3" in values.at(-1)!, false);
  });

  it("replays the quirk files with flags in the payload", async () => {
    await up();
    const { series } = await loadSensorCommunity([
      path.join(DATA, "quirks", "2019-03-06_sds011_sensor_17079.csv"),
      path.join(DATA, "quirks", "2018-04-02_sds011_sensor_5331.csv"),
      path.join(DATA, "quirks", "2018-04-02_dht22_sensor_5332.csv"),
    ]);
    const captured: { reading: SignedReading; index: number }[] = [];
    const sim = await Simulator.create({
      ...base("quirks"),
      devices: 2,
      keys: { kind: "seed", seed: "quirks" },
      source: { kind: "replay", series },
      speedup: 1e8,
      timestamps: "simulated",
      deliver: false,
      onReading: (reading, index) => captured.push({ reading, index }),
    });
    const summary = await sim.run();
    assert.equal(summary.readings, 581 + 556);
    // series are ordered by sensor id: device 0 replays 5331, device 1 replays 17079
    const d0 = captured.filter((c) => c.index === 0).map((c) => parsePayload(c.reading.bytes));
    const d1 = captured.filter((c) => c.index === 1).map((c) => parsePayload(c.reading.bytes));
    assert.equal(d0.length, 581);
    assert.equal(d1.length, 556);
    const sat = d1.find((v) => v.ts === utc("2019-03-06T14:55:05"))!;
    assert.deepEqual([sat.pm10_ugm3, sat.pm2_5_ugm3, sat.flags], [1048.33, 39.17, ["pm10_saturated"]]);
    assert.equal(d1.filter((v) => Array.isArray(v.flags) && v.flags.includes("pm10_saturated")).length, 17);
    const wrapped = d0.find((v) => v.ts === utc("2018-04-03T00:00:43"))!;
    assert.deepEqual([wrapped.pm10_ugm3, wrapped.temperature_c, wrapped.humidity_pct], [7.07, 3.1, 94.2]);
    // Each device's timestamps go forward with its seq, across the wrap.
    for (let i = 1; i < d0.length; i++) assert.ok(d0[i]!.ts > d0[i - 1]!.ts && d0[i]!.seq === d0[i - 1]!.seq + 1);
    assert.equal(d0[0]!.seq, 1);
    assert.equal(summary.delivery, undefined);
  });

  it("runs a synthetic mixed-scheme fleet: registers all, each device one reading per interval, in order", async () => {
    await up();
    const registered: DeviceIdentity[][] = [];
    const out = sink();
    const devices = 40;
    const start = 1_700_000_000;
    const sim = await Simulator.create({
      ...base("synthetic"),
      devices,
      scheme: "mixed",
      keys: { kind: "seed", seed: "fleet" },
      intervalSeconds: 60,
      speedup: 1e6,
      startTime: start,
      durationSeconds: 180,
      timestamps: "simulated",
      register: async (batch) => {
        registered.push(batch);
      },
      registerBatchSize: 16,
      progress: out,
      progressIntervalMs: 10,
    });
    const summary = await sim.run();
    assert.equal(summary.reason, "duration");
    assert.equal(summary.readings, devices * 3);
    assert.deepEqual(
      registered.map((b) => b.length),
      [16, 16, 8],
    );
    const identities = registered.flat();
    assert.deepEqual(
      identities.map((d) => d.index),
      Array.from({ length: devices }, (_, i) => i),
    );
    assert.equal(new Set(identities.map((d) => d.address)).size, devices);
    for (const d of identities) {
      assert.equal(d.scheme, d.index % 2 === 0 ? "p256" : "secp256k1");
      assert.equal(deviceIdFromPublicKey(d.publicKey), d.address);
    }

    const byDevice = new Map<string, ReturnType<typeof parsePayload>[]>();
    for (const b of platform.accepted) {
      const v = parsePayload(toBytes(String(b.payload)));
      byDevice.set(v.device, [...(byDevice.get(v.device) ?? []), v]);
      const id = identities.find((d) => d.address === v.device)!;
      assert.equal(verify(id.scheme, id.publicKey, String(b.payload), b.signature as Hex), true);
    }
    assert.equal(byDevice.size, devices);
    for (const [i, id] of identities.entries()) {
      const vs = byDevice.get(id.address)!;
      assert.deepEqual(
        vs.map((v) => v.seq),
        [1, 2, 3],
      );
      // Staggered over the interval, then every 60 s.
      const first = start + Math.floor((i * 60) / devices);
      assert.deepEqual(
        vs.map((v) => v.ts),
        [first, first + 60, first + 120],
      );
      for (const v of vs) {
        assert.ok(v.temperature_c! > -15 && v.temperature_c! < 30, `temperature ${v.temperature_c}`);
        assert.ok(v.humidity_pct! >= 20 && v.humidity_pct! <= 100, `humidity ${v.humidity_pct}`);
        assert.ok(v.pm2_5_ugm3! >= 0 && v.pm10_ugm3! >= v.pm2_5_ugm3!, `pm ${v.pm2_5_ugm3} ${v.pm10_ugm3}`);
        assert.equal(Number(v.temperature_c!.toFixed(1)), v.temperature_c);
        const loc = v.loc as { lat: number; lon: number };
        assert.ok(Math.abs(loc.lat - 57.15) <= 0.2 && Math.abs(loc.lon + 2.1) <= 0.3);
      }
    }
    assert.deepEqual(
      relayer.acceptedKeys.filter((k) => k.startsWith(identities[3]!.address)),
      [1, 2, 3].map((s) => `${identities[3]!.address}|${s}`),
    );
    // Progress lines report readings, sent, queued and failed.
    const last = out.lines.at(-1)!;
    assert.match(last, /\[simulate\] 120 readings \(\d+\/s\) \| sent p:120 r:120 \| queued p:0 r:0 \| failed p:0 r:0/);
  });

  it("continues each device's seq in a second run on the same outbox", async () => {
    await up();
    const run = async () => {
      const sim = await Simulator.create({
        ...base("continue"),
        devices: 3,
        keys: { kind: "seed", seed: "continue" },
        speedup: 1e6,
        durationSeconds: 120,
        intervalSeconds: 60,
      });
      return sim.run();
    };
    assert.equal((await run()).readings, 6);
    assert.equal((await run()).readings, 6);
    const device0 = new SeededSecureElement("continue", "p256", 0).address;
    assert.deepEqual(
      relayer.acceptedKeys.filter((k) => k.startsWith(`${device0}|`)).map((k) => Number(k.split("|")[1])),
      [1, 2, 3, 4],
    );
    assert.equal(platform.accepted.length, 12);
  });

  it("queues while the services are down and delivers everything once they are up", async () => {
    ({ platform, relayer } = await fakeServices()); // not listening
    const sim = await Simulator.create({
      ...base("outage"),
      devices: 5,
      keys: { kind: "seed", seed: "outage" },
      speedup: 1e6,
      durationSeconds: 240,
      drainTimeoutMs: 20_000,
    });
    const running = sim.run();
    // Readings are made and tried while nothing listens: wait until both targets have failed once.
    while (!(sim.worker!.stats().retries.platform > 0 && sim.worker!.stats().retries.relayer > 0)) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(platform.accepted.length, 0);
    await platform.start();
    await relayer.start();
    const summary = await running;
    assert.equal(summary.readings, 20);
    assert.equal(platform.accepted.length, 20);
    assert.equal(relayer.accepted.length, 20);
    assert.ok(summary.delivery!.retries.platform > 0);
    for (let i = 0; i < 5; i++) {
      const address = new SeededSecureElement("outage", "p256", i).address;
      assert.deepEqual(
        relayer.acceptedKeys.filter((k) => k.startsWith(`${address}|`)).map((k) => Number(k.split("|")[1])),
        [1, 2, 3, 4],
      );
    }
  });

  it("keeps encrypted key files in a folder (files mode) and reopens them", async () => {
    await up();
    const keyDir = path.join(dir, "keys");
    const make = () =>
      Simulator.create({
        ...base("files"),
        devices: 3,
        scheme: "secp256k1",
        keys: { kind: "files", dir: keyDir, password: "pw", scrypt: { N: 1 << 10 } },
        deliver: false,
        speedup: 1e6,
        maxReadings: 3,
      });
    const first = await make();
    const addresses = [0, 1, 2].map((i) => first.element(i).address);
    await first.run();
    assert.deepEqual((await readdir(keyDir)).sort(), ["device-0.json", "device-1.json", "device-2.json"]);
    assert.equal((await stat(path.join(keyDir, "device-0.json"))).mode & 0o777, 0o600);
    const second = await make();
    assert.deepEqual(
      [0, 1, 2].map((i) => second.element(i).address),
      addresses,
    );
    await second.run();
  });

  it("runs 100,000 devices with bounded memory (seeded keys, no key files)", async () => {
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const sim = await Simulator.create({
      chainId: CHAIN_ID,
      anchor: ANCHOR,
      platformUrl: "http://127.0.0.1:9",
      relayerUrl: "http://127.0.0.1:9",
      outboxFile: path.join(dir, "big.sqlite"),
      progress: false,
      devices: 100_000,
      keys: { kind: "seed", seed: "big" },
      speedup: 1e9,
      deliver: false,
      maxReadings: 1500,
    });
    const summary = await sim.run();
    assert.equal(summary.readings, 1500);
    const grown = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    assert.ok(grown < 80, `heap grew ${grown.toFixed(1)} MB`);
    await assert.rejects(Simulator.create({ ...base("too-many"), devices: 100_001, keys: { kind: "seed", seed: "x" } }), {
      code: "INVALID_DEVICE_CONFIG",
    });
  });
});
