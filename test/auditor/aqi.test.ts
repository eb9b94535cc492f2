/** AQI against the standards' breakpoint tables, with worked examples. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { aqi, CHINA_BREAKPOINTS, chinaIaqi, US_BREAKPOINTS, usAqi } from "../../oracle/core/aqi.js";

describe("AQI: China HJ 633-2012", () => {
  it("every breakpoint of table 1 maps to its IAQI level", () => {
    const pm25 = [0, 35, 75, 115, 150, 250, 350, 500];
    const pm10 = [0, 50, 150, 250, 350, 420, 500, 600];
    const levels = [0, 50, 100, 150, 200, 300, 400, 500];
    pm25.forEach((c, i) => assert.equal(chinaIaqi("pm25", c), levels[i], `PM2.5 ${c}`));
    pm10.forEach((c, i) => assert.equal(chinaIaqi("pm10", c), levels[i], `PM10 ${c}`));
    assert.equal(CHINA_BREAKPOINTS.pm25.length, 7);
  });

  it("worked example: PM2.5 80, PM10 200 → IAQI 107 and 125, AQI 125, primary PM10, lightly polluted", () => {
    assert.equal(chinaIaqi("pm25", 80), 107); // (150−100)/(115−75)·(80−75)+100 = 106.25 → rounded up
    assert.equal(chinaIaqi("pm10", 200), 125); // (150−100)/(250−150)·(200−150)+100 = 125
    const r = aqi("china", { pm25: 80, pm10: 200 })!;
    assert.deepEqual([r.aqi, r.primary, r.category], [125, "pm10", "轻度污染 lightly polluted"]);
  });

  it("rounds up, caps at 500, no primary pollutant at AQI ≤ 50, refuses negatives", () => {
    assert.equal(chinaIaqi("pm25", 10), 15); // 50/35·10 = 14.29 → 15
    assert.equal(chinaIaqi("pm25", 900), 500);
    assert.equal(aqi("china", { pm25: 10 })!.primary, null);
    assert.throws(() => chinaIaqi("pm10", -1), RangeError);
    assert.equal(aqi("china", {}), undefined);
  });
});

describe("AQI: US EPA", () => {
  it("every row's ends map to its index ends", () => {
    for (const pollutant of ["pm25", "pm10"] as const)
      for (const b of US_BREAKPOINTS[pollutant]) {
        assert.equal(usAqi(pollutant, b.cLo), b.iLo, `${pollutant} ${b.cLo}`);
        assert.equal(usAqi(pollutant, b.cHi), b.iHi, `${pollutant} ${b.cHi}`);
      }
  });

  it("worked examples: PM2.5 35.9 → 102; 12.0 → 56; PM10 200 → 123; truncation 9.05 → 50", () => {
    assert.equal(usAqi("pm25", 35.9), 102); // 49/19.9·0.4+101 = 101.98
    assert.equal(usAqi("pm25", 12.0), 56); // 49/26.3·2.9+51 = 56.40
    assert.equal(usAqi("pm10", 200), 123); // 49/99·45+101 = 123.27
    assert.equal(usAqi("pm25", 9.05), 50);
    assert.equal(usAqi("pm10", 54.9), 50);
    const r = aqi("us", { pm25: 35.9, pm10: 200 })!;
    assert.deepEqual([r.aqi, r.primary, r.category], [123, "pm10", "Unhealthy for Sensitive Groups"]);
    assert.equal(usAqi("pm25", 600), 500);
  });
});
