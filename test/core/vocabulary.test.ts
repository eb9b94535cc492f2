import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";

import { keccak256 } from "viem";

import { buildPayload, parsePayload } from "../../oracle/core/payload.js";
import { QUANTITIES, toVocabularyUnit } from "../../oracle/core/vocabulary.js";
import { renderVocabularyVectors } from "../../scripts/lib/vocabulary-vectors.js";

const utf8 = new TextEncoder();
const FILE = new URL("../vectors/vocabulary.json", import.meta.url);
const OLD = new URL("../vectors/readings.json", import.meta.url);

type Vectors = {
  valid: { name: string; fields: Record<string, unknown>; payload: string; dataHash: string }[];
  invalid: { name: string; fields: Record<string, unknown>; field: string }[];
};

/** The vectors file writes non-finite numbers as strings; turn them back. */
function revive(fields: Record<string, unknown>): Record<string, unknown> {
  const special: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, "-Infinity": Number.NEGATIVE_INFINITY };
  return Object.fromEntries(Object.entries(fields).map(([k, x]) => [k, typeof x === "string" && x in special ? special[x] : x]));
}

function refusal(fn: () => unknown): { code: string; field: string } {
  try {
    fn();
  } catch (e) {
    const err = e as { code: string; details: { field: string } };
    return { code: err.code, field: err.details.field };
  }
  assert.fail("accepted");
}

describe("payload schema v2: the reading vocabulary", () => {
  it("test/vectors/vocabulary.json is what scripts/make-vectors.ts generates", async () => {
    assert.equal(await readFile(FILE, "utf8"), renderVocabularyVectors());
  });

  it("builds each valid vector to its exact bytes (v 2) and parses it back; keccak independently", async () => {
    const v = JSON.parse(await readFile(FILE, "utf8")) as Vectors;
    for (const c of v.valid) {
      const built = buildPayload(c.fields as never);
      assert.equal(built.text, c.payload, c.name);
      assert.equal(keccak256(utf8.encode(c.payload)), c.dataHash, c.name);
      const parsed = parsePayload(utf8.encode(c.payload));
      assert.equal(parsed.v, 2);
      for (const [k, x] of Object.entries(c.fields)) if (k !== "v") assert.deepEqual(parsed[k], x, `${c.name}: ${k}`);
    }
  });

  it("refuses each invalid vector before signing, naming the field (INVALID_PAYLOAD)", async () => {
    const v = JSON.parse(await readFile(FILE, "utf8")) as Vectors;
    assert.ok(v.invalid.length >= 14);
    for (const c of v.invalid) {
      assert.deepEqual(
        refusal(() => buildPayload(revive(c.fields) as never)),
        { code: "INVALID_PAYLOAD", field: c.field },
        c.name,
      );
    }
  });

  it("refuses the same faults in a received v2 payload (a device built without the SDK)", () => {
    const base =
      '"device":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","salt":"0x000102030405060708090a0b0c0d0e0f","seq":1,"ts":1700000000,"v":2';
    assert.deepEqual(
      refusal(() => parsePayload(utf8.encode(`{${base},"wind_speed_ms":500}`))),
      { code: "INVALID_PAYLOAD", field: "wind_speed_ms" },
    );
    assert.deepEqual(
      refusal(() => parsePayload(utf8.encode(`{"co_ppm":1,${base}}`))),
      { code: "INVALID_PAYLOAD", field: "co_ppm" },
    );
    assert.deepEqual(
      refusal(() => parsePayload(utf8.encode(`{${base},"v":3}`.replace(',"v":2', "")))),
      { code: "INVALID_PAYLOAD", field: "v" },
    );
  });

  it("old payloads keep their bytes and rules: every v1 vector parses, and v1's free fields stay free", async () => {
    const old = JSON.parse(await readFile(OLD, "utf8")) as { readings: { payload: string }[] };
    for (const r of old.readings) assert.equal(parsePayload(utf8.encode(r.payload)).v, 1);
    // An integrator's untyped field in a v1 payload, even one under a wrong unit's name, still parses (and
    // builds when v: 1 is asked for explicitly; without it the SDK refuses the name, see the invalid vectors).
    const legacy = buildPayload({
      device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      seq: 1,
      ts: 1_700_000_000,
      salt: "0x000102030405060708090a0b0c0d0e0f",
      v: 1,
      pm10_ugm3: 2e21,
      no2_ppb: "high",
    });
    assert.equal(legacy.value.v, 1);
    assert.equal(parsePayload(legacy.bytes).no2_ppb, "high");
    // A free field that merely starts like a quantity (Sensor.Community's saturation flags) is no unit.
    assert.equal(buildPayload({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1, ts: 1, pm10_saturated: true }).value.v, 1);
    // Leaving a value out omits the member; nothing stands in for it.
    const some = buildPayload({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 2, ts: 1, so2_ugm3: undefined, o3_ugm3: 40 });
    assert.equal(some.text.includes("so2"), false);
  });

  it("converts the usual other units to the vocabulary's", () => {
    assert.equal(toVocabularyUnit("no2_ugm3", 10, "ppb"), 19.137063);
    assert.equal(toVocabularyUnit("o3_ugm3", 1, "ppm"), 1996.547421);
    assert.equal(toVocabularyUnit("co_mgm3", 1, "ppm"), 1.165141);
    assert.equal(toVocabularyUnit("temperature_c", 50, "°F"), 10);
    assert.equal(toVocabularyUnit("pressure_hpa", 101_325, "Pa"), 1013.25);
    assert.equal(toVocabularyUnit("wind_speed_ms", 36, "km/h"), 10);
    assert.equal(toVocabularyUnit("rain_mm", 1, "in"), 25.4);
    assert.deepEqual(
      refusal(() => toVocabularyUnit("rain_mm", 1, "ppb")),
      { code: "INVALID_PAYLOAD", field: "rain_mm" },
    );
  });

  it("documents every quantity in docs/READING-VOCABULARY.md with its unit", async () => {
    const doc = await readFile(new URL("../../docs/READING-VOCABULARY.md", import.meta.url), "utf8");
    for (const q of QUANTITIES) assert.ok(doc.includes(`\`${q.field}\``) && doc.includes(`\`${q.ucum}\``), q.field);
  });
});
