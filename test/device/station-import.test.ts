import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";

import {
  AQS_HOURLY_COLUMNS,
  importEpaAqsHourly,
  importOpenAq,
  loadEpaAqsHourly,
  loadOpenAq,
  ReplayDataError,
  stationFields,
  type StationSeries,
} from "../../oracle/device/index.js";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures", "air-quality", "openaq");
/** OpenAQ export (explore.openaq.org) of AirNow station 1274950 "Toronto West": gases in ppm. */
const TORONTO_WEST = path.join(FIXTURES, "openaq_location_1274950_measurments.csv");
/** OpenAQ export of AirGradient sensor 1612333 "AQ-Toronto-Annex": pm1, pm25, temperature in "c", RH. */
const ANNEX = path.join(FIXTURES, "openaq_location_1612333_measurments.csv");
/** OpenAQ S3 archive rows of location 2178 "Del Norte" (OpenAQ's documented example file), UTC−7. */
const DEL_NORTE = path.join(FIXTURES, "location-2178-20230222.csv");
/** EPA AQS hourly ozone of two Dallas monitors around 1994-04-03 (U.S. DST start), header-less as re-shared. */
const DALLAS = path.join(FIXTURES, "..", "epa-aqs", "hourly_44201_dallas_19940403.csv");
const utc = (iso: string): number => Date.parse(iso) / 1000;

function only(series: StationSeries[], id: string): StationSeries {
  const s = series.find((x) => x.id === id);
  assert.ok(s, `series ${id}`);
  return s;
}

/** The header and first Toronto West NO2 row of the real export, for the quirk tests below to edit. */
async function exportHeaderAndNo2Row(): Promise<{ header: string; row: string }> {
  const lines = (await readFile(TORONTO_WEST, "utf8")).split("\n");
  const row = lines.find((l) => l.includes('"no2"') && l.includes("2025-09-01T01:00:00Z"));
  assert.ok(row);
  return { header: lines[0]!, row };
}

describe("OpenAQ import (export layout, real AirNow and AirGradient files)", () => {
  it("maps, converts ppm to µg/m³ (CO to mg/m³), merges per instant and orders by time", async () => {
    const { series, reports } = await loadOpenAq([TORONTO_WEST]);
    const [report] = reports;
    assert.equal(report!.layout, "export");
    assert.deepEqual(
      [report!.lines, report!.imported, report!.duplicates, report!.converted, report!.unmapped],
      [77, 54, 0, 43, { no: 10, nox: 12 }],
    );
    const s = only(series, "1274950");
    assert.equal(s.name, "Toronto West");
    // The file is ordered by parameter, then time: the series is by time, one reading per hour.
    assert.equal(s.readings.length, 13);
    for (let i = 1; i < s.readings.length; i++) assert.ok(s.readings[i]!.ts > s.readings[i - 1]!.ts);
    const first = s.readings[0]!;
    assert.equal(first.ts, utc("2025-09-01T01:00:00Z"));
    // no2 0.009 ppm × 46.0055 g/mol / 24.04 L/mol = 17.223 µg/m³; o3 0.02 ppm → 39.93 µg/m³.
    assert.deepEqual(first.values, { co_mgm3: 0, no2_ugm3: 17.223357, o3_ugm3: 39.930948, pm2_5_ugm3: 5, so2_ugm3: 0 });
    assert.deepEqual(first.converted, { co_mgm3: "ppm", no2_ugm3: "ppm", o3_ugm3: "ppm", so2_ugm3: "ppm" });
    assert.deepEqual([first.lat, first.lon], [43.709444, -79.5435]);
  });

  it("refuses a negative ozone (−0.001 ppm, 2025-09-18 11:00Z) with file and line, keeping the rest of that hour", async () => {
    const { series, reports } = await loadOpenAq([TORONTO_WEST]);
    assert.deepEqual(reports[0]!.rejected, [
      { file: TORONTO_WEST, line: 55, reason: "o3_ugm3 -1.996547 (-0.001 ppm) is outside [0, 10000] ug/m3" },
    ]);
    const last = only(series, "1274950").readings.at(-1)!;
    assert.equal(last.ts, utc("2025-09-18T11:00:00Z"));
    assert.equal("o3_ugm3" in last.values, false);
    assert.deepEqual(last.values, { co_mgm3: 0, no2_ugm3: 42.101539, pm2_5_ugm3: 15, so2_ugm3: 0 });
  });

  it('reads the AirGradient export: temperature in "c", relativehumidity, pm1; um003 is not in the vocabulary', async () => {
    const { series, reports } = await loadOpenAq([ANNEX]);
    assert.deepEqual([reports[0]!.lines, reports[0]!.imported, reports[0]!.unmapped, reports[0]!.rejected], [30, 24, { um003: 6 }, []]);
    const s = only(series, "1612333");
    assert.equal(s.readings.length, 6);
    assert.deepEqual(s.readings[0], {
      ts: utc("2025-09-01T01:00:00Z"),
      values: { pm1_ugm3: 3.25, pm2_5_ugm3: 5.25, humidity_pct: 70.46500015258789, temperature_c: 14.432500123977661 },
      converted: {},
      lat: 43.6692007,
      lon: -79.408185,
    });
  });

  it("refuses every ppm row when gas conversion is turned off, each with its line", async () => {
    const { series, reports } = await loadOpenAq([TORONTO_WEST], { gasUnits: "refuse" });
    const rejected = reports[0]!.rejected;
    assert.equal(rejected.length, 44); // 43 converted rows and the negative ozone
    assert.ok(rejected.every((r) => r.file === TORONTO_WEST && r.line > 1 && /in ppm: a volume ratio, refused/.test(r.reason)));
    assert.deepEqual(
      rejected.slice(0, 2).map((r) => r.line),
      [2, 3],
    );
    const s = only(series, "1274950");
    assert.ok(s.readings.every((r) => Object.keys(r.values).join() === "pm2_5_ugm3"));
  });

  it("drops rows met twice (the same export loaded twice, as overlapping downloads give)", async () => {
    const once = await loadOpenAq([ANNEX]);
    const twice = await loadOpenAq([ANNEX, ANNEX]);
    assert.deepEqual(twice.series, once.series);
    assert.deepEqual(
      twice.reports.map((r) => [r.imported, r.duplicates]),
      [
        [24, 0],
        [0, 24],
      ],
    );
  });

  it("builds payload fields that keep the station's time in source, not as the reading time", async () => {
    const { series } = await loadOpenAq([TORONTO_WEST]);
    const station = only(series, "1274950");
    assert.deepEqual(stationFields(station.readings[0]!, station), {
      co_mgm3: 0,
      no2_ugm3: 17.223357,
      o3_ugm3: 39.930948,
      pm2_5_ugm3: 5,
      so2_ugm3: 0,
      loc: { lat: 43.709444, lon: -79.5435 },
      source: {
        archive: "openaq",
        station: "1274950",
        ts: utc("2025-09-01T01:00:00Z"),
        converted: { co_mgm3: "ppm", no2_ugm3: "ppm", o3_ugm3: "ppm", so2_ugm3: "ppm" },
      },
    });
  });
});

describe("OpenAQ import (archive layout, local time with offset)", () => {
  it("converts UTC−7 local times to UTC (OpenAQ's documented example, location 2178)", async () => {
    const { series, reports } = await loadOpenAq(DEL_NORTE);
    assert.deepEqual([reports[0]!.layout, reports[0]!.lines, reports[0]!.imported, reports[0]!.rejected], ["archive", 14, 14, []]);
    const s = only(series, "2178");
    assert.equal(s.name, "Del Norte-2178");
    assert.deepEqual(
      s.readings.slice(0, 3).map((r) => [r.ts, r.values.pm10_ugm3]),
      [
        [utc("2023-02-22T08:00:00Z"), 14],
        [utc("2023-02-22T09:00:00Z"), 4],
        [utc("2023-02-22T10:00:00Z"), 7],
      ],
    );
    assert.deepEqual([s.readings.at(-1)!.ts, s.readings.at(-1)!.values], [utc("2023-02-22T21:00:00Z"), { pm10_ugm3: 9 }]);
    assert.equal(Math.max(...s.readings.map((r) => r.values.pm10_ugm3!)), 318);
  });

  it("reads µg/m³ (micro sign), μg/m³ (Greek mu) and ug/m3 as one unit (a real row, unit respelled)", () => {
    const header = "location_id,sensors_id,location,datetime,lat,lon,parameter,units,value";
    const row = "2178,3919,Del Norte-2178,2023-02-22T01:00:00-07:00,35.1353,-106.584702,pm10,µg/m³,14.0";
    const spellings = ["µg/m³", "\u03bcg/m\u00b3", "ug/m3", "UG/M3"];
    const { series, reports } = importOpenAq(
      spellings.map((unit, i) => ({ file: `${i}.csv`, text: `${header}\n${row.replace("µg/m³", unit)}\n` })),
    );
    assert.deepEqual(
      reports.map((r) => [r.imported, r.duplicates, r.rejected.length]),
      [
        [1, 0, 0],
        [0, 1, 0],
        [0, 1, 0],
        [0, 1, 0],
      ],
    );
    assert.deepEqual(series[0]!.readings[0]!.values, { pm10_ugm3: 14 });
  });

  it("merges an export and an archive file of different stations, each series by its own id", async () => {
    const { series } = await loadOpenAq(FIXTURES);
    assert.deepEqual(
      series.map((s) => [s.archive, s.id, s.readings.length]),
      [
        ["openaq", "2178", 14],
        ["openaq", "1274950", 13],
        ["openaq", "1612333", 6],
      ],
    );
  });
});

describe("OpenAQ import: malformed rows (real rows, edited as named)", () => {
  const archiveHeader = "location_id,sensors_id,location,datetime,lat,lon,parameter,units,value";
  const archiveRow = "2178,3919,Del Norte-2178,2023-02-22T01:00:00-07:00,35.1353,-106.584702,pm10,µg/m³,14.0";

  async function rejectedOf(lines: string[], file = "edited.csv"): Promise<{ line: number; reason: string }[]> {
    const { reports } = importOpenAq([{ file, text: lines.join("\n") + "\n" }]);
    return reports[0]!.rejected.map(({ line, reason }) => ({ line, reason }));
  }

  it("a second, different value for the same parameter and instant: refused, naming the line kept", async () => {
    const { reports, series } = importOpenAq([
      { file: "a.csv", text: `${archiveHeader}\n${archiveRow}\n${archiveRow.replace(",14.0", ",15.0")}\n` },
    ]);
    assert.deepEqual(reports[0]!.rejected, [
      { file: "a.csv", line: 3, reason: "pm10_ugm3 at 2023-02-22T08:00:00.000Z is 15 here but 14 at a.csv:2" },
    ]);
    assert.equal(series[0]!.readings[0]!.values.pm10_ugm3, 14);
  });

  it("a time without UTC offset: refused as ambiguous", async () => {
    assert.deepEqual(await rejectedOf([archiveHeader, archiveRow.replace("T01:00:00-07:00", "T01:00:00")]), [
      { line: 2, reason: 'time "2023-02-22T01:00:00" has no UTC offset (ambiguous local time)' },
    ]);
  });

  it("an impossible date and a non-date: refused", async () => {
    assert.deepEqual(
      await rejectedOf([
        archiveHeader,
        archiveRow.replace("2023-02-22", "2023-02-30"),
        archiveRow.replace("2023-02-22T01:00:00-07:00", "yesterday"),
      ]),
      [
        { line: 2, reason: 'time "2023-02-30T01:00:00-07:00" is not a valid date-time' },
        { line: 3, reason: 'time "yesterday" is not an ISO 8601 date-time' },
      ],
    );
  });

  it("export rows whose local time and UTC disagree: refused", async () => {
    const { header, row } = await exportHeaderAndNo2Row();
    assert.deepEqual(await rejectedOf([header, row.replace("2025-08-31T21:00:00-04:00", "2025-08-31T21:00:00-05:00")]), [
      {
        line: 2,
        reason: "datetimeLocal 2025-08-31T21:00:00-05:00 and datetimeUtc 2025-09-01T01:00:00Z are not the same instant",
      },
    ]);
  });

  it("an empty or non-numeric value, a missing coordinate: refused, never read as 0", async () => {
    assert.deepEqual(
      await rejectedOf([
        archiveHeader,
        archiveRow.replace(",14.0", ","),
        archiveRow.replace(",14.0", ",n/a"),
        archiveRow.replace("35.1353", ""),
      ]),
      [
        { line: 2, reason: 'pm10 value "" is not a number' },
        { line: 3, reason: 'pm10 value "n/a" is not a number' },
        { line: 4, reason: 'coordinates "", "-106.584702" are not a latitude and longitude' },
      ],
    );
  });

  it("a unit with no conversion to the vocabulary's (PM in ppm): refused", async () => {
    assert.deepEqual(await rejectedOf([archiveHeader, archiveRow.replace("µg/m³", "ppm")]), [
      { line: 2, reason: 'pm10 in "ppm": no conversion to ug/m3' },
    ]);
  });

  it("a truncated row and a broken quote: refused with their lines", async () => {
    const { header, row } = await exportHeaderAndNo2Row();
    assert.deepEqual(await rejectedOf([header, row.split(",").slice(0, 9).join(","), row.replace('"Toronto West"', '"Toronto West')]), [
      { line: 2, reason: "9 fields, the header has 15" },
      { line: 3, reason: "text after a closing quote" },
    ]);
    assert.deepEqual(await rejectedOf([header, row.replace(/"AirNow"$/, '"AirNow')]), [{ line: 2, reason: "unterminated quoted field" }]);
  });

  it("strict mode throws the first refused row as a ReplayDataError with file and line", async () => {
    const text = `${archiveHeader}\n${archiveRow}\n${archiveRow.replace(",14.0", ",-3")}\n`;
    const err = (() => {
      try {
        importOpenAq([{ file: "strict.csv", text }], { strict: true });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof ReplayDataError);
    assert.deepEqual([err.code, err.file, err.line], ["INVALID_REPLAY_DATA", "strict.csv", 3]);
    assert.match(err.message, /^Cannot replay strict\.csv:3: pm10_ugm3 -3 is outside/);
  });

  it("a header of neither layout: refused as a whole file", () => {
    assert.throws(
      () => importOpenAq([{ file: "x.csv", text: "sensor_id;sensor_type;location\n" }]),
      (e: unknown) => e instanceof ReplayDataError && e.line === undefined && /neither an OpenAQ export/.test(e.message),
    );
    assert.throws(
      () => importOpenAq([{ file: "y.csv", text: "location_id,sensors_id,location,datetime\n" }]),
      (e: unknown) => e instanceof ReplayDataError && /header lacks parameter, value, units, lat, lon/.test(e.message),
    );
  });
});

describe("EPA AQS hourly import (real Dallas ozone file, header-less)", () => {
  it("reads the documented 24 columns without a header, one series per monitor, ppm to µg/m³", async () => {
    const { series, reports } = await loadEpaAqsHourly(DALLAS);
    assert.deepEqual(
      [reports[0]!.layout, reports[0]!.lines, reports[0]!.imported, reports[0]!.converted, reports[0]!.rejected],
      ["hourly-headerless", 49, 49, 49, []],
    );
    assert.deepEqual(
      series.map((s) => [s.archive, s.id, s.name, s.readings.length]),
      [
        ["epa-aqs", "48-113-0045-2", "Dallas, Texas", 25],
        ["epa-aqs", "48-113-0055-1", "Dallas, Texas", 24],
      ],
    );
    // 0.05 ppm × 47.997 g/mol / 24.04 L/mol = 99.827 µg/m³ (EU reference conditions).
    assert.deepEqual(series[0]!.readings[0], {
      ts: utc("1994-04-02T18:00:00Z"),
      values: { o3_ugm3: 99.827371 },
      converted: { o3_ugm3: "ppm" },
      lat: 32.919722,
      lon: -96.808056,
    });
  });

  it("uses GMT: local standard time runs through the DST change of 1994-04-03 without a gap or a repeat", async () => {
    const { series } = await loadEpaAqsHourly(DALLAS);
    const ts = series[0]!.readings.map((r) => r.ts);
    assert.deepEqual(
      ts.slice(1).map((t, i) => t - ts[i]!),
      Array(24).fill(3600),
    );
    assert.deepEqual([ts[0], ts.at(-1)], [utc("1994-04-02T18:00:00Z"), utc("1994-04-03T18:00:00Z")]);
    // The file's 02:00 local on 1994-04-03 (an hour clocks skipped) is 08:00 GMT: standard time, UTC−6.
    assert.ok(ts.includes(utc("1994-04-03T08:00:00Z")));
    // Monitor 0055 has no value at 06:00 GMT: the gap stays a gap.
    const other = series[1]!.readings.map((r) => r.ts);
    assert.equal(other.includes(utc("1994-04-03T06:00:00Z")), false);
    assert.equal(other.length, 24);
  });

  it("reads the same rows under the documented header alike", async () => {
    const text = await readFile(DALLAS, "utf8");
    const header = AQS_HOURLY_COLUMNS.map((c) => `"${c}"`).join(",");
    const headed = importEpaAqsHourly([{ file: "with-header.csv", text: `${header}\n${text}` }]);
    const bare = await loadEpaAqsHourly(DALLAS);
    assert.equal(headed.reports[0]!.layout, "hourly");
    assert.deepEqual(headed.series, bare.series);
  });

  describe("malformed rows (real rows, edited as named)", () => {
    async function rows(): Promise<string[]> {
      return (await readFile(DALLAS, "utf8")).split("\n").filter((l) => l !== "");
    }
    const rejectedOf = (lines: string[], options = {}) =>
      importEpaAqsHourly([{ file: "edited.csv", text: lines.join("\n") + "\n" }], options).reports[0]!.rejected.map(({ line, reason }) => ({
        line,
        reason,
      }));

    it("a negative ozone, a local time not a whole hour from GMT, a bad GMT date: refused with their lines", async () => {
      const [a, b, c, d] = await rows();
      assert.deepEqual(
        rejectedOf([
          a!,
          b!.replace(",0.055,", ",-0.001,"),
          c!.replace('"1994-04-02","14:00"', '"1994-04-02","14:30"'),
          d!.replace('"1994-04-02","21:00"', '"1994-04-31","21:00"'),
        ]),
        [
          { line: 2, reason: "o3_ugm3 -1.996547 (-0.001 ppm) is outside [0, 10000] ug/m3" },
          { line: 3, reason: 'local time "1994-04-02 14:30" is not a whole-hour zone offset from GMT' },
          { line: 4, reason: 'GMT date-time "1994-04-31 21:00" is not valid' },
        ],
      );
    });

    it("PM10 at standard conditions (25 C) has no conversion: refused; an unknown code is counted, not refused", async () => {
      const [a, b] = await rows();
      const pm10 = a!
        .replace('"44201"', '"81102"')
        .replace('"Ozone"', '"PM10 Total 0-10um STP"')
        .replace("Parts per million", "Micrograms/cubic meter (25 C)");
      const { reports } = importEpaAqsHourly([{ file: "x.csv", text: `${pm10}\n${b!.replace('"44201"', '"42603"')}\n` }]);
      assert.deepEqual(reports[0]!.rejected, [
        { file: "x.csv", line: 1, reason: '81102 (PM10 Total 0-10um STP) in "Micrograms/cubic meter (25 C)": no conversion to ug/m3' },
      ]);
      assert.deepEqual(reports[0]!.unmapped, { "42603": 1 });
    });

    it("temperature in °F and wind in knots are converted (rows re-coded as 62101 and 61103)", async () => {
      const [a, b] = await rows();
      const temp = a!.replace('"44201"', '"62101"').replace(",0.05,", ",50,").replace("Parts per million", "Degrees Fahrenheit");
      const wind = b!.replace('"44201"', '"61103"').replace(",0.055,", ",10,").replace("Parts per million", "Knots");
      const { series, reports } = importEpaAqsHourly([{ file: "w.csv", text: `${temp}\n${wind}\n` }]);
      assert.deepEqual([reports[0]!.rejected, reports[0]!.converted], [[], 0]);
      assert.deepEqual(
        series[0]!.readings.map((r) => r.values),
        [{ temperature_c: 10 }, { wind_speed_ms: 5.14444 }],
      );
    });

    it("two POCs at one site are two monitors; the same monitor and hour twice with another value is a conflict", async () => {
      const [a, b] = await rows();
      const { series, reports } = importEpaAqsHourly([
        { file: "y.csv", text: [a!, a!.replace('"44201",2,', '"44201",3,'), a!.replace(",0.05,", ",0.051,"), b!].join("\n") },
      ]);
      assert.deepEqual(
        series.map((s) => [s.id, s.readings.length]),
        [
          ["48-113-0045-2", 2],
          ["48-113-0045-3", 1],
        ],
      );
      assert.deepEqual(reports[0]!.rejected, [
        { file: "y.csv", line: 3, reason: "o3_ugm3 at 1994-04-02T18:00:00.000Z is 101.823918 here but 99.827371 at y.csv:1" },
      ]);
    });

    it("refuses every ppm row when gas conversion is off", async () => {
      const lines = await rows();
      const rejected = rejectedOf(lines, { gasUnits: "refuse" });
      assert.equal(rejected.length, 49);
      assert.deepEqual(rejected[0], { line: 1, reason: '44201 (Ozone) in ppm: a volume ratio, refused (gasUnits: "refuse")' });
    });

    it("a file of another layout is refused as a whole", () => {
      assert.throws(
        () => importEpaAqsHourly([{ file: "z.csv", text: "location_id,sensors_id,location,datetime\n" }]),
        (e: unknown) => e instanceof ReplayDataError && /not an AQS hourly file: header lacks State Code/.test(e.message),
      );
    });
  });
});
