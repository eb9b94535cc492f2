import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, it } from "node:test";

import {
  joinSensorCommunity,
  loadSensorCommunity,
  parseSensorCommunityCsv,
  replayFields,
  type ReplaySeries,
} from "../../oracle/device/sensor-community.js";

const DATA = "/work/shared/data/sensor-community-aberdeen";
const QUIRKS = path.join(DATA, "quirks");
const utc = (iso: string): number => Date.parse(`${iso}Z`) / 1000;

async function parse(file: string) {
  return parseSensorCommunityCsv(await readFile(file, "utf8"), file);
}

function only(series: ReplaySeries[], sensorId: number): ReplaySeries {
  const s = series.find((x) => x.sensorId === sensorId);
  assert.ok(s, `series ${sensorId}`);
  return s;
}

describe("Sensor.Community replay", () => {
  it("joins an SDS011 file with the BME280 at its location by nearest timestamp", async () => {
    const sds = await parse(path.join(DATA, "2019-03-10_sds011_sensor_15092.csv"));
    const bme = await parse(path.join(DATA, "2019-03-10_bme280_sensor_15093.csv"));
    assert.equal(sds.kind, "particulate");
    assert.equal(bme.kind, "climate");
    assert.deepEqual(
      { lines: sds.report.lines, rows: sds.report.rows, empty: sds.report.emptyRows, dup: sds.report.duplicateTimestamps },
      { lines: 401, rows: 401, empty: 0, dup: 0 },
    );
    assert.deepEqual(bme.rows[0], {
      sensorId: 15093,
      sensorType: "BME280",
      location: 7647,
      lat: 56.963,
      lon: -2.211,
      ts: utc("2019-03-10T00:01:49"),
      temperature: 3.06,
      humidity: 67.37,
      pressure: 100237.32,
    });

    const [series] = joinSensorCommunity([sds, bme]);
    assert.equal(series!.sensorId, 15092);
    assert.equal(series!.sensorType, "SDS011");
    assert.equal(series!.readings.length, 401);
    // The first five rows of both files, joined one second apart.
    assert.deepEqual(
      series!.readings.slice(0, 5).map((r) => [r.ts, r.pm10, r.pm2_5, r.temperature, r.humidity]),
      [
        [utc("2019-03-10T00:01:48"), 3.13, 0.93, 3.06, 67.37],
        [utc("2019-03-10T00:04:16"), 2.07, 0.7, 3.05, 67.22],
        [utc("2019-03-10T00:06:43"), 3.23, 0.7, 3.04, 66.89],
        [utc("2019-03-10T00:09:11"), 4.07, 0.83, 3.04, 67.03],
        [utc("2019-03-10T00:11:38"), 5.6, 0.87, 3.03, 66.92],
      ],
    );
    const first = series!.readings[0]!;
    assert.deepEqual(replayFields(first, 15092), {
      pm10_ugm3: 3.13,
      pm2_5_ugm3: 0.93,
      temperature_c: 3.06,
      humidity_pct: 67.37,
      loc: { lat: 56.963, lon: -2.211 },
      source: { archive: "sensor.community", location: 7647, sensors: [15092, 15093], ts: 1552176108 },
    });
    // Timestamps strictly increase; most rows found a climate partner.
    for (let i = 1; i < series!.readings.length; i++) assert.ok(series!.readings[i]!.ts > series!.readings[i - 1]!.ts);
    const joined = series!.readings.filter((r) => r.temperature !== undefined).length;
    assert.ok(joined >= 395, `${joined} of 401 joined`);
  });

  it("drops the empty duplicate-timestamp row (2017-08-30, sensor 5331)", async () => {
    const f = await parse(path.join(QUIRKS, "2017-08-30_sds011_sensor_5331.csv"));
    assert.equal(f.report.lines, 306);
    assert.equal(f.report.duplicateTimestamps, 1);
    assert.equal(f.report.rows, 305);
    const at = f.rows.filter((r) => r.ts === utc("2017-08-30T11:27:23"));
    assert.equal(at.length, 1);
    assert.deepEqual([at[0]!.pm10, at[0]!.pm2_5], [9.53, 2.83]);
    assert.ok(f.rows.every((r) => r.pm10 !== undefined && r.pm2_5 !== undefined));
  });

  it("drops an empty row one second after a full one (2019-03-09, sensor 22885)", async () => {
    const f = await parse(path.join(QUIRKS, "2019-03-09_sds011_sensor_22885.csv"));
    assert.deepEqual([f.report.lines, f.report.emptyRows, f.report.rows], [9, 1, 8]);
    assert.deepEqual(
      f.rows.slice(0, 2).map((r) => [r.ts, r.pm10]),
      [
        [utc("2019-03-09T23:40:57"), 2.33],
        [utc("2019-03-09T23:43:25"), 3.12],
      ],
    );
  });

  it("keeps a row with one empty field, without that field", async () => {
    const dht = await parse(path.join(QUIRKS, "2019-03-27_dht22_sensor_22619.csv"));
    const row = dht.rows.find((r) => r.ts === utc("2019-03-27T14:30:13"))!;
    assert.equal(row.temperature, 16.5);
    assert.equal(row.humidity, undefined);
    assert.equal("humidity" in row, false);
    const bme = await parse(path.join(QUIRKS, "2019-05-24_bme280_sensor_22481.csv"));
    const b = bme.rows.find((r) => r.ts === utc("2019-05-24T16:20:11"))!;
    assert.deepEqual([b.pressure, b.temperature, b.humidity], [undefined, 18.9, undefined]);
  });

  it("moves the rows after a midnight wrap to the next day and still joins them", async () => {
    const { series, reports } = await loadSensorCommunity([
      path.join(QUIRKS, "2018-04-02_sds011_sensor_5331.csv"),
      path.join(QUIRKS, "2018-04-02_dht22_sensor_5332.csv"),
    ]);
    assert.deepEqual(
      reports.map((r) => r.midnightWraps),
      [1, 1],
    );
    const s = only(series, 5331);
    assert.equal(s.readings.length, 581);
    for (let i = 1; i < s.readings.length; i++) assert.ok(s.readings[i]!.ts > s.readings[i - 1]!.ts);
    assert.equal(s.readings[0]!.ts, utc("2018-04-02T11:49:04"));
    const wrapped = s.readings.find((r) => r.ts === utc("2018-04-03T00:00:43"));
    assert.ok(wrapped, "the row written as 2018-04-02T00:00:43 is the next day's");
    assert.deepEqual([wrapped.pm10, wrapped.pm2_5, wrapped.temperature, wrapped.humidity], [7.07, 3.83, 3.1, 94.2]);
    assert.equal(s.readings.at(-1)!.ts, utc("2018-04-03T11:46:36"));
    assert.equal(s.readings.filter((r) => r.ts < utc("2018-04-02T11:49:04")).length, 0);
  });

  it("flags or drops PM saturation (999–1999.9)", async () => {
    const file = path.join(QUIRKS, "2019-03-06_sds011_sensor_17079.csv");
    const flagged = only((await loadSensorCommunity([file])).series, 17079);
    const saturated = flagged.readings.filter((r) => r.flags.includes("pm10_saturated"));
    assert.equal(saturated.length, 17);
    const r = flagged.readings.find((x) => x.ts === utc("2019-03-06T14:55:05"))!;
    assert.deepEqual([r.pm10, r.pm2_5, r.flags], [1048.33, 39.17, ["pm10_saturated"]]);
    assert.deepEqual(replayFields(r, 17079).flags, ["pm10_saturated"]);

    const dropped = only((await loadSensorCommunity([file], { saturation: "drop" })).series, 17079);
    assert.equal(dropped.readings.length, flagged.readings.length);
    const d = dropped.readings.find((x) => x.ts === utc("2019-03-06T14:55:05"))!;
    assert.deepEqual([d.pm10, d.pm2_5, d.flags], [undefined, 39.17, []]);
    assert.equal(dropped.readings.filter((x) => x.pm10 !== undefined && x.pm10 >= 999).length, 0);

    const worst = only((await loadSensorCommunity([path.join(QUIRKS, "2018-02-05_sds011_sensor_5331.csv")])).series, 5331);
    assert.deepEqual(
      worst.readings.filter((x) => x.flags.includes("pm10_saturated")).map((x) => [x.pm10, x.pm2_5]),
      [[1999.9, 691.83]],
    );
  });

  it("flags or drops humidity pinned at 100 % (DHT22 5332 reads 99.9 all day)", async () => {
    const files = [path.join(DATA, "2019-03-10_sds011_sensor_5331.csv"), path.join(DATA, "2019-03-10_dht22_sensor_5332.csv")];
    const flagged = only((await loadSensorCommunity(files)).series, 5331);
    const withClimate = flagged.readings.filter((r) => r.climateSensorId === 5332);
    assert.ok(withClimate.length > 500);
    assert.ok(withClimate.every((r) => r.humidity === 99.9 && r.flags.includes("humidity_saturated")));
    assert.deepEqual([flagged.readings[0]!.temperature, flagged.readings[0]!.humidity, flagged.readings[0]!.pm10], [3.2, 99.9, 9.23]);
    const dropped = only((await loadSensorCommunity(files, { humidityPinned: "drop" })).series, 5331);
    assert.ok(dropped.readings.every((r) => r.humidity === undefined && !r.flags.includes("humidity_saturated")));
    assert.equal(dropped.readings[0]!.temperature, 3.2);
  });

  it("follows a sensor that moved (5331: location 2688 in 2017, 3121 from 2018)", async () => {
    const { series } = await loadSensorCommunity([
      path.join(QUIRKS, "2017-08-30_sds011_sensor_5331.csv"),
      path.join(QUIRKS, "2018-02-05_sds011_sensor_5331.csv"),
    ]);
    const s = only(series, 5331);
    assert.equal(s.readings.length, 305 + 583);
    const moved = s.readings.filter((r) => r.flags.includes("location_changed"));
    assert.equal(moved.length, 1);
    assert.deepEqual([moved[0]!.ts, moved[0]!.location, moved[0]!.lat, moved[0]!.lon], [utc("2018-02-05T00:00:14"), 3121, 57.138, -2.077]);
    const before = s.readings[s.readings.indexOf(moved[0]!) - 1]!;
    assert.deepEqual([before.location, before.lat, before.lon], [2688, 57.128, -2.13]);
    assert.deepEqual(replayFields(moved[0]!, 5331).loc, { lat: 57.138, lon: -2.077 });
  });

  it("loads the whole Aberdeen folder: one series per SDS011 sensor", async () => {
    const { series, reports } = await loadSensorCommunity(DATA);
    assert.equal(reports.length, 144);
    assert.equal(series.length, 19);
    assert.deepEqual(
      series.map((s) => s.sensorId),
      [5331, 7789, 8554, 15092, 15462, 16422, 17079, 22068, 22449, 22480, 22523, 22549, 22597, 22612, 22618, 22691, 22879, 22885, 23007],
    );
    assert.equal(only(series, 15092).readings.length, 2019);
    // 22068 has no climate sensor at its location: PM only.
    assert.ok(only(series, 22068).readings.every((r) => r.temperature === undefined && r.pm10 !== undefined));
  });

  it("lists a malformed row with its line (real SDS011 rows, one timestamp and one sensor id cut) and keeps the others", async () => {
    const lines = (await readFile(path.join(DATA, "2019-03-10_sds011_sensor_15092.csv"), "utf8")).split("\n").slice(0, 5);
    lines[2] = lines[2]!.replace("2019-03-10T00:04:16", "");
    lines[4] = lines[4]!.replace(/^15092;/, ";");
    const f = parseSensorCommunityCsv(lines.join("\n") + "\n", "edited.csv");
    assert.deepEqual([f.report.lines, f.report.rows, f.report.badLines], [4, 2, 2]);
    assert.deepEqual(f.report.rejected, [
      { line: 3, reason: "no valid timestamp" },
      { line: 5, reason: "no valid sensor_id" },
    ]);
    assert.deepEqual(
      f.rows.map((r) => r.ts),
      [utc("2019-03-10T00:01:48"), utc("2019-03-10T00:06:43")],
    );
  });

  it("rejects a file of unknown layout with INVALID_REPLAY_DATA", () => {
    assert.throws(() => parseSensorCommunityCsv("a;b;c\n1;2;3\n", "x.csv"), { code: "INVALID_REPLAY_DATA" });
    assert.throws(() => parseSensorCommunityCsv("sensor_id;sensor_type;location;lat;lon;timestamp;P0\n", "y.csv"), {
      code: "INVALID_REPLAY_DATA",
    });
  });
});
