/**
 * Hostile HTTP input against the platform and the relayer, generated with fast-check (fixed seed):
 * malformed JSON, wrong types, oversize bodies, bad and malleated (high-s) signatures, wrong EIP-712
 * domains, replayed and out-of-order sequence numbers, unknown / suspended / revoked devices, a
 * reading of one device signed by another, future timestamps, wrong media types.
 *
 * For every request: no 2xx (a bulk multi-status answer must accept nothing), no 5xx, an error in the
 * one JSON shape. After the run: row counts unchanged (the platform keeps equivocation evidence for
 * each validly signed conflicting payload, by design: counted exactly), both services still answer
 * /healthz and still accept a valid reading.
 *
 *   BATTERY_RUNS=2000 BATTERY_SEED=7 npx hardhat test nodejs test/battery/hostile-input.test.ts
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import fc from "fast-check";
import { getAddress, type Hex } from "viem";

import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { bytesToHex } from "../../oracle/core/bytes.js";
import { canonicalize } from "../../oracle/core/canonical.js";
import { ReadingDigester, type Reading } from "../../oracle/core/reading.js";
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
  type ReadingBody,
  type TestDevice,
  type TestRelayer,
} from "../relayer/fixtures.js";
import { envInt, malleate, platformReading, signOnForeignDomain, startTestPlatform, type TestPlatform } from "./harness.js";

const RUNS = envInt("BATTERY_RUNS", 150);
const SEED = envInt("BATTERY_SEED", 20_240_601);
const BODY_LIMIT = "16kb";

/** A hostile request: the raw body text and its content type. */
interface Hostile {
  kind: string;
  body: string;
  contentType: string;
  /** A validly signed conflicting payload for a stored seq: the platform keeps it as evidence. */
  evidence?: boolean;
}

interface Tally {
  tried: number;
  accepted: number;
  crashes: number;
  byKind: Map<string, number>;
  byStatus: Map<number, number>;
}

const newTally = (): Tally => ({ tried: 0, accepted: 0, crashes: 0, byKind: new Map(), byStatus: new Map() });

describe("battery: hostile HTTP input (fast-check)", { timeout: 600_000 }, () => {
  let chain: AuditChain;
  let tmp: { dir: string; remove(): Promise<void> };
  let registry: RegistryIndex;
  let relayer: TestRelayer;
  let platform: TestPlatform;
  let digester: ReadingDigester;
  let a: TestDevice, b: TestDevice, suspended: TestDevice, revoked: TestDevice, unknown: TestDevice;
  let now: number;
  const STORED_SEQS = 3;

  before(async () => {
    chain = await startAuditChain();
    tmp = await tempDir();
    a = await registeredDevice(chain, "secp256k1");
    b = await registeredDevice(chain, "p256");
    suspended = await registeredDevice(chain, "secp256k1");
    revoked = await registeredDevice(chain, "p256");
    unknown = newDevice("secp256k1");
    await chain.suspend(suspended.address);
    await chain.revoke(revoked.address);
    await chain.mine(1, 2);
    now = await chainTime(chain);
    digester = new ReadingDigester(chain.chainId, chain.anchor);
    registry = await RegistryIndex.start({ client: chain.publicClient, registry: chain.registry, deployBlock: 0, pollMs: 200 });
    relayer = await startTestRelayer(chain, {
      databaseUrl: `${tmp.dir}/relayer.sqlite`,
      limits: { bodyLimit: BODY_LIMIT, maxBulk: 20, requestRate: undefined, readingRate: undefined, deviceQuota: undefined },
    });
    platform = await startTestPlatform(chain, registry, tmp.dir, {
      bodyLimit: BODY_LIMIT,
      maxPayloadBytes: 2048,
      maxBulkItems: 20,
      ipRatePerSecond: 1e6,
      ipBurst: 1e6,
      deviceReadingsPerMinute: 1e6,
      deviceBurst: 1e6,
    });
    await registry.sync();
    await relayer.registry.sync();
    // Seqs 1..3 of a and b are stored on both services: replays and out-of-order seqs refer to them.
    for (const d of [a, b]) {
      for (let seq = 1; seq <= STORED_SEQS; seq++) {
        const r = await postJson(`${relayer.url}/v1/readings`, signedReading(d, chain, { seq, timestamp: now }));
        assert.equal(r.status, 202, r.text);
        const p = await postJson(`${platform.url}/v1/readings`, platformReading(d, { seq, ts: now, digester }).body);
        assert.equal(p.status, 201, p.text);
      }
    }
  });

  after(async () => {
    await relayer?.close();
    await platform?.close();
    registry?.stop();
    await chain?.close();
    await tmp?.remove();
  });

  // ---- generators ----
  const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((x) => bytesToHex(x));
  const salt = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((x) => bytesToHex(x));
  const json = (value: unknown) => ({ body: JSON.stringify(value) ?? "", contentType: "application/json" });
  const device = () => fc.constantFrom(a, b);

  /** Signature damage: a flipped bit, truncation, extension, random bytes, the high-s twin, the other scheme's length. */
  const damage = fc.oneof(
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([i, mask]) => (sig: Hex) => {
      const bytes = Buffer.from(sig.slice(2), "hex");
      bytes[i % bytes.length] ^= mask;
      return `0x${bytes.toString("hex")}` as Hex;
    }),
    fc.integer({ min: 0, max: 63 }).map((n) => (sig: Hex) => sig.slice(0, 2 + 2 * n) as Hex),
    fc.uint8Array({ minLength: 1, maxLength: 8 }).map((extra) => (sig: Hex) => `${sig}${Buffer.from(extra).toString("hex")}` as Hex),
    fc.uint8Array({ minLength: 64, maxLength: 65 }).map((random) => (_sig: Hex) => bytesToHex(random)),
    fc.constant((sig: Hex) => malleate(sig)),
    fc.constant((sig: Hex) => ((sig.length - 2) / 2 === 65 ? (sig.slice(0, 130) as Hex) : (`${sig}1b` as Hex))),
  );

  /** A domain other than SensorSeal's: another chain id, anchor, name or version. */
  const foreignDomain = fc.oneof(
    fc
      .integer({ min: 1, max: 2 ** 31 })
      .filter((id) => id !== 31337)
      .map((chainId) => ({ name: "SensorSeal", version: "1", chainId, anchor: undefined })),
    fc
      .uint8Array({ minLength: 20, maxLength: 20 })
      .map((x) => ({ name: "SensorSeal", version: "1", chainId: 31337, anchor: getAddress(bytesToHex(x)) })),
    fc.constantFrom(
      { name: "SensorSeal Relayer", version: "1", chainId: 31337, anchor: undefined },
      { name: "SensorSeal Registry", version: "1", chainId: 31337, anchor: undefined },
      { name: "SensorSeal", version: "2", chainId: 31337, anchor: undefined },
    ),
  );

  function relayerBody(d: TestDevice, seq: number, ts: number, dataHash: Hex, signer: TestDevice = d): ReadingBody {
    const body = signedReading(signer, chain, { seq, timestamp: ts, dataHash });
    if (signer === d) return body;
    return { ...body, device: d.address };
  }

  /** Requests no relayer may accept. The fresh seq (4) of a and b is never accepted, so stays fresh. */
  function relayerHostile(): fc.Arbitrary<Hostile> {
    const fresh = STORED_SEQS + 1;
    const valid = fc.tuple(device(), hash32).map(([d, h]) => relayerBody(d, fresh, now, h));
    const field = fc.constantFrom("device", "seq", "timestamp", "dataHash", "signature");
    return fc.oneof(
      fc
        .string({ maxLength: 200 })
        .filter((s) => !isJson(s))
        .map((s) => ({ kind: "malformed JSON", body: s, contentType: "application/json" })),
      fc.tuple(valid, fc.nat()).map(([r, cut]) => {
        const text = JSON.stringify(r);
        return { kind: "truncated JSON", body: text.slice(0, cut % text.length), contentType: "application/json" };
      }),
      fc
        .anything({ maxDepth: 2 })
        .filter((v) => !Array.isArray(v))
        .map((v) => ({ kind: "wrong top-level type", ...json(v) })),
      fc.array(fc.anything({ maxDepth: 1 }), { minLength: 1, maxLength: 5 }).map((v) => ({ kind: "bulk of junk", ...json(v) })),
      fc
        .tuple(valid, field, fc.anything({ maxDepth: 1 }))
        .filter(([r, f, v]) => !equivalent(r[f], v))
        .map(([r, f, v]) => ({ kind: "wrong field type", ...json({ ...r, [f]: v }) })),
      fc.tuple(valid, field).map(([r, f]) => {
        const { [f]: _drop, ...rest } = r;
        return { kind: "missing field", ...json(rest) };
      }),
      fc
        .tuple(valid, fc.integer({ min: 17 * 1024, max: 256 * 1024 }))
        .map(([r, n]) => ({ kind: "oversize body", ...json({ ...r, pad: "x".repeat(n) }) })),
      fc
        .tuple(valid, fc.integer({ min: 21, max: 40 }))
        .map(([r, n]) => ({ kind: "bulk over maxBulk", ...json(Array.from({ length: n }, () => r)) })),
      fc.tuple(valid, damage).map(([r, f]) => ({ kind: "bad or malleated signature", ...json({ ...r, signature: f(r.signature) }) })),
      fc.tuple(device(), hash32, foreignDomain).map(([d, h, dom]) => {
        const reading: Reading = { device: d.address, seq: BigInt(fresh), timestamp: BigInt(now), dataHash: h };
        const sig = signOnForeignDomain(
          d,
          { name: dom.name, version: dom.version, chainId: dom.chainId, verifyingContract: dom.anchor ?? chain.anchor },
          reading,
        );
        return {
          kind: "wrong EIP-712 domain",
          ...json({ device: d.address, seq: String(fresh), timestamp: String(now), dataHash: h, signature: sig }),
        };
      }),
      fc
        .tuple(device(), hash32, fc.integer({ min: 1, max: STORED_SEQS }))
        .map(([d, h, seq]) => ({ kind: "replayed seq, other content", ...json(relayerBody(d, seq, now, h)) })),
      fc.tuple(device(), hash32, fc.integer({ min: 1, max: STORED_SEQS })).map(([d, h, seq]) => ({
        kind: "out-of-order seq",
        ...json(relayerBody(d, seq, now - 1 - seq, h)),
      })),
      fc.tuple(fc.constantFrom(unknown, suspended, revoked), hash32, fc.integer({ min: 1, max: 5 })).map(([d, h, seq]) => ({
        kind: "unknown/suspended/revoked device",
        ...json(relayerBody(d, seq, now, h)),
      })),
      fc.tuple(fc.constantFrom([a, b] as const, [b, a] as const), hash32).map(([[victim, signer], h]) => ({
        kind: "another device's key",
        ...json(relayerBody(victim, fresh, now, h, signer)),
      })),
      fc.tuple(device(), hash32, fc.integer({ min: 3600, max: 10 ** 9 })).map(([d, h, ahead]) => ({
        kind: "future timestamp",
        ...json(relayerBody(d, fresh, Math.floor(Date.now() / 1000) + ahead, h)),
      })),
      fc.tuple(valid, fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "application/xml")).map(([r, type]) => ({
        kind: "wrong media type",
        body: JSON.stringify(r),
        contentType: type,
      })),
    );
  }

  /** Requests no platform may store. Fresh seq 4 stays fresh; replays of seqs 1..3 leave evidence. */
  function platformHostile(): fc.Arbitrary<Hostile> {
    const fresh = STORED_SEQS + 1;
    const signed = (d: TestDevice, seq: number, ts: number, s: Hex, signer?: TestDevice, extra: Record<string, unknown> = {}) =>
      platformReading(d, { seq, ts, digester, ...(signer ? { signer } : {}), extra: { salt: s, ...extra } });
    const valid = fc.tuple(device(), salt).map(([d, s]) => signed(d, fresh, now, s));
    return fc.oneof(
      fc
        .string({ maxLength: 200 })
        .filter((s) => !isJson(s))
        .map((s) => ({ kind: "malformed JSON", body: s, contentType: "application/json" })),
      fc
        .anything({ maxDepth: 2 })
        .filter((v) => !Array.isArray(v))
        .map((v) => ({ kind: "wrong top-level type", ...json(v) })),
      fc.array(fc.anything({ maxDepth: 1 }), { minLength: 1, maxLength: 5 }).map((v) => ({ kind: "bulk of junk", ...json(v) })),
      fc.tuple(valid, fc.constantFrom("payload", "signature"), fc.anything({ maxDepth: 1 })).map(([r, f, v]) => ({
        kind: "wrong field type",
        ...json({ ...r.body, [f]: v }),
      })),
      fc
        .tuple(valid, fc.integer({ min: 17 * 1024, max: 256 * 1024 }))
        .map(([r, n]) => ({ kind: "oversize body", ...json({ ...r.body, pad: "x".repeat(n) }) })),
      fc.tuple(device(), salt, fc.integer({ min: 2100, max: 8000 })).map(([d, s, n]) => ({
        kind: "oversize payload",
        ...json(signed(d, fresh, now, s, undefined, { note: "y".repeat(n) }).body),
      })),
      fc.tuple(valid, fc.constantFrom(" ", "\n", "\t")).map(([r, ws]) => {
        // Re-serialized (not canonical) with the signature of the canonical bytes, or re-signed: refused either way.
        const text = JSON.stringify(JSON.parse(r.body.payload), null, ws === " " ? 1 : ws);
        return { kind: "non-canonical payload", ...json({ payload: text, signature: r.body.signature }) };
      }),
      fc.tuple(device(), salt, fc.constantFrom("v", "device", "seq", "ts", "salt"), fc.anything({ maxDepth: 0 })).map(([d, s, f, v]) => {
        const value = { ...JSON.parse(signed(d, fresh, now, s).body.payload) };
        if (typeof v === "undefined") delete value[f];
        else value[f] = equivalent(value[f], v) ? [v] : v;
        // NaN and ±Infinity cannot be canonical JSON: such a payload goes as JSON.stringify writes it.
        let payload: string;
        try {
          payload = canonicalize(value);
        } catch {
          payload = JSON.stringify(value);
        }
        return { kind: "malformed payload", ...json({ payload, signature: signed(d, fresh, now, s).body.signature }) };
      }),
      fc
        .tuple(valid, damage)
        .map(([r, f]) => ({ kind: "bad or malleated signature", ...json({ ...r.body, signature: f(r.body.signature) }) })),
      fc.tuple(device(), salt, foreignDomain).map(([d, s, dom]) => {
        const { body, reading } = signed(d, fresh, now, s);
        const sig = signOnForeignDomain(
          d,
          { name: dom.name, version: dom.version, chainId: dom.chainId, verifyingContract: dom.anchor ?? chain.anchor },
          reading,
        );
        return { kind: "wrong EIP-712 domain", ...json({ payload: body.payload, signature: sig }) };
      }),
      fc.tuple(device(), salt, fc.integer({ min: 1, max: STORED_SEQS })).map(([d, s, seq]) => ({
        kind: "replayed seq, other content",
        evidence: true,
        ...json(signed(d, seq, now, s).body),
      })),
      fc.tuple(fc.constantFrom(unknown, suspended, revoked), salt, fc.integer({ min: 1, max: 5 })).map(([d, s, seq]) => ({
        kind: "unknown/suspended/revoked device",
        ...json(signed(d, seq, now, s).body),
      })),
      fc.tuple(fc.constantFrom([a, b] as const, [b, a] as const), salt).map(([[victim, signer], s]) => ({
        kind: "another device's key",
        ...json(signed(victim, fresh, now, s, signer).body),
      })),
      fc.tuple(device(), salt, fc.integer({ min: 3600, max: 10 ** 9 })).map(([d, s, ahead]) => ({
        kind: "future timestamp",
        ...json(signed(d, fresh, Math.floor(Date.now() / 1000) + ahead, s).body),
      })),
    );
  }

  async function attack(url: string, h: Hostile, tally: Tally, acceptedOf: (status: number, body: any) => number): Promise<void> {
    tally.tried++;
    tally.byKind.set(h.kind, (tally.byKind.get(h.kind) ?? 0) + 1);
    let status: number;
    let body: any;
    try {
      const res = await fetch(`${url}/v1/readings`, { method: "POST", headers: { "content-type": h.contentType }, body: h.body });
      status = res.status;
      const text = await res.text();
      body = text.length > 0 ? JSON.parse(text) : undefined;
    } catch (error) {
      // A reset connection is an answer only for an oversize body the server stopped reading.
      if (h.kind === "oversize body") {
        status = 413;
        body = { error: { code: "PAYLOAD_TOO_LARGE", message: "connection closed" } };
      } else {
        tally.crashes++;
        throw error;
      }
    }
    tally.byStatus.set(status, (tally.byStatus.get(status) ?? 0) + 1);
    if (status >= 500) tally.crashes++;
    const accepted = acceptedOf(status, body);
    tally.accepted += accepted;
    assert.ok(status < 500, `${h.kind}: ${status} ${JSON.stringify(body)}`);
    assert.equal(accepted, 0, `${h.kind} accepted: ${status} ${JSON.stringify(body)} for ${h.body.slice(0, 300)}`);
    if (status >= 400) assert.equal(typeof body?.error?.code, "string", `${h.kind}: error shape ${JSON.stringify(body)}`);
  }

  function report(service: string, tally: Tally, stored: number): void {
    const kinds = [...tally.byKind].map(([k, n]) => `${k} ${n}`).join(", ");
    const statuses = [...tally.byStatus]
      .sort(([x], [y]) => x - y)
      .map(([s, n]) => `${s}×${n}`)
      .join(" ");
    console.log(
      `# ${service}: ${tally.tried} tried, ${tally.accepted} accepted, ${stored} stored, ${tally.crashes} crashes (seed ${SEED}, ${RUNS} runs)`,
    );
    console.log(`#   statuses: ${statuses}`);
    console.log(`#   kinds: ${kinds}`);
  }

  it(`relayer: ${RUNS} hostile requests, 0 accepted, 0 stored, no 5xx, still alive`, async () => {
    const before = await relayer.relayer.store.rowCounts();
    const tally = newTally();
    const acceptedOf = (status: number, body: any) =>
      status >= 200 && status < 300 ? (Array.isArray(body?.results) ? Number(body.accepted ?? 0) : 1) : 0;
    await fc.assert(
      fc.asyncProperty(relayerHostile(), (h) => attack(relayer.url, h, tally, acceptedOf)),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const afterCounts = await relayer.relayer.store.rowCounts();
    const stored = afterCounts.readings - before.readings;
    report("relayer", tally, stored);
    assert.equal(stored, 0);
    assert.equal((await request(`${relayer.url}/healthz`)).status, 200);
    // Still serving: the fresh reading (seq 4) of a is accepted now.
    const ok = await postJson(`${relayer.url}/v1/readings`, signedReading(a, chain, { seq: STORED_SEQS + 1, timestamp: now }));
    assert.equal(ok.status, 202, ok.text);
  });

  it(`platform: ${RUNS} hostile requests, 0 accepted, 0 stored, no 5xx, still alive`, async () => {
    const before = await platform.platform.store.counts();
    const tally = newTally();
    let evidence = 0;
    const acceptedOf = (status: number, body: any) => {
      if (Array.isArray(body?.results))
        return body.results.filter((r: { status?: string }) => r.status === "stored" || r.status === "duplicate").length;
      return status >= 200 && status < 300 ? 1 : 0;
    };
    await fc.assert(
      fc.asyncProperty(platformHostile(), async (h) => {
        await attack(platform.url, h, tally, acceptedOf);
        if (h.evidence) evidence++;
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    const afterCounts = await platform.platform.store.counts();
    const stored = afterCounts.readings - before.readings;
    report("platform", tally, stored);
    assert.equal(stored, 0);
    // Each validly signed conflicting payload of a stored seq is kept once as evidence; nothing else.
    assert.ok(afterCounts.equivocations - before.equivocations <= evidence, "equivocation evidence only for conflicting payloads");
    assert.equal((await request(`${platform.url}/healthz`)).status, 200);
    const ok = await postJson(`${platform.url}/v1/readings`, platformReading(a, { seq: STORED_SEQS + 1, ts: now, digester }).body);
    assert.equal(ok.status, 201, ok.text);
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Would `v` stand for the same value as `original` in a reading (e.g. seq 4 for "4")? */
function equivalent(original: unknown, v: unknown): boolean {
  if (typeof v === "string" || typeof v === "number" || typeof v === "bigint")
    return String(v).toLowerCase() === String(original).toLowerCase();
  return false;
}
