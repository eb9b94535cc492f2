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
import { parseSensorCommunityCsv, type ParsedSensorFile, type ParseReport, type SensorRow } from "./sensor-community-csv.js";

export * from "./sensor-community-csv.js";

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
