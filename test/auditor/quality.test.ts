/** Data-quality flags: each rule at its threshold, deterministic. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { QUALITY_RULES_VERSION, qualityFlags, type QualityInput } from "../../oracle/auditor/quality.js";

const ok: QualityInput = { pm25: 10, pm10: 15, temperature: 20, humidity: 50 };

describe("auditor: quality flags", () => {
  it("a normal reading has none; the rules are versioned", () => {
    assert.deepEqual(qualityFlags(ok, [], [9, 11, 10]), []);
    assert.equal(QUALITY_RULES_VERSION, "quality-v1");
  });
  it("out of physical range", () => {
    assert.deepEqual(qualityFlags({ ...ok, pm25: -1 }, [], []), ["OUT_OF_RANGE"]);
    assert.deepEqual(qualityFlags({ ...ok, temperature: 90 }, [], []), ["OUT_OF_RANGE"]);
    assert.deepEqual(qualityFlags({ ...ok, humidity: 100 }, [], []), ["HIGH_HUMIDITY"]);
  });
  it("stuck value after 5 identical readings, not 4", () => {
    assert.deepEqual(qualityFlags(ok, [ok, ok, ok, ok], []), ["STUCK_VALUE"]);
    assert.deepEqual(qualityFlags(ok, [ok, ok, ok], []), []);
    assert.deepEqual(qualityFlags(ok, [ok, { ...ok, pm25: 11 }, ok, ok], []), []);
  });
  it("humidity above 95 %", () => {
    assert.deepEqual(qualityFlags({ ...ok, humidity: 95 }, [], []), []);
    assert.deepEqual(qualityFlags({ ...ok, humidity: 95.5 }, [], []), ["HIGH_HUMIDITY"]);
  });
  it("spike against neighbours: > 3× median and > 35 µg/m³ above it", () => {
    assert.deepEqual(qualityFlags({ ...ok, pm25: 60 }, [], [10, 12, 11]), ["SPIKE"]);
    assert.deepEqual(qualityFlags({ ...ok, pm25: 40 }, [], [10, 12, 11]), []); // 3.6× but only 29 above
    assert.deepEqual(qualityFlags({ ...ok, pm25: 60 }, [], [10]), []); // one neighbour is not a crowd
  });
});
