/**
 * The platform's test suite, run once per store backend by sqlite.test.ts and postgres.test.ts.
 * Importing this file does nothing: it only exports {@link platformSuite}.
 *
 * Everything is real: a JSON-RPC audit chain (test/helpers/audit-chain.ts) with the deployed
 * registry, the registry index following it, the store (SQLite file or a fresh PostgreSQL database)
 * and an HTTP server on 127.0.0.1 spoken to with fetch.
 */
import assert from "node:assert/strict";
import { after, before as beforeHook, describe, it as test } from "node:test";

import pg from "pg";
import { pino } from "pino";
import type { Address, Hex } from "viem";

import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { canonicalize } from "../../oracle/core/canonical.js";
import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest, type KeyScheme } from "../../oracle/core/keys.js";
import { buildPayload, dataHash } from "../../oracle/core/payload.js";
import { ReadingDigester, type Reading } from "../../oracle/core/reading.js";
import { generateApiKey, type ApiKeyEntry, type ApiKeyRole } from "../../oracle/platform/auth.js";
import { createPlatform, type Platform, type PlatformLimits, type PlatformOptions } from "../../oracle/platform/platform.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";
import { ADMISSION_CASES, type AdmissionCase } from "../core/admission-cases.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";

/** A store for one platform instance: a fresh database each call. */
export interface Backend {
  name: string;
  /** Why the backend is not available (the suite is then reported as skipped). */
  skip?: string | undefined;
  fresh(): Promise<{ url: string; drop(): Promise<void> }>;
}

const utf8 = new TextEncoder();
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** A device with a software key, registered on the test chain. */
class TestDevice {
  seq = 0;
  constructor(
    readonly scheme: KeyScheme,
    readonly privateKey: Uint8Array,
    readonly publicKey: Uint8Array,
    readonly address: Address,
  ) {}

  static create(scheme: KeyScheme): TestDevice {
    const privateKey = generatePrivateKey(scheme);
    const publicKey = publicKeyFromPrivate(scheme, privateKey);
    return new TestDevice(scheme, privateKey, publicKey, deviceIdFromPublicKey(publicKey));
  }
}

interface Signed {
  text: string;
  bytes: Uint8Array;
  signature: Hex;
  reading: Reading;
  body: { payload: string; signature: Hex };
}

/**
 * Runs the whole platform suite against one backend.
 * @example platformSuite({ name: "sqlite", fresh: async () => ({ url: file, drop: async () => {} }) });
 */
export function platformSuite(backend: Backend): void {
  // Without the backend every test is reported as skipped, the reason in the suite's name (the
  // reporter shows names, not reasons), and no hook runs.
  const skip = backend.skip;
  const title = skip === undefined ? `platform (${backend.name})` : `platform (${backend.name}) SKIPPED: ${skip}`;
  const it = (name: string, fn: () => Promise<void>) => test(name, { skip: skip ?? false }, fn);
  const before = (fn: () => Promise<void>) => beforeHook(async () => (skip === undefined ? fn() : undefined));
  describe(title, { timeout: 120_000 }, () => {
    let chain: AuditChain;
    let registry: RegistryIndex;
    let digester: ReadingDigester;
    const cleanups: (() => Promise<void>)[] = [];
    const keys = {} as Record<ApiKeyRole | "unknown", string>;
    const keyEntries: ApiKeyEntry[] = [];
    const logs: Record<string, unknown>[] = [];

    let platform: Platform;
    let server: RunningServer;
    let url: string;

    before(async () => {
      chain = await startAuditChain();
      cleanups.push(() => chain.close());
      registry = await RegistryIndex.start({
        client: chain.publicClient,
        registry: chain.registry,
        deployBlock: chain.deployBlock,
        pollMs: 0, // the tests sync after each chain change: no race with a poller
      });
      cleanups.push(async () => registry.stop());
      digester = new ReadingDigester(chain.chainId, chain.anchor);
      for (const role of ["consumer", "admin", "device", "public"] as const) {
        const { key, entry } = generateApiKey(`test-${role}`, role);
        keys[role] = key;
        keyEntries.push(entry);
      }
      keys.unknown = generateApiKey("nobody", "admin").key;
      ({ platform, server } = await startPlatform({
        ipRatePerSecond: 10_000,
        ipBurst: 10_000,
        deviceReadingsPerMinute: 60_000,
        deviceBurst: 1_000,
        bodyLimit: "64kb",
        maxPayloadBytes: 2048,
        maxBulkItems: 20,
      }));
      url = server.url;
    });

    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    });

    /** A platform on a fresh database; stopped and dropped after the suite (unless stopped before). */
    async function startPlatform(
      limits: Partial<PlatformLimits>,
      wrapStore: (db: SqlDatabase) => SqlDatabase = (db) => db,
      extra: Pick<PlatformOptions, "now" | "trustProxy"> & { registry?: PlatformOptions["registry"]; databaseUrl?: string } = {},
    ): Promise<{ platform: Platform; server: RunningServer; databaseUrl: string }> {
      // `databaseUrl`: another instance on the store of one started before (else a fresh store).
      const { databaseUrl, ...options } = extra;
      const database = databaseUrl === undefined ? await backend.fresh() : { url: databaseUrl, drop: async () => undefined };
      cleanups.push(() => database.drop());
      const store = wrapStore(await openDatabase(database.url));
      const logger = pino({ level: "info" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
      const p = await createPlatform({
        store,
        domain: { chainId: chain.chainId, anchor: chain.anchor },
        apiKeys: keyEntries,
        logger,
        limits,
        ...options,
        registry: options.registry ?? registry,
      });
      const s = await listen(p.app, 0);
      cleanups.push(async () => {
        await s.close().catch(() => undefined);
        await p.close();
      });
      return { platform: p, server: s, databaseUrl: database.url };
    }

    async function chainNow(): Promise<number> {
      return Number((await chain.publicClient.getBlock()).timestamp);
    }

    async function register(scheme: KeyScheme): Promise<TestDevice> {
      const device = TestDevice.create(scheme);
      const id = await chain.registerDevice({ scheme, publicKey: device.publicKey });
      assert.equal(id, device.address);
      await registry.sync();
      return device;
    }

    /** A payload signed by `signer` (default: the device itself) on `domain` (default: the test chain's). */
    function sign(
      device: TestDevice,
      options: {
        ts: number;
        seq?: number;
        fields?: Record<string, unknown>;
        signer?: TestDevice;
        digest?: ReadingDigester;
        text?: string;
      },
    ): Signed {
      const seq = options.seq ?? ++device.seq;
      const text =
        options.text ??
        buildPayload({
          device: device.address,
          seq,
          ts: options.ts,
          temperature_c: 21.5,
          humidity_pct: 40,
          pm2_5_ugm3: 8.1,
          pm10_ugm3: 12,
          ...options.fields,
        }).text;
      const bytes = utf8.encode(text);
      const reading: Reading = { device: device.address, seq: BigInt(seq), timestamp: BigInt(options.ts), dataHash: dataHash(bytes) };
      const signer = options.signer ?? device;
      const signature = bytesToHex(signDigest(signer.scheme, signer.privateKey, (options.digest ?? digester).digest(reading)));
      return { text, bytes, signature, reading, body: { payload: text, signature } };
    }

    async function post(body: unknown, target = url, init: RequestInit = {}): Promise<{ status: number; json: any; headers: Headers }> {
      const res = await fetch(`${target}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
        ...init,
      });
      return { status: res.status, json: await res.json(), headers: res.headers };
    }

    async function get(
      path: string,
      key?: string,
      target = url,
    ): Promise<{ status: number; json: any; headers: Headers; bytes: Uint8Array }> {
      const res = await fetch(`${target}${path}`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
      const bytes = new Uint8Array(await res.arrayBuffer());
      let json: unknown;
      try {
        json = JSON.parse(Buffer.from(bytes).toString("utf8"));
      } catch {
        json = undefined;
      }
      return { status: res.status, json, headers: res.headers, bytes };
    }

    /** Asserts an error answer (one JSON shape) and that the store's row counts did not move. */
    async function expectRejected(
      attempt: () => Promise<{ status: number; json: any }>,
      status: number,
      code: string,
      on: Platform = platform,
    ): Promise<any> {
      const before = await on.store.counts();
      const answer = await attempt();
      assert.equal(answer.status, status, JSON.stringify(answer.json));
      assert.equal(answer.json.error.code, code);
      assert.equal(typeof answer.json.error.message, "string");
      assert.deepEqual(await on.store.counts(), before);
      return answer.json;
    }

    /**
     * Posts `body` to `on` expecting a 429 `code` that stores nothing, with a Retry-After header equal
     * to the whole `details.retryAfterSeconds`, between 1 and `maxWait`; answers the error and the wait.
     */
    async function expectLimited(
      on: { platform: Platform; server: { url: string } },
      body: unknown,
      code: string,
      maxWait: number,
    ): Promise<{ answer: any; wait: number }> {
      let retryAfter: string | null = null;
      const answer = await expectRejected(
        async () => {
          const r = await post(body, on.server.url);
          retryAfter = r.headers.get("retry-after");
          return r;
        },
        429,
        code,
        on.platform,
      );
      const wait = answer.error.details.retryAfterSeconds;
      assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= maxWait, String(wait));
      assert.equal(retryAfter, String(wait));
      return { answer, wait };
    }

    describe("storing and serving", () => {
      it("stores a valid secp256k1 reading (201) and serves it byte for byte", async () => {
        const device = await register("secp256k1");
        const ts = await chainNow();
        const signed = sign(device, { ts });
        const before = await platform.store.counts();
        const answer = await post(signed.body);
        assert.equal(answer.status, 201);
        assert.equal(answer.json.status, "stored");
        assert.equal(answer.json.device, device.address);
        assert.equal(answer.json.seq, 1);
        assert.equal(answer.json.ts, ts);
        assert.equal(answer.json.dataHash, dataHash(signed.bytes));
        assert.deepEqual(await platform.store.counts(), { ...before, readings: before.readings + 1 });

        const one = await get(`/v1/devices/${device.address}/readings/1`, keys.consumer);
        assert.equal(one.status, 200);
        assert.equal(Buffer.compare(Buffer.from(utf8.encode(one.json.payload)), Buffer.from(signed.bytes)), 0);
        assert.deepEqual(
          { ...one.json, receivedAt: undefined },
          {
            device: device.address,
            seq: 1,
            ts,
            dataHash: dataHash(signed.bytes),
            payload: signed.text,
            signature: signed.signature,
            receivedAt: undefined,
          },
        );
        assert.ok(Math.abs(Date.parse(one.json.receivedAt) - Date.now()) < 60_000);

        const raw = await get(`/v1/devices/${device.address}/readings/1/payload`, keys.consumer);
        assert.equal(raw.status, 200);
        assert.equal(Buffer.compare(Buffer.from(raw.bytes), Buffer.from(signed.bytes)), 0);
        assert.equal(raw.headers.get("x-sensorseal-signature"), signed.signature);
        assert.equal(raw.headers.get("x-sensorseal-data-hash"), dataHash(signed.bytes));
      });

      it("stores a P-256 reading with non-ASCII text and unknown fields, bytes unchanged", async () => {
        const device = await register("p256");
        const ts = await chainNow();
        const signed = sign(device, {
          ts,
          fields: { loc: { name: "Zürich – Bahnhofstraße ☀ 𝄞", lat: 47.3769, lon: 8.5417 }, co2_ppm: 415.25, note: '\u0000\u001f"\\' },
        });
        assert.ok(signed.bytes.length > signed.text.length, "payload has multi-byte UTF-8");
        const answer = await post(signed.body);
        assert.equal(answer.status, 201, JSON.stringify(answer.json));
        assert.equal(signed.signature.length, 2 + 128);

        const one = await get(`/v1/devices/${device.address.toLowerCase()}/readings/1`, keys.admin);
        assert.equal(one.status, 200);
        assert.equal(one.json.payload, signed.text);
        assert.equal(Buffer.compare(Buffer.from(utf8.encode(one.json.payload)), Buffer.from(signed.bytes)), 0);
        const raw = await get(`/v1/devices/${device.address}/readings/1/payload`, keys.consumer);
        assert.equal(Buffer.compare(Buffer.from(raw.bytes), Buffer.from(signed.bytes)), 0);
      });

      it("answers an identical resend with 200 duplicate and changes nothing", async () => {
        const device = await register("secp256k1");
        const signed = sign(device, { ts: await chainNow() });
        assert.equal((await post(signed.body)).status, 201);
        const first = await get(`/v1/devices/${device.address}/readings/1`, keys.consumer);
        const before = await platform.store.counts();
        for (let i = 0; i < 2; i++) {
          const again = await post(signed.body);
          assert.equal(again.status, 200);
          assert.equal(again.json.status, "duplicate");
          assert.equal(again.json.seq, 1);
          assert.equal(again.json.dataHash, dataHash(signed.bytes));
          assert.equal(again.json.receivedAt, first.json.receivedAt, "the first receipt time is kept");
        }
        assert.deepEqual(await platform.store.counts(), before);
      });

      it("answers an equivocation with 409 SEQUENCE_CONFLICT, keeps it as evidence once and logs it", async () => {
        const device = await register("p256");
        const ts = await chainNow();
        const original = sign(device, { ts, seq: 1 });
        const conflicting = sign(device, { ts, seq: 1, fields: { pm2_5_ugm3: 99.9 } });
        assert.equal((await post(original.body)).status, 201);

        const before = await platform.store.counts();
        const answer = await post(conflicting.body);
        assert.equal(answer.status, 409);
        assert.deepEqual(answer.json.error.details, {
          device: device.address,
          seq: 1,
          storedDataHash: dataHash(original.bytes),
          conflictingDataHash: dataHash(conflicting.bytes),
        });
        assert.equal(answer.json.error.code, "SEQUENCE_CONFLICT");
        assert.deepEqual(await platform.store.counts(), { readings: before.readings, equivocations: before.equivocations + 1 });

        const logged = logs.filter((line) => line.event === "equivocation" && line.device === device.address);
        assert.equal(logged.length, 1);
        assert.equal(logged[0]!.level, 40); // warn
        assert.equal(logged[0]!.conflictingDataHash, dataHash(conflicting.bytes));

        // The same conflicting payload again: still 409, the evidence is kept once.
        await expectRejected(() => post(conflicting.body), 409, "SEQUENCE_CONFLICT");

        // The stored reading is still the first one; the evidence is served to consumers.
        const stored = await get(`/v1/devices/${device.address}/readings/1`, keys.consumer);
        assert.equal(stored.json.payload, original.text);
        const evidence = await get(`/v1/devices/${device.address}/equivocations`, keys.consumer);
        assert.equal(evidence.status, 200);
        assert.equal(evidence.json.equivocations.length, 1);
        const [item] = evidence.json.equivocations;
        assert.equal(item.seq, 1);
        assert.equal(item.stored.payload, original.text);
        assert.equal(item.stored.signature, original.signature);
        assert.equal(item.conflicting.payload, conflicting.text);
        assert.equal(item.conflicting.signature, conflicting.signature);
        assert.equal(item.conflicting.dataHash, dataHash(conflicting.bytes));
        assert.equal(evidence.json.nextAfterId, null);
      });

      it("looks up listed (device, seq) pairs of many devices in one request, with their equivocations", async () => {
        const a = await register("secp256k1");
        const b = await register("p256");
        const ts = await chainNow();
        const readingsOfA = [sign(a, { ts }), sign(a, { ts }), sign(a, { ts })];
        const original = sign(b, { ts, seq: 1 });
        const second = sign(b, { ts, seq: 2 });
        for (const s of [...readingsOfA, original, second]) assert.equal((await post(s.body)).status, 201);
        const conflicting = sign(b, { ts, seq: 1, fields: { pm10_ugm3: 99 } });
        assert.equal((await post(conflicting.body)).status, 409);
        const stranger = TestDevice.create("secp256k1").address;
        // More pairs than one store statement takes (100), an absent seq, a pair asked twice, a lowercase address.
        const items = [
          { device: a.address, seq: 1 },
          { device: a.address.toLowerCase(), seq: 3 },
          { device: a.address, seq: 99 },
          ...Array.from({ length: 150 }, (_, i) => ({ device: stranger, seq: i + 1 })),
          { device: b.address, seq: 1 },
          { device: b.address, seq: 2 },
          { device: a.address, seq: 1 },
        ];
        const lookup = (body: unknown, key?: string) =>
          fetch(`${url}/v1/readings/lookup`, {
            method: "POST",
            headers: { "content-type": "application/json", ...(key === undefined ? {} : { authorization: `Bearer ${key}` }) },
            body: JSON.stringify(body),
          }).then(async (res) => ({ status: res.status, json: await res.json() }));
        const answer = await lookup({ items }, keys.consumer);
        assert.equal(answer.status, 200, JSON.stringify(answer.json));
        const served = (answer.json.readings as { device: string; seq: number; payload: string; signature: string }[])
          .map((r) => `${r.device}:${r.seq}:${r.payload}:${r.signature}`)
          .sort();
        const expected = [readingsOfA[0]!, readingsOfA[2]!, original, second]
          .map((s) => `${s.reading.device}:${s.reading.seq}:${s.text}:${s.signature}`)
          .sort();
        assert.deepEqual(served, expected);
        assert.equal(answer.json.equivocations.length, 1);
        const [evidence] = answer.json.equivocations;
        assert.equal(evidence.seq, 1);
        assert.equal(evidence.stored.payload, original.text);
        assert.equal(evidence.conflicting.payload, conflicting.text);
        assert.equal(evidence.conflicting.signature, conflicting.signature);
        // The same as the per-device routes answer.
        const perDevice = await get(`/v1/devices/${b.address}/equivocations`, keys.admin);
        assert.deepEqual(perDevice.json.equivocations, answer.json.equivocations);
        assert.equal((await lookup({ items: [{ device: a.address, seq: 2 }] }, keys.admin)).json.readings[0].payload, readingsOfA[1]!.text);

        for (const bad of [{}, { items: [] }, { items: [{ device: "0x1234", seq: 1 }] }, { items: [{ device: a.address, seq: 0 }] }]) {
          const refused = await lookup(bad, keys.consumer);
          assert.equal(refused.status, 400, JSON.stringify(bad));
          assert.equal(refused.json.error.code, "INVALID_BODY");
        }
        assert.equal((await lookup({ items }, undefined)).status, 401);
        for (const key of [keys.device, keys.public, keys.unknown]) assert.notEqual((await lookup({ items }, key)).status, 200);
      });

      it("stores exactly one of concurrent different payloads for one seq; the others are evidence", async () => {
        const device = await register("secp256k1");
        const ts = await chainNow();
        const rivals = Array.from({ length: 8 }, (_, i) => sign(device, { ts, seq: 1, fields: { pm10_ugm3: i } }));
        const before = await platform.store.counts();
        const answers = await Promise.all([...rivals, ...rivals].map((s) => post(s.body)));
        const statuses = answers.map((a) => a.status).sort();
        assert.deepEqual(statuses, [200, 201, ...Array(14).fill(409)]);
        const winner = rivals.find((_, i) => answers[i]!.status === 201 || answers[i + 8]!.status === 201)!;
        assert.deepEqual(await platform.store.counts(), {
          readings: before.readings + 1,
          equivocations: before.equivocations + 7,
        });
        const served = await get(`/v1/devices/${device.address}/readings/1`, keys.consumer);
        assert.equal(served.json.payload, winner.text);
        const evidence = await get(`/v1/devices/${device.address}/equivocations?limit=5`, keys.admin);
        assert.equal(evidence.json.equivocations.length, 5);
        assert.equal(evidence.json.nextAfterId, evidence.json.equivocations[4].id);
        const rest = await get(`/v1/devices/${device.address}/equivocations?afterId=${evidence.json.nextAfterId}`, keys.admin);
        const conflicting = [...evidence.json.equivocations, ...rest.json.equivocations].map(
          (e: { conflicting: { payload: string } }) => e.conflicting.payload,
        );
        assert.deepEqual(
          conflicting.sort(),
          rivals
            .filter((s) => s !== winner)
            .map((s) => s.text)
            .sort(),
        );
      });

      it("lists a device's readings by ts range, paginated by seq", async () => {
        const device = await register("secp256k1");
        // Registered at t0: readings 10 s apart from then on are all at times it was active.
        const t0 = registry.device(device.address)!.history[0]!.since;
        const all: Signed[] = [];
        for (let i = 0; i < 5; i++) all.push(sign(device, { ts: t0 + i * 10 }));
        for (const s of all) assert.equal((await post(s.body)).status, 201);
        const other = await register("p256");
        assert.equal((await post(sign(other, { ts: await chainNow() }).body)).status, 201);

        const page1 = await get(`/v1/devices/${device.address}/readings?limit=2`, keys.consumer);
        assert.equal(page1.status, 200);
        assert.deepEqual(
          page1.json.readings.map((r: { seq: number }) => r.seq),
          [1, 2],
        );
        assert.equal(page1.json.nextAfterSeq, 2);
        assert.deepEqual(
          page1.json.readings.map((r: { payload: string }) => r.payload),
          [all[0]!.text, all[1]!.text],
        );
        const page2 = await get(`/v1/devices/${device.address}/readings?limit=2&afterSeq=2`, keys.consumer);
        assert.deepEqual(
          page2.json.readings.map((r: { seq: number }) => r.seq),
          [3, 4],
        );
        const page3 = await get(`/v1/devices/${device.address}/readings?limit=2&afterSeq=4`, keys.consumer);
        assert.deepEqual(
          page3.json.readings.map((r: { seq: number }) => r.seq),
          [5],
        );
        assert.equal(page3.json.nextAfterSeq, null);

        const range = await get(`/v1/devices/${device.address}/readings?from=${t0 + 10}&to=${t0 + 30}`, keys.consumer);
        assert.deepEqual(
          range.json.readings.map((r: { ts: number }) => r.ts),
          [t0 + 10, t0 + 20, t0 + 30],
        );
        const ranged = await get(`/v1/devices/${device.address}/readings?from=${t0 + 10}&limit=1&afterSeq=2`, keys.consumer);
        assert.deepEqual(
          ranged.json.readings.map((r: { seq: number }) => r.seq),
          [3],
        );
        assert.equal(ranged.json.nextAfterSeq, 3);
        const none = await get(`/v1/devices/${TestDevice.create("p256").address}/readings`, keys.consumer);
        assert.deepEqual(none.json.readings, []);

        for (const bad of ["limit=0", "limit=100000", "from=-1", "afterSeq=abc", `from=${t0 + 10}&to=${t0}`]) {
          await expectRejected(() => get(`/v1/devices/${device.address}/readings?${bad}`, keys.consumer), 400, "INVALID_QUERY");
        }
        await expectRejected(() => get(`/v1/devices/0x1234/readings`, keys.consumer), 400, "INVALID_QUERY");
        await expectRejected(() => get(`/v1/devices/${device.address}/readings/0`, keys.consumer), 400, "INVALID_QUERY");
        await expectRejected(() => get(`/v1/devices/${device.address}/readings/99`, keys.consumer), 404, "NOT_FOUND");
      });

      it("takes a bulk array: each item all-or-nothing, one result per item", async () => {
        const device = await register("secp256k1");
        const ts = await chainNow();
        const first = sign(device, { ts });
        assert.equal((await post(first.body)).status, 201);
        const fresh = sign(device, { ts });
        const badSignature = sign(device, { ts });
        const stranger = TestDevice.create("secp256k1");
        const conflict = sign(device, { ts, seq: 1, fields: { pm10_ugm3: 77 } });
        const items = [
          fresh.body,
          first.body,
          { ...badSignature.body, signature: sign(device, { ts, seq: 50 }).signature },
          conflict.body,
          { payload: 42, signature: fresh.signature },
          sign(stranger, { ts }).body,
        ];
        const before = await platform.store.counts();
        const answer = await post(items);
        assert.equal(answer.status, 200);
        assert.deepEqual(
          answer.json.results.map((r: { index: number; httpStatus: number; status: string; error?: { code: string } }) => [
            r.index,
            r.httpStatus,
            r.status,
            r.error?.code,
          ]),
          [
            [0, 201, "stored", undefined],
            [1, 200, "duplicate", undefined],
            [2, 400, "rejected", "INVALID_SIGNATURE"],
            [3, 409, "rejected", "SEQUENCE_CONFLICT"],
            [4, 400, "rejected", "INVALID_PAYLOAD"],
            [5, 403, "rejected", "UNKNOWN_DEVICE"],
          ],
        );
        assert.equal(answer.json.results[0].dataHash, dataHash(fresh.bytes));
        assert.deepEqual([answer.json.stored, answer.json.duplicates, answer.json.rejected], [1, 1, 4]);
        assert.deepEqual(await platform.store.counts(), {
          readings: before.readings + 1,
          equivocations: before.equivocations + 1,
        });
        const stored = await get(`/v1/devices/${device.address}/readings/${fresh.reading.seq}`, keys.consumer);
        assert.equal(stored.json.payload, fresh.text);
        assert.equal((await get(`/v1/devices/${device.address}/readings/${badSignature.reading.seq}`, keys.consumer)).status, 404);

        await expectRejected(() => post([]), 400, "INVALID_PAYLOAD");
        const many = Array.from({ length: 21 }, () => sign(device, { ts }).body);
        await expectRejected(() => post(many), 413, "PAYLOAD_TOO_LARGE");
      });
    });

    describe("bad input: its 4xx code, and the store unchanged", () => {
      let device: TestDevice;
      let ts: number;
      before(async () => {
        device = await register("secp256k1");
        ts = await chainNow();
      });

      it("rejects a body that is not JSON (INVALID_JSON)", async () => {
        await expectRejected(() => post('{"payload":'), 400, "INVALID_JSON");
        await expectRejected(() => post("[1,2"), 400, "INVALID_JSON");
        const signed = sign(device, { ts, seq: 1000 });
        await expectRejected(
          () => post(JSON.stringify(signed.body), url, { headers: { "content-type": "text/plain" } }),
          400,
          "INVALID_JSON",
        );
      });

      it("rejects an oversize body and an oversize payload (PAYLOAD_TOO_LARGE)", async () => {
        await expectRejected(() => post({ payload: "x".repeat(70 * 1024), signature: "0x00" }), 413, "PAYLOAD_TOO_LARGE");
        const big = sign(device, { ts, seq: 1001, fields: { note: "y".repeat(3000) } });
        await expectRejected(() => post(big.body), 413, "PAYLOAD_TOO_LARGE");
      });

      it("rejects a malformed payload (INVALID_PAYLOAD)", async () => {
        const good = sign(device, { ts, seq: 1002 });
        await expectRejected(() => post({ signature: good.signature }), 400, "INVALID_PAYLOAD");
        await expectRejected(() => post({ payload: { v: 1 }, signature: good.signature }), 400, "INVALID_PAYLOAD");
        await expectRejected(() => post(sign(device, { ts, seq: 1003, text: "not json" }).body), 400, "INVALID_PAYLOAD");
        const noSalt = canonicalize({ v: 1, device: device.address, seq: 1004, ts });
        await expectRejected(() => post(sign(device, { ts, seq: 1004, text: noSalt }).body), 400, "INVALID_PAYLOAD");
        const seqZero = canonicalize({ v: 1, device: device.address, seq: 0, ts, salt: `0x${"ab".repeat(16)}` });
        await expectRejected(() => post(sign(device, { ts, seq: 0, text: seqZero }).body), 400, "INVALID_PAYLOAD");
        const future = sign(device, { ts: Math.floor(Date.now() / 1000) + 3600, seq: 1005 });
        const answer = await expectRejected(() => post(future.body), 400, "FUTURE_TIMESTAMP");
        assert.equal(answer.error.details.timestamp, future.reading.timestamp.toString());
      });

      it("rejects a non-canonical payload even when validly signed (NON_CANONICAL_PAYLOAD)", async () => {
        const good = sign(device, { ts, seq: 1006 });
        const spaced = good.text.replace('"v":1', '"v": 1');
        const reordered = `{"v":1,${good.text.slice(1).replace(',"v":1}', "}")}`;
        const floaty = good.text.replace('"humidity_pct":40', '"humidity_pct":40.0');
        for (const text of [spaced, reordered, floaty, `${good.text}\n`]) {
          assert.notEqual(text, good.text);
          await expectRejected(() => post(sign(device, { ts, seq: 1006, text }).body), 400, "NON_CANONICAL_PAYLOAD");
        }
      });

      it("rejects bad signatures (INVALID_SIGNATURE)", async () => {
        const good = sign(device, { ts, seq: 1007 });
        const flipped = hexToBytes(good.signature);
        flipped[10] ^= 0x01;
        await expectRejected(() => post({ ...good.body, signature: bytesToHex(flipped) }), 400, "INVALID_SIGNATURE");
        await expectRejected(() => post({ ...good.body, signature: "0x1234" }), 400, "INVALID_SIGNATURE");
        await expectRejected(() => post({ payload: good.text }), 400, "INVALID_SIGNATURE");
        await expectRejected(() => post({ ...good.body, signature: good.signature.slice(0, 130) }), 400, "INVALID_SIGNATURE");
        // High-s twin of a valid signature: also valid ECDSA, refused (malleability).
        const sig = hexToBytes(good.signature);
        const s = BigInt(bytesToHex(sig.subarray(32, 64)));
        const highS = hexToBytes(`0x${(SECP256K1_N - s).toString(16).padStart(64, "0")}`);
        const twin = new Uint8Array(sig);
        twin.set(highS, 32);
        twin[64] = sig[64] === 27 ? 28 : 27;
        await expectRejected(() => post({ ...good.body, signature: bytesToHex(twin) }), 400, "INVALID_SIGNATURE");
        // The payload changed after signing.
        const tampered = good.text.replace('"pm10_ugm3":12', '"pm10_ugm3":13');
        await expectRejected(() => post({ payload: tampered, signature: good.signature }), 400, "INVALID_SIGNATURE");
        // Signed by another registered device for this device's payload.
        const other = await register("secp256k1");
        await expectRejected(() => post(sign(device, { ts, seq: 1008, signer: other }).body), 400, "INVALID_SIGNATURE");
        const otherP256 = await register("p256");
        await expectRejected(() => post(sign(device, { ts, seq: 1009, signer: otherP256 }).body), 400, "INVALID_SIGNATURE");
      });

      it("rejects a signature made on another domain (chain id or anchor) (INVALID_SIGNATURE)", async () => {
        const otherChain = new ReadingDigester(chain.chainId + 1, chain.anchor);
        const otherAnchor = new ReadingDigester(chain.chainId, chain.registry);
        await expectRejected(() => post(sign(device, { ts, seq: 1010, digest: otherChain }).body), 400, "INVALID_SIGNATURE");
        await expectRejected(() => post(sign(device, { ts, seq: 1011, digest: otherAnchor }).body), 400, "INVALID_SIGNATURE");
        // The same reading on the right domain is accepted.
        assert.equal((await post(sign(device, { ts, seq: 1011 }).body)).status, 201);
      });

      it("rejects an unknown device (UNKNOWN_DEVICE)", async () => {
        const unknown = TestDevice.create("p256");
        const answer = await expectRejected(() => post(sign(unknown, { ts }).body), 403, "UNKNOWN_DEVICE");
        assert.equal(answer.error.details.device, unknown.address);
      });

      it("rejects a reading before registration (DEVICE_NOT_ACTIVE)", async () => {
        const late = await register("p256");
        const registeredAt = registry.device(late.address)!.history[0]!.since;
        const answer = await expectRejected(() => post(sign(late, { ts: registeredAt - 1 }).body), 403, "DEVICE_NOT_ACTIVE");
        assert.equal(answer.error.details.status, "unknown");
      });

      it("rejects readings of a suspended device at its ts, accepts them again after resume", async () => {
        const d = await register("secp256k1");
        await chain.mine(1, 5);
        const activeTs = await chainNow();
        await chain.suspend(d.address);
        await registry.sync();
        const suspendedAt = await chainNow();
        const answer = await expectRejected(() => post(sign(d, { ts: suspendedAt, seq: 1 }).body), 403, "DEVICE_NOT_ACTIVE");
        assert.deepEqual(answer.error.details, {
          device: d.address,
          timestamp: String(suspendedAt),
          status: "suspended",
          statusNow: "suspended",
        });
        // Signed while active (ts before the suspension): its status at ts is what counts.
        assert.equal((await post(sign(d, { ts: activeTs, seq: 1 }).body)).status, 201);
        await chain.resume(d.address);
        await registry.sync();
        assert.equal((await post(sign(d, { ts: await chainNow(), seq: 2 }).body)).status, 201);
      });

      it("rejects readings after revocation, whatever their ts, and keeps serving earlier ones", async () => {
        const d = await register("p256");
        await chain.mine(1, 5);
        const before = sign(d, { ts: await chainNow(), seq: 1 });
        assert.equal((await post(before.body)).status, 201);
        const signedBeforeSentAfter = sign(d, { ts: await chainNow(), seq: 2 });
        await chain.revoke(d.address);
        await registry.sync();
        const revokedAt = await chainNow();
        const after = await expectRejected(() => post(sign(d, { ts: revokedAt, seq: 3 }).body), 403, "DEVICE_REVOKED");
        assert.deepEqual(after.error.details, { device: d.address, status: "revoked" });
        // Signed while active, sent after the revocation: refused all the same (the key may be in other hands).
        const late = await expectRejected(() => post(signedBeforeSentAfter.body), 403, "DEVICE_REVOKED");
        assert.deepEqual(late.error.details, { device: d.address, status: "revoked" });
        const served = await get(`/v1/devices/${d.address}/readings/1`, keys.consumer);
        assert.equal(served.json.payload, before.text);
      });

      it("answers every admission refusal with the shared table's code and status (as the relayer does)", async () => {
        const active = await register("p256");
        const revoked = await register("secp256k1");
        const suspended = await register("p256");
        await chain.revoke(revoked.address);
        await chain.suspend(suspended.address);
        await registry.sync();
        const at = await chainNow();
        const bad: Record<AdmissionCase["code"], Signed> = {
          FUTURE_TIMESTAMP: sign(active, { ts: Math.floor(Date.now() / 1000) + 3600 }),
          UNKNOWN_DEVICE: sign(TestDevice.create("p256"), { ts: at }),
          INVALID_SIGNATURE: sign(active, { ts: at, signer: TestDevice.create("p256") }),
          DEVICE_REVOKED: sign(revoked, { ts: at }),
          DEVICE_NOT_ACTIVE: sign(suspended, { ts: at }),
        };
        for (const c of ADMISSION_CASES) await expectRejected(() => post(bad[c.code].body), c.status, c.code);
      });
    });

    describe("access to raw data", () => {
      let device: TestDevice;
      before(async () => {
        device = await register("secp256k1");
        assert.equal((await post(sign(device, { ts: await chainNow() }).body)).status, 201);
      });
      const paths = (d: Address) => [
        `/v1/devices/${d}/readings`,
        `/v1/devices/${d}/readings/1`,
        `/v1/devices/${d}/readings/1/payload`,
        `/v1/devices/${d}/equivocations`,
      ];

      it("answers 401 and nothing else without a key or with an unknown one", async () => {
        for (const path of paths(device.address)) {
          for (const key of [undefined, keys.unknown, ""]) {
            const answer = await get(path, key);
            assert.equal(answer.status, 401, path);
            assert.deepEqual(Object.keys(answer.json), ["error"]);
            assert.equal(answer.json.error.code, "UNAUTHORIZED");
            assert.match(answer.headers.get("www-authenticate") ?? "", /^Bearer /);
            assert.ok(!Buffer.from(answer.bytes).toString().includes("salt"), "no payload leaks");
          }
          const basic = await fetch(`${url}${path}`, { headers: { authorization: `Basic ${btoa("a:b")}` } });
          assert.equal(basic.status, 401);
        }
      });

      it("answers 403 to device and public keys", async () => {
        for (const path of paths(device.address)) {
          for (const key of [keys.device, keys.public]) {
            const answer = await get(path, key);
            assert.equal(answer.status, 403, path);
            assert.deepEqual(Object.keys(answer.json), ["error"]);
            assert.equal(answer.json.error.code, "FORBIDDEN");
          }
        }
      });

      it("serves consumers and admins; only admins see stats", async () => {
        for (const path of paths(device.address)) {
          assert.equal((await get(path, keys.consumer)).status, 200, path);
          assert.equal((await get(path, keys.admin)).status, 200, path);
        }
        assert.equal((await get("/v1/stats", keys.consumer)).json.error.code, "FORBIDDEN");
        const stats = await get("/v1/stats", keys.admin);
        assert.equal(stats.status, 200);
        assert.deepEqual(stats.json, await platform.store.counts());
      });

      it("answers health and readiness, and JSON 404s", async () => {
        assert.deepEqual((await get("/healthz")).json, { status: "ok", service: "platform" });
        assert.deepEqual((await get("/readyz")).json, { status: "ready", service: "platform" });
        const missing = await get("/v1/nothing", keys.admin);
        assert.equal(missing.status, 404);
        assert.equal(missing.json.error.code, "NOT_FOUND");
      });
    });

    describe("limits and shutdown", () => {
      it("rate-limits a client address on other routes: 429 RATE_LIMITED with Retry-After", async () => {
        const limited = await startPlatform({ ipBurst: 3, ipRatePerSecond: 0.2 });
        for (let i = 0; i < 3; i++) assert.equal((await get("/v1/nothing", keys.admin, limited.server.url)).status, 404);
        const answer = await get("/v1/nothing", keys.admin, limited.server.url);
        assert.equal(answer.status, 429);
        assert.equal(answer.json.error.code, "RATE_LIMITED");
        // 3 per window of 3 / 0.2 = 15 s: Retry-After is the rest of the window.
        const wait = Number(answer.headers.get("retry-after"));
        assert.ok(wait >= 1 && wait <= 15, `Retry-After ${wait}`);
      });

      it("carrier NAT: validly signed readings are not charged per address, only per device", async () => {
        const limited = await startPlatform({ ipBurst: 3, ipRatePerSecond: 0.2 });
        const devices = [await register("secp256k1"), await register("p256")];
        const ts = await chainNow();
        for (let i = 0; i < 6; i++) assert.equal((await post(sign(devices[i % 2]!, { ts }).body, limited.server.url)).status, 201);
        assert.equal((await limited.platform.store.counts()).readings, 6);
      });

      it("applies a per-device quota: 429 DEVICE_QUOTA_EXCEEDED with Retry-After, other devices unaffected", async () => {
        const limited = await startPlatform({ deviceReadingsPerMinute: 6, deviceBurst: 2 });
        const device = await register("p256");
        const other = await register("secp256k1");
        const ts = await chainNow();
        for (let i = 0; i < 2; i++) assert.equal((await post(sign(device, { ts }).body, limited.server.url)).status, 201);
        // 6 per minute with a burst of 2 = 2 per window of 20 s.
        const { answer, wait } = await expectLimited(limited, sign(device, { ts }).body, "DEVICE_QUOTA_EXCEEDED", 20);
        assert.deepEqual(answer.error.details, { device: device.address, readingsPerMinute: 6, retryAfterSeconds: wait });
        assert.equal((await post(sign(other, { ts }).body, limited.server.url)).status, 201);
        // Another device's readings cannot use up this device's quota: unsigned junk is refused before counting.
        const forged = sign(other, { ts, seq: 900, signer: device });
        await expectRejected(() => post(forged.body, limited.server.url), 400, "INVALID_SIGNATURE", limited.platform);
        assert.equal((await post(sign(other, { ts }).body, limited.server.url)).status, 201);
      });

      it("a bulk's items refused by the device quota are counted one by one by code on /metrics and logged", async () => {
        const limited = await startPlatform({ deviceReadingsPerMinute: 6, deviceBurst: 2 });
        const [busy, quiet] = [await register("p256"), await register("secp256k1")];
        const ts = await chainNow();
        const forged = sign(quiet, { ts, seq: 900, signer: busy }).body;
        // busy: 4 readings for a quota of 2; quiet: 3 for 2; one forged signature (refused before any quota).
        const one = (device: TestDevice) => sign(device, { ts }).body;
        const bulk = [one(busy), one(busy), one(quiet), one(busy), forged, one(quiet), one(busy), one(quiet)];
        const answer = await post(bulk, limited.server.url);
        assert.equal(answer.status, 200);
        assert.deepEqual(
          answer.json.results.map((r: { status: string; error?: { code: string } }) => r.error?.code ?? r.status),
          [
            "stored",
            "stored",
            "stored",
            "DEVICE_QUOTA_EXCEEDED",
            "INVALID_SIGNATURE",
            "stored",
            "DEVICE_QUOTA_EXCEEDED",
            "DEVICE_QUOTA_EXCEEDED",
          ],
        );
        const metrics = await (await fetch(`${limited.server.url}/metrics`)).text();
        assert.match(metrics, /^sensorseal_platform_refusals_total\{code="DEVICE_QUOTA_EXCEEDED"\} 3$/m);
        assert.match(metrics, /^sensorseal_platform_refusals_total\{code="INVALID_SIGNATURE"\} 1$/m);
        assert.doesNotMatch(metrics, /^sensorseal_platform_refusals_total\{code="RATE_LIMITED"\}/m);
        assert.doesNotMatch(metrics, /^sensorseal_platform_quota_store_fallbacks_total\{/m, "no quota check answered by the insurance");
        const logged = logs.filter((l) => l.msg === "bulk items refused").at(-1);
        assert.deepEqual(logged?.refused, { DEVICE_QUOTA_EXCEEDED: 3, INVALID_SIGNATURE: 1 });
        assert.equal(logged?.items, 8);
      });

      if (backend.name === "postgres") {
        it("PostgreSQL hangs on the quota table (a real lock held): readings are still stored, their quotas counted in memory", async () => {
          const limited = await startPlatform({ quotaStoreTimeoutMs: 500 });
          const device = await register("p256");
          const ts = await chainNow();
          // Another session takes the quota table and keeps its transaction open.
          const holder = new pg.Client({ connectionString: limited.databaseUrl });
          await holder.connect();
          try {
            await holder.query("BEGIN");
            await holder.query("LOCK TABLE sensorseal_limits IN ACCESS EXCLUSIVE MODE");
            // More requests at once than the store's pool has connections (10): none of them may hold one.
            const answers = await Promise.all(Array.from({ length: 12 }, () => post(sign(device, { ts }).body, limited.server.url)));
            assert.deepEqual(
              answers.map((a) => a.status),
              Array(12).fill(201),
            );
            const { rows } = await holder.query<{ n: string }>(
              "SELECT COUNT(*) AS n FROM pg_locks WHERE pid = pg_backend_pid() AND mode = 'AccessExclusiveLock' AND granted",
            );
            assert.equal(Number(rows[0]!.n), 1, "answered while the lock is still held");
          } finally {
            await holder.query("COMMIT").catch(() => undefined);
            await holder.end();
          }
          assert.equal((await limited.platform.store.counts()).readings, 12);
          const metrics = await (await fetch(`${limited.server.url}/metrics`)).text();
          assert.match(metrics, /^sensorseal_platform_quota_store_fallbacks_total\{limiter="device"\} 12$/m);
          assert.equal(logs.filter((l) => typeof l.msg === "string" && l.msg.startsWith("quota store failed")).length, 1);
        });
      }

      it("several instances on one store: a device quota is shared on PostgreSQL, counted per process on SQLite", async () => {
        const first = await startPlatform({ deviceReadingsPerMinute: 6, deviceBurst: 2 });
        const second = await startPlatform({ deviceReadingsPerMinute: 6, deviceBurst: 2 }, undefined, { databaseUrl: first.databaseUrl });
        const device = await register("p256");
        const ts = await chainNow();
        for (let i = 0; i < 2; i++) assert.equal((await post(sign(device, { ts }).body, first.server.url)).status, 201);
        if (backend.name === "postgres") {
          // The first instance spent the device's quota: the second refuses its next reading.
          const { answer } = await expectLimited(second, sign(device, { ts }).body, "DEVICE_QUOTA_EXCEEDED", 20);
          assert.equal(answer.error.details.device, device.address);
        } else {
          assert.equal((await post(sign(device, { ts }).body, second.server.url)).status, 201);
        }
      });

      it("charges refused readings: a bad-signature flood gets 429 RATE_LIMITED, honest readings from the same address go on", async () => {
        // 10 checks per window of 1000 s: no window ends during the test (refills: test/service/limiter.test.ts).
        const limits = { readingChecksPerSecond: 0.01, readingCheckBurst: 10, maxBulkItems: 200 };
        const limited = await startPlatform(limits);
        const devices = [await register("secp256k1"), await register("p256"), await register("secp256k1")];
        const ts = await chainNow();
        const honestBulk = (n: number) => Array.from({ length: n }, (_, i) => sign(devices[i % devices.length]!, { ts }).body);
        const forged = (n: number) => Array.from({ length: n }, () => sign(devices[0]!, { ts, seq: 9000, signer: devices[1]! }).body);

        // Honest readings cost nothing: six times the burst from one address, all stored.
        for (let i = 0; i < 3; i++) {
          const answer = await post(honestBulk(20), limited.server.url);
          assert.equal(answer.status, 200);
          assert.equal(answer.json.stored, 20, JSON.stringify(answer.json.results.find((r: any) => r.status !== "stored")));
        }
        // Bad signatures cost a point each: the window's 10 are checked, the rest refused unchecked.
        const flood = await post(forged(25), limited.server.url);
        assert.equal(flood.status, 200);
        const codes = flood.json.results.map((r: { error: { code: string } }) => r.error.code);
        assert.deepEqual(codes, [...Array(10).fill("INVALID_SIGNATURE"), ...Array(15).fill("RATE_LIMITED")]);
        assert.equal(flood.json.results[10].httpStatus, 429);
        const floodWait = Number(flood.headers.get("retry-after"));
        assert.ok(floodWait >= 1 && floodWait <= 1000, String(floodWait));
        assert.equal((await limited.platform.store.counts()).readings, 60);
        // Spent: every submission from this address is refused before its body is read, with Retry-After.
        await expectLimited(limited, forged(200), "RATE_LIMITED", 1000);
        await expectLimited(limited, honestBulk(1)[0], "RATE_LIMITED", 1000);
        // Both refusals counted by code on /metrics (prom-client), beside the process metrics.
        const metrics = await (await fetch(`${limited.server.url}/metrics`)).text();
        // 2 refused requests and the flood's 15 refused items; its 10 bad signatures.
        assert.match(metrics, /^sensorseal_platform_refusals_total\{code="RATE_LIMITED"\} 17$/m);
        assert.match(metrics, /^sensorseal_platform_refusals_total\{code="INVALID_SIGNATURE"\} 10$/m);
        assert.match(metrics, /^sensorseal_platform_process_resident_memory_bytes \d+/m);
      });

      it("charges the client address behind a trusted proxy hop: one address's flood does not hold back another's", async () => {
        const limited = await startPlatform({ readingChecksPerSecond: 0.001, readingCheckBurst: 3 }, undefined, { trustProxy: 1 });
        const device = await register("p256");
        const ts = await chainNow();
        const from = (address: string) => ({ headers: { "content-type": "application/json", "x-forwarded-for": address } });
        const forged = Array.from({ length: 5 }, () => sign(device, { ts, seq: 7000, signer: TestDevice.create("p256") }).body);
        const flood = await post(forged, limited.server.url, from("203.0.113.7"));
        assert.deepEqual(
          flood.json.results.map((r: { error: { code: string } }) => r.error.code),
          ["INVALID_SIGNATURE", "INVALID_SIGNATURE", "INVALID_SIGNATURE", "RATE_LIMITED", "RATE_LIMITED"],
        );
        const spent = await post(forged[0], limited.server.url, from("203.0.113.7"));
        assert.equal(spent.status, 429);
        assert.equal(spent.json.error.code, "RATE_LIMITED");
        for (let i = 0; i < 5; i++) {
          assert.equal((await post(sign(device, { ts }).body, limited.server.url, from("198.51.100.1"))).status, 201);
        }
        await assert.rejects(createPlatform({ trustProxy: true as unknown as number } as PlatformOptions), /trustProxy: true is refused/);
      });

      it("sheds load: 429 OVERLOADED with Retry-After while maxReadingChecksInFlight readings are being checked", async () => {
        let release: () => void = () => undefined;
        let entered: () => void = () => undefined;
        const held = new Promise<void>((resolve) => (release = resolve));
        const inCheck = new Promise<void>((resolve) => (entered = resolve));
        // The real registry index, whose catch-up (forced by a reading of an unknown device) waits until released.
        const holding: PlatformOptions["registry"] = {
          device: (address) => registry.device(address),
          statusAt: (address, ts) => registry.statusAt(address, ts),
          async sync() {
            entered();
            await held;
            await registry.sync();
          },
        };
        const busy = await startPlatform({ maxReadingChecksInFlight: 3 }, undefined, { registry: holding });
        const device = await register("secp256k1");
        const ts = await chainNow();
        const stranger = TestDevice.create("p256");
        const first = post([sign(stranger, { ts }).body, sign(device, { ts }).body, sign(device, { ts }).body], busy.server.url);
        await inCheck;
        let retryAfter: string | null = null;
        const shed = await expectRejected(
          async () => {
            const r = await post(sign(device, { ts }).body, busy.server.url);
            retryAfter = r.headers.get("retry-after");
            return r;
          },
          429,
          "OVERLOADED",
          busy.platform,
        );
        assert.deepEqual(shed.error.details, { reason: "in_flight", retryAfterSeconds: 1, maxReadingChecksInFlight: 3 });
        assert.equal(retryAfter, "1");
        assert.equal((await get("/healthz", undefined, busy.server.url)).status, 200, "reads are not shed");
        release();
        const answered = await first;
        assert.deepEqual(
          answered.json.results.map((r: { status: string }) => r.status),
          ["rejected", "stored", "stored"],
        );
        assert.equal((await post(sign(device, { ts }).body, busy.server.url)).status, 201);
      });

      it("shuts down gracefully: in-flight requests finish, then the store is closed", async () => {
        let transactions = 0;
        let inserted = 0;
        let entered: () => void = () => undefined;
        const allEntered = new Promise<void>((resolve) => (entered = resolve));
        // The real store, with each write held for 300 ms so that requests are in flight at close.
        const slow = await startPlatform({}, (db) => ({
          dialect: db.dialect,
          query: (sql, params) => db.query(sql, params),
          run: (sql, params) => db.run(sql, params),
          migrate: (ddl) => db.migrate(ddl),
          close: () => db.close(),
          // Group commit may write the five readings in fewer transactions: each holds its commit 300 ms,
          // and all five are in flight once five readings were inserted.
          async transaction(fn) {
            transactions++;
            return db.transaction(async (tx) => {
              const counting: typeof tx = {
                ...tx,
                query: (sql, params) => tx.query(sql, params),
                run: async (sql, params) => {
                  const result = await tx.run(sql, params);
                  if (sql.startsWith("INSERT INTO readings") && ++inserted === 5) entered();
                  return result;
                },
              };
              const out = await fn(counting);
              await new Promise((resolve) => setTimeout(resolve, 300));
              return out;
            });
          },
        }));
        const device = await register("secp256k1");
        const ts = await chainNow();
        const batch = Array.from({ length: 5 }, () => sign(device, { ts }));
        const inFlight = batch.map((s) => post(s.body, slow.server.url));
        await allEntered; // all five requests are being handled
        const drainedBefore = Date.now();
        const closed = Promise.all([slow.server.close(), slow.platform.close()]);
        const answers = await Promise.all(inFlight);
        assert.deepEqual(
          answers.map((a) => a.status),
          [201, 201, 201, 201, 201],
        );
        await closed;
        assert.ok(Date.now() - drainedBefore >= 250, "close waited for the requests in flight");
        assert.ok(transactions >= 1 && transactions <= 5, `group commit: ${transactions} transactions for 5 readings`);
        assert.equal(inserted, 5);
        assert.equal(await slow.platform.store.ping(), false, "store closed");
        // Everything answered 201 is in the database.
        const reopened = await openDatabase(slow.databaseUrl);
        try {
          const [row] = await reopened.query<{ n: number }>("SELECT COUNT(*) AS n FROM readings");
          assert.equal(Number(row!.n), 5);
        } finally {
          await reopened.close();
        }
        await assert.rejects(fetch(`${slow.server.url}/healthz`));
      });
    });
  });
}
