/**
 * Replay of Sensor.Community (luftdaten) archive CSV files as device readings.
 *
 * Layout: one file per sensor per day, `;`-separated, a header line naming the columns,
 * timestamps ISO 8601 without zone (UTC). A particulate sensor (SDS011: `P1` = PM10,
 * `P2` = PM2.5, µg/m³) and a climate sensor (DHT22 or BME280: `temperature` °C, `humidity` %)
 * at the same `location` make one device: each particulate row is joined with the climate row
 * at that location nearest in time (within {@link ReplayOptions.maxJoinGapSeconds}).
 *
 * Quirks of the real archive, and what is done about each:
 * - empty fields: the field is left out of the reading; a row with no value at all is dropped.
 * - a duplicate timestamp (often with an empty row): rows are merged, the first value of each
 *   field wins.
 * - a day file whose timestamps wrap past midnight (go backwards by hours, same date): the
 *   rows after the wrap belong to the next day and get +24 h. A small step backwards (not a
 *   wrap) is dropped as out of order.
 * - PM values of 999–1999.9 (the SDS011 saturates at 999.9): flagged (`pm10_saturated`,
 *   `pm2_5_saturated`) or left out, per {@link ReplayOptions.saturation}.
 * - humidity pinned at 100 (≥ 99.9: the DHT22 reads 99.9 when wet): flagged
 *   (`humidity_saturated`) or left out, per {@link ReplayOptions.humidityPinned}.
 * - a sensor that moved: the series follows the particulate sensor id; each row is joined at
 *   its own location, the reading's `loc` follows, and the first reading at a new place is
 *   flagged `location_changed`.
 *
 * @module
 */
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";

import { ReplayDataError } from "./errors.js";

/** What a CSV file measures. */
export type SensorKind = "particulate" | "climate";

/** One cleaned CSV row. Missing values are `undefined`. */
export type SensorRow = {
  sensorId: number;
  sensorType: string;
  location: number;
  lat: number;
  lon: number;
  /** Unix seconds (UTC), after the midnight-wrap correction. */
  ts: number;
  pm10?: number;
  pm2_5?: number;
  temperature?: number;
  humidity?: number;
  /** Pa (BME280). */
  pressure?: number;
};

/** What {@link parseSensorCommunityCsv} did to a file. */
export type ParseReport = {
  file: string;
  kind: SensorKind;
  /** Data lines read. */
  lines: number;
  /** Rows kept. */
  rows: number;
  emptyRows: number;
  duplicateTimestamps: number;
  midnightWraps: number;
  outOfOrder: number;
  badLines: number;
};

/** A parsed file. */
export type ParsedSensorFile = { kind: SensorKind; rows: SensorRow[]; report: ParseReport };

/** Quality flags a replayed reading may carry (in the payload's `flags` list). */
export type ReplayFlag = "pm10_saturated" | "pm2_5_saturated" | "humidity_saturated" | "location_changed";

/** One device reading rebuilt from the archive. */
export type ReplayReading = {
  /** Source timestamp, unix seconds. */
  ts: number;
  pm10?: number;
  pm2_5?: number;
  temperature?: number;
  humidity?: number;
  lat: number;
  lon: number;
  location: number;
  /** Climate sensor joined, if any. */
  climateSensorId?: number;
  flags: ReplayFlag[];
};

/** The readings of one particulate sensor (one simulated device), by time. */
export type ReplaySeries = {
  /** The particulate sensor id. */
  sensorId: number;
  sensorType: string;
  readings: ReplayReading[];
};

/** Options of the join. */
export type ReplayOptions = {
  /** Largest gap between a particulate row and the climate row joined to it (default 75 s, half the ~150 s cadence). */
  maxJoinGapSeconds?: number;
  /** PM ≥ 999 µg/m³ (SDS011 saturation): `"flag"` (default, keep the value) or `"drop"` (leave the value out). */
  saturation?: "flag" | "drop";
  /** Humidity ≥ 99.9 %: `"flag"` (default, keep the value) or `"drop"` (leave the value out). */
  humidityPinned?: "flag" | "drop";
};

/** SDS011 upper limit; values from here to 1999.9 are saturation, not air. */
export const PM_SATURATION_UGM3 = 999;
/** Humidity at or above this is a wet/pinned sensor. */
export const HUMIDITY_PINNED_PCT = 99.9;
/** A backwards step larger than this (same date) is a midnight wrap, not disorder. */
const WRAP_THRESHOLD_S = 12 * 3600;
const DAY_S = 86_400;

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z?$/;

function parseTimestamp(text: string): number | undefined {
  const m = ISO_RE.exec(text.trim());
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

function num(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === "") return undefined;
  const x = Number(t);
  return Number.isFinite(x) ? x : undefined;
}

const VALUE_FIELDS = ["pm10", "pm2_5", "temperature", "humidity", "pressure"] as const;

/**
 * Parses one Sensor.Community CSV file (SDS011, DHT22 or BME280 layout, told apart by the
 * header) and cleans the quirks listed in this module's documentation.
 *
 * @throws {ReplayDataError} on an unknown header layout.
 * @example
 * ```ts
 * const text = "sensor_id;sensor_type;location;lat;lon;timestamp;P1;durP1;ratioP1;P2;durP2;ratioP2\n" +
 *   "15092;SDS011;7647;56.963;-2.211;2019-03-10T00:01:48;3.13;;;0.93;;\n";
 * parseSensorCommunityCsv(text).rows[0]; // { sensorId: 15092, …, ts: 1552176108, pm10: 3.13, pm2_5: 0.93 }
 * ```
 */
export function parseSensorCommunityCsv(text: string, file = "(text)"): ParsedSensorFile {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? "").replace(/^\uFEFF/, "").split(";").map((h) => h.trim());
  const col = (name: string): number => header.indexOf(name);
  const c = {
    sensorId: col("sensor_id"),
    sensorType: col("sensor_type"),
    location: col("location"),
    lat: col("lat"),
    lon: col("lon"),
    timestamp: col("timestamp"),
    P1: col("P1"),
    P2: col("P2"),
    temperature: col("temperature"),
    humidity: col("humidity"),
    pressure: col("pressure"),
  };
  if (c.sensorId < 0 || c.location < 0 || c.timestamp < 0 || c.lat < 0 || c.lon < 0) {
    throw new ReplayDataError(file, "header lacks sensor_id, location, lat, lon or timestamp");
  }
  let kind: SensorKind;
  if (c.P1 >= 0 && c.P2 >= 0) kind = "particulate";
  else if (c.temperature >= 0 && c.humidity >= 0) kind = "climate";
  else throw new ReplayDataError(file, "header has neither P1/P2 nor temperature/humidity");

  const report: ParseReport = {
    file,
    kind,
    lines: 0,
    rows: 0,
    emptyRows: 0,
    duplicateTimestamps: 0,
    midnightWraps: 0,
    outOfOrder: 0,
    badLines: 0,
  };
  const rows: SensorRow[] = [];
  let dayOffset = 0;
  let lastRawTs = -Infinity;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    report.lines++;
    const f = line.split(";");
    const get = (k: number): string | undefined => (k >= 0 ? f[k] : undefined);
    const rawTs = parseTimestamp(get(c.timestamp) ?? "");
    const sensorId = num(get(c.sensorId));
    const location = num(get(c.location));
    const lat = num(get(c.lat));
    const lon = num(get(c.lon));
    if (rawTs === undefined || sensorId === undefined || location === undefined || lat === undefined || lon === undefined) {
      report.badLines++;
      continue;
    }
    // Midnight wrap: the clock went back by hours on the same date: the rest is the next day.
    if (rawTs < lastRawTs - WRAP_THRESHOLD_S) {
      dayOffset += DAY_S;
      report.midnightWraps++;
    }
    lastRawTs = rawTs;
    const row: SensorRow = {
      sensorId,
      sensorType: (get(c.sensorType) ?? "").trim(),
      location,
      lat,
      lon,
      ts: rawTs + dayOffset,
    };
    const values = {
      pm10: num(get(c.P1)),
      pm2_5: num(get(c.P2)),
      temperature: num(get(c.temperature)),
      humidity: num(get(c.humidity)),
      pressure: num(get(c.pressure)),
    };
    for (const k of VALUE_FIELDS) if (values[k] !== undefined) row[k] = values[k];
    const previous = rows.at(-1);
    const empty = VALUE_FIELDS.every((k) => row[k] === undefined);
    if (previous !== undefined && row.ts === previous.ts) {
      // Duplicate timestamp: merge, first value wins.
      report.duplicateTimestamps++;
      for (const k of VALUE_FIELDS) if (previous[k] === undefined && row[k] !== undefined) previous[k] = row[k];
      continue;
    }
    if (empty) {
      report.emptyRows++;
      continue;
    }
    if (previous !== undefined && row.ts < previous.ts) {
      report.outOfOrder++;
      continue;
    }
    rows.push(row);
  }
  report.rows = rows.length;
  return { kind, rows, report };
}

/** Index of the element of sorted `rows` nearest in time to `ts`, or -1. */
function nearest(rows: readonly SensorRow[], ts: number): number {
  if (rows.length === 0) return -1;
  let lo = 0;
  let hi = rows.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]!.ts < ts) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(rows[lo - 1]!.ts - ts) <= Math.abs(rows[lo]!.ts - ts)) return lo - 1;
  return lo;
}

/**
 * Joins parsed files into one series per particulate sensor: each particulate row with the
 * nearest climate row at the same location, with the quirk handling of {@link ReplayOptions}.
 * Series are ordered by sensor id, readings by time.
 *
 * @example
 * ```ts
 * const sds = parseSensorCommunityCsv(
 *   "sensor_id;sensor_type;location;lat;lon;timestamp;P1;durP1;ratioP1;P2;durP2;ratioP2\n" +
 *   "15092;SDS011;7647;56.963;-2.211;2019-03-10T00:01:48;3.13;;;0.93;;\n");
 * const bme = parseSensorCommunityCsv(
 *   "sensor_id;sensor_type;location;lat;lon;timestamp;pressure;altitude;pressure_sealevel;temperature;humidity\n" +
 *   "15093;BME280;7647;56.963;-2.211;2019-03-10T00:01:49;100237.32;;;3.06;67.37\n");
 * const series = joinSensorCommunity([sds, bme]);
 * series[0].readings[0];
 * // { ts: 1552176108, pm10: 3.13, pm2_5: 0.93, temperature: 3.06, humidity: 67.37, lat: 56.963, lon: -2.211,
 * //   location: 7647, climateSensorId: 15093, flags: [] }
 * ```
 */
export function joinSensorCommunity(files: readonly ParsedSensorFile[], options: ReplayOptions = {}): ReplaySeries[] {
  const maxGap = options.maxJoinGapSeconds ?? 75;
  const saturation = options.saturation ?? "flag";
  const humidityPinned = options.humidityPinned ?? "flag";

  const climateByLocation = new Map<number, SensorRow[]>();
  const particulateBySensor = new Map<number, SensorRow[]>();
  for (const file of files) {
    for (const row of file.rows) {
      const map = file.kind === "climate" ? climateByLocation : particulateBySensor;
      const key = file.kind === "climate" ? row.location : row.sensorId;
      let list = map.get(key);
      if (list === undefined) map.set(key, (list = []));
      list.push(row);
    }
  }
  for (const list of climateByLocation.values()) list.sort((a, b) => a.ts - b.ts);

  const series: ReplaySeries[] = [];
  for (const [sensorId, rowsUnsorted] of [...particulateBySensor].sort((a, b) => a[0] - b[0])) {
    // Several day files: sort, and drop the same timestamp met twice (overlapping files).
    const rows = rowsUnsorted.slice().sort((a, b) => a.ts - b.ts);
    const readings: ReplayReading[] = [];
    let lastTs = -Infinity;
    let lastPlace: string | undefined;
    for (const row of rows) {
      if (row.ts === lastTs) continue;
      lastTs = row.ts;
      const flags: ReplayFlag[] = [];
      const reading: ReplayReading = { ts: row.ts, lat: row.lat, lon: row.lon, location: row.location, flags };
      for (const [field, flag] of [
        ["pm10", "pm10_saturated"],
        ["pm2_5", "pm2_5_saturated"],
      ] as const) {
        const value = row[field];
        if (value === undefined) continue;
        if (value >= PM_SATURATION_UGM3) {
          if (saturation === "drop") continue;
          flags.push(flag);
        }
        reading[field] = value;
      }
      const climate = climateByLocation.get(row.location);
      const k = climate === undefined ? -1 : nearest(climate, row.ts);
      if (k >= 0 && Math.abs(climate![k]!.ts - row.ts) <= maxGap) {
        const match = climate![k]!;
        reading.climateSensorId = match.sensorId;
        if (match.temperature !== undefined) reading.temperature = match.temperature;
        if (match.humidity !== undefined) {
          if (match.humidity >= HUMIDITY_PINNED_PCT) {
            if (humidityPinned === "flag") {
              flags.push("humidity_saturated");
              reading.humidity = match.humidity;
            }
          } else reading.humidity = match.humidity;
        }
      }
      const place = `${row.location}@${row.lat},${row.lon}`;
      if (lastPlace !== undefined && place !== lastPlace) flags.push("location_changed");
      lastPlace = place;
      readings.push(reading);
    }
    if (readings.length > 0) series.push({ sensorId, sensorType: rows[0]!.sensorType, readings });
  }
  return series;
}

/**
 * Reads Sensor.Community CSV files (given one by one, or every `*.csv` directly in a folder),
 * parses and joins them.
 *
 * @throws {ReplayDataError} if no particulate readings result.
 * @example
 * ```ts
 * const { series, reports } = await loadSensorCommunity("/work/shared/data/sensor-community-aberdeen");
 * series.length; // one per SDS011 sensor
 * ```
 */
export async function loadSensorCommunity(
  source: string | readonly string[],
  options: ReplayOptions = {},
): Promise<{ series: ReplaySeries[]; reports: ParseReport[] }> {
  const files: string[] = [];
  for (const entry of typeof source === "string" ? [source] : source) {
    if ((await stat(entry)).isDirectory()) {
      for (const name of (await readdir(entry)).sort()) if (name.endsWith(".csv")) files.push(path.join(entry, name));
    } else files.push(entry);
  }
  const parsed: ParsedSensorFile[] = [];
  for (const file of files) parsed.push(parseSensorCommunityCsv(await readFile(file, "utf8"), file));
  const series = joinSensorCommunity(parsed, options);
  if (series.length === 0) {
    throw new ReplayDataError(typeof source === "string" ? source : source.join(", "), "no particulate (SDS011) readings");
  }
  return { series, reports: parsed.map((p) => p.report) };
}

/**
 * The payload fields of a replayed reading (SensorSeal schema v1 names), with `loc`, `flags`
 * when any, and `source` (sensor ids and the archive timestamp).
 *
 * @example
 * ```ts
 * replayFields({ ts: 1552176108, pm10: 3.13, pm2_5: 0.93, temperature: 3.06, humidity: 67.37,
 *   lat: 56.963, lon: -2.211, location: 7647, climateSensorId: 15093, flags: [] }, 15092);
 * // { pm10_ugm3: 3.13, pm2_5_ugm3: 0.93, temperature_c: 3.06, humidity_pct: 67.37,
 * //   loc: { lat: 56.963, lon: -2.211 }, source: { archive: "sensor.community", location: 7647, sensors: [15092, 15093], ts: 1552176108 } }
 * ```
 */
export function replayFields(reading: ReplayReading, sensorId: number): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  if (reading.pm10 !== undefined) fields.pm10_ugm3 = reading.pm10;
  if (reading.pm2_5 !== undefined) fields.pm2_5_ugm3 = reading.pm2_5;
  if (reading.temperature !== undefined) fields.temperature_c = reading.temperature;
  if (reading.humidity !== undefined) fields.humidity_pct = reading.humidity;
  fields.loc = { lat: reading.lat, lon: reading.lon };
  if (reading.flags.length > 0) fields.flags = [...reading.flags];
  fields.source = {
    archive: "sensor.community",
    location: reading.location,
    sensors: reading.climateSensorId === undefined ? [sensorId] : [sensorId, reading.climateSensorId],
    ts: reading.ts,
  };
  return fields;
}
