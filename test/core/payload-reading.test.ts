import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { encodeAbiParameters, hashDomain, hashTypedData, keccak256 as viemKeccak, type Address } from "viem";

import { bytesToHex } from "../../oracle/core/bytes.js";
import { canonicalize } from "../../oracle/core/canonical.js";
import { keccak256Hex } from "../../oracle/core/keccak.js";
import { buildPayload, dataHash, parsePayload } from "../../oracle/core/payload.js";
import {
  READING_LEAF_ENCODING,
  READING_TYPEHASH,
  READING_TYPES,
  ReadingDigester,
  encodeReading,
  readingDomain,
  readingDomainSeparator,
  readingFromJson,
  readingFromPayload,
  readingLeaf,
  readingToJson,
  readingTypedData,
  type Reading,
} from "../../oracle/core/reading.js";
import { assertThrowsTyped, randomAddress, randomHash, randomReading, readingValue } from "./helpers.js";

const enc = new TextEncoder();
const ANCHOR: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DEVICE: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const SALT = "0x000102030405060708090a0b0c0d0e0f";

describe("payload", () => {
  it("builds canonical payloads and parses them back", () => {
    const p = buildPayload({
      device: DEVICE.toLowerCase() as Address,
      seq: 3n,
      ts: 1_700_000_180,
      salt: SALT,
      temperature_c: -4.25,
      humidity_pct: 81,
      pm2_5_ugm3: 12.5,
      pm10_ugm3: 20,
      loc: { lat: 48.8566, lon: 2.3522 },
      co2_ppm: 415,
      battery: undefined,
    });
    assert.equal(
      p.text,
      `{"co2_ppm":415,"device":"${DEVICE}","humidity_pct":81,"loc":{"lat":48.8566,"lon":2.3522},"pm10_ugm3":20,` +
        `"pm2_5_ugm3":12.5,"salt":"${SALT}","seq":3,"temperature_c":-4.25,"ts":1700000180,"v":1}`,
    );
    assert.deepEqual(p.bytes, enc.encode(p.text));
    assert.equal(p.text, canonicalize(p.value));
    assert.deepEqual(parsePayload(p.bytes), p.value);
    assert.equal(dataHash(p.bytes), keccak256Hex(p.bytes));
    assert.equal(dataHash(p.bytes), viemKeccak(p.bytes));
  });

  it("makes a fresh 16-byte salt when none is given", () => {
    const a = buildPayload({ device: DEVICE, seq: 1, ts: 0 });
    const b = buildPayload({ device: DEVICE, seq: 1, ts: 0 });
    assert.match(a.value.salt, /^0x[0-9a-f]{32}$/);
    assert.notEqual(a.value.salt, b.value.salt);
    assert.equal(buildPayload({ device: DEVICE, seq: 1, ts: 0, salt: new Uint8Array(16).fill(255) }).value.salt, `0x${"ff".repeat(16)}`);
    assert.equal(
      buildPayload({ device: DEVICE, seq: 1, ts: 0, salt: SALT.toUpperCase().replace("0X", "0x") as `0x${string}` }).value.salt,
      SALT,
    );
  });

  it("rejects bad fields when building", () => {
    const ok = { device: DEVICE, seq: 1, ts: 0, salt: SALT } as const;
    const bad: [string, Record<string, unknown>][] = [
      ["v", { v: 3 }], // 2 is the vocabulary schema (test/core/vocabulary.test.ts)
      ["device", { device: "0x1234" }],
      ["seq", { seq: 0 }],
      ["seq", { seq: 1.5 }],
      ["seq", { seq: 2 ** 53 }],
      ["seq", { seq: 1n << 60n }],
      ["ts", { ts: -1 }],
      ["salt", { salt: "0x00" }],
      ["salt", { salt: new Uint8Array(15) }],
      ["temperature_c", { temperature_c: "21" }],
      ["pm10_ugm3", { pm10_ugm3: null }],
    ];
    for (const [field, patch] of bad) {
      assertThrowsTyped(() => buildPayload({ ...ok, ...patch } as never), "InvalidPayloadError", { field }, field);
    }
    assert.throws(() => buildPayload({ ...ok, extra: NaN }), { name: "CanonicalizeError" });
    assert.throws(() => buildPayload({ ...ok, extra: new Date() }), { name: "CanonicalizeError" });
  });

  it("parsePayload rejects non-canonical bytes", () => {
    const { text } = buildPayload({ device: DEVICE, seq: 1, ts: 5, salt: SALT, temperature_c: 20 });
    const variants = [
      text.replace('{"device"', '{ "device"'), // whitespace
      `${text}\n`,
      text.replace('"temperature_c":20', '"temperature_c":20.0'), // number spelling
      text.replace('"temperature_c":20', '"temperature_c":2e1'),
      text.replace(`"seq":1,"temperature_c":20,"ts":5`, `"ts":5,"seq":1,"temperature_c":20`), // key order
      text.replace('"v":1}', '"v":1,"v":1}'), // duplicate key
      JSON.stringify(JSON.parse(text), null, 2),
      text.replace('"v":1', '"\\u0076":1'), // escaped key
    ];
    for (const v of variants) {
      assert.notEqual(v, text);
      assert.throws(() => parsePayload(enc.encode(v)), { name: "NonCanonicalJsonError" }, v);
    }
  });

  it("parsePayload rejects missing or mistyped required fields", () => {
    const base: Record<string, unknown> = { v: 1, device: DEVICE, seq: 1, ts: 5, salt: SALT };
    const cases: [string, Record<string, unknown>][] = [
      ["v", { v: undefined }],
      ["v", { v: 3 }], // 2 is the vocabulary schema (test/core/vocabulary.test.ts)
      ["v", { v: "1" }],
      ["device", { device: undefined }],
      ["device", { device: "0x70997970C51812dc3A010C7d01b50e0d17dc79c8" }], // bad checksum
      ["device", { device: 1 }],
      ["seq", { seq: undefined }],
      ["seq", { seq: "1" }],
      ["seq", { seq: 0 }],
      ["seq", { seq: 1.5 }],
      ["ts", { ts: undefined }],
      ["ts", { ts: -5 }],
      ["ts", { ts: 1e300 }],
      ["salt", { salt: undefined }],
      ["salt", { salt: "0x0001" }],
      ["salt", { salt: SALT.toUpperCase().replace("0X", "0x") }],
      ["humidity_pct", { humidity_pct: "40" }],
    ];
    for (const [field, patch] of cases) {
      const bytes = enc.encode(canonicalize({ ...base, ...patch }));
      assertThrowsTyped(() => parsePayload(bytes), "InvalidPayloadError", { field }, JSON.stringify(patch));
      assert.throws(() => parsePayload(bytes), { code: "INVALID_PAYLOAD" });
    }
    for (const top of ["[]", "1", '"x"', "null"]) {
      assertThrowsTyped(() => parsePayload(enc.encode(top)), "InvalidPayloadError", { field: "$" });
    }
    // Lowercase device and unknown fields are fine.
    assert.equal(parsePayload(enc.encode(canonicalize({ ...base, device: DEVICE.toLowerCase(), x: [1] }))).x?.toString(), "1");
  });
});

describe("reading", () => {
  it("reads a Reading off a payload", () => {
    const p = buildPayload({ device: DEVICE, seq: 42, ts: 1_700_000_000, salt: SALT, pm10_ugm3: 3 });
    const r = readingFromPayload(p.bytes);
    assert.deepEqual(r, { device: DEVICE, seq: 42n, timestamp: 1_700_000_000n, dataHash: keccak256Hex(p.bytes) });
    const lower = enc.encode(p.text.replace(DEVICE, DEVICE.toLowerCase()));
    assert.equal(readingFromPayload(lower).device, DEVICE);
  });

  it("digest equals viem hashTypedData for random readings and domains", () => {
    assert.equal(READING_TYPEHASH, viemKeccak(enc.encode("Reading(address device,uint64 seq,uint64 timestamp,bytes32 dataHash)")));
    for (const chainId of [1, 31337, 2 ** 40]) {
      const anchor = chainId === 31337 ? ANCHOR : randomAddress();
      const domain = readingDomain(chainId, anchor);
      const digester = new ReadingDigester(chainId, anchor);
      assert.equal(
        digester.domainSeparator,
        hashDomain({
          domain: { ...domain, chainId: BigInt(chainId) },
          types: {
            EIP712Domain: [
              { name: "name", type: "string" },
              { name: "version", type: "string" },
              { name: "chainId", type: "uint256" },
              { name: "verifyingContract", type: "address" },
            ],
          },
        }),
      );
      assert.equal(bytesToHex(readingDomainSeparator(BigInt(chainId), anchor)), digester.domainSeparator);
      for (let i = 0; i < 200; i++) {
        const r = randomReading();
        const expected = hashTypedData(readingTypedData(domain, r));
        assert.equal(bytesToHex(digester.digest(r)), expected);
        assert.equal(digester.digestHex(r), expected);
      }
    }
    // Types are usable by viem as is.
    assert.deepEqual(Object.keys(READING_TYPES), ["Reading"]);
  });

  it("leaf equals StandardMerkleTree.leafHash, and encodeReading equals abi.encode", () => {
    const values: ReturnType<typeof readingValue>[] = [];
    const readings: Reading[] = [];
    for (let i = 0; i < 200; i++) {
      const r = randomReading();
      readings.push(r);
      values.push(readingValue(r));
    }
    const oz = StandardMerkleTree.of(values, [...READING_LEAF_ENCODING]);
    readings.forEach((r, i) => {
      assert.equal(bytesToHex(readingLeaf(r)), oz.leafHash(values[i]));
      assert.equal(
        bytesToHex(encodeReading(r)),
        encodeAbiParameters(
          [{ type: "address" }, { type: "uint64" }, { type: "uint64" }, { type: "bytes32" }],
          [r.device, r.seq, r.timestamp, r.dataHash],
        ),
      );
    });
  });

  it("rejects out-of-range and malformed reading fields", () => {
    const good: Reading = { device: DEVICE, seq: 1n, timestamp: 2n, dataHash: randomHash() };
    const digester = new ReadingDigester(31337, ANCHOR);
    const bad: [string, Partial<Record<keyof Reading, unknown>>][] = [
      ["seq", { seq: -1n }],
      ["seq", { seq: 1n << 64n }],
      ["seq", { seq: 1 }],
      ["timestamp", { timestamp: (1n << 64n) + 5n }],
      ["device", { device: "0x1234" }],
      ["device", { device: `0x${"zz".repeat(20)}` }],
      ["device", { device: DEVICE.slice(2) }],
      ["dataHash", { dataHash: "0x00" }],
      ["dataHash", { dataHash: `0x${"g0".repeat(32)}` }],
    ];
    for (const [field, patch] of bad) {
      const r = { ...good, ...patch } as Reading;
      for (const f of [() => digester.digest(r), () => readingLeaf(r), () => encodeReading(r), () => readingToJson(r)]) {
        assertThrowsTyped(f, "InvalidReadingError", { field }, `${field}: ${String(patch[field as keyof Reading])}`);
        assert.throws(f, { code: "INVALID_READING" });
      }
    }
    // A failed call leaves no state behind.
    assert.equal(digester.digestHex(good), hashTypedData(readingTypedData(readingDomain(31337, ANCHOR), good)));
  });

  it("round-trips the JSON form strictly", () => {
    for (let i = 0; i < 50; i++) {
      const r = randomReading();
      const json = readingToJson(r);
      assert.equal(json.seq, r.seq.toString());
      assert.deepEqual(readingFromJson(JSON.parse(JSON.stringify(json))), r);
    }
    const json = readingToJson({ device: DEVICE, seq: 1n, timestamp: 2n, dataHash: `0x${"AB".repeat(32)}` });
    assert.equal(json.dataHash, `0x${"ab".repeat(32)}`);
    for (const patch of [
      { seq: "01" },
      { seq: "-1" },
      { seq: 1 },
      { seq: "18446744073709551616" },
      { device: DEVICE.toLowerCase() },
      { dataHash: `0x${"AB".repeat(32)}` },
      { extra: 1 },
    ]) {
      assert.throws(() => readingFromJson({ ...json, ...patch }), { name: "InvalidReadingError" }, JSON.stringify(patch));
    }
    assert.equal(readingFromJson({ ...json, seq: "18446744073709551615" }).seq, (1n << 64n) - 1n);
  });
});
