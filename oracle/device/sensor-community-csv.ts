/**
 * Parsing of one Sensor.Community (luftdaten) archive CSV file into clean rows: the layouts
 * (SDS011, DHT22, BME280, told apart by the header) and the archive's quirks (empty fields,
 * duplicate timestamps, midnight wraps, rows out of order). The join of rows into device
 * readings is in `sensor-community.ts`.
 *
 * @module
 */
import { readCsv } from "./csv-rows.js";
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
  /** Each bad line (no timestamp, sensor id, location or coordinates; broken quoting), with why. */
  rejected: RowRejection[];
};

/** A data row an importer refused, with its 1-based line number. */
export type RowRejection = { line: number; reason: string };

/** A parsed file. */
export type ParsedSensorFile = { kind: SensorKind; rows: SensorRow[]; report: ParseReport };

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

/** The column of each field (−1: absent) and the file's kind, from its header line. */
function readHeader(header: readonly string[], file: string): { c: Record<(typeof COLUMNS)[number], number>; kind: SensorKind } {
  const c = Object.fromEntries(COLUMNS.map((name) => [name, header.indexOf(COLUMN_NAMES[name])])) as Record<
    (typeof COLUMNS)[number],
    number
  >;
  if (c.sensorId < 0 || c.location < 0 || c.timestamp < 0 || c.lat < 0 || c.lon < 0) {
    throw new ReplayDataError(file, "header lacks sensor_id, location, lat, lon or timestamp");
  }
  if (c.P1 >= 0 && c.P2 >= 0) return { c, kind: "particulate" };
  if (c.temperature >= 0 && c.humidity >= 0) return { c, kind: "climate" };
  throw new ReplayDataError(file, "header has neither P1/P2 nor temperature/humidity");
}

const COLUMN_NAMES = {
  sensorId: "sensor_id",
  sensorType: "sensor_type",
  location: "location",
  lat: "lat",
  lon: "lon",
  timestamp: "timestamp",
  P1: "P1",
  P2: "P2",
  temperature: "temperature",
  humidity: "humidity",
  pressure: "pressure",
} as const;
const COLUMNS = Object.keys(COLUMN_NAMES) as (keyof typeof COLUMN_NAMES)[];

/**
 * Parses one Sensor.Community CSV file (SDS011, DHT22 or BME280 layout, told apart by the
 * header) and cleans the quirks listed in this module's documentation.
 *
 * A row without timestamp, sensor id, location or coordinates is not kept: it is counted in
 * `badLines` and listed with its line number in `report.rejected`.
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
  const table = readCsv(text, ";");
  const { c, kind } = readHeader(table.header, file);

  const report: ParseReport = {
    file,
    kind,
    lines: 0,
    rows: 0,
    emptyRows: 0,
    duplicateTimestamps: 0,
    midnightWraps: 0,
    outOfOrder: 0,
    badLines: table.malformed.length,
    rejected: [...table.malformed],
  };
  report.lines = table.malformed.length;
  const rows: SensorRow[] = [];
  let dayOffset = 0;
  let lastRawTs = -Infinity;
  for (const { line, fields: f } of table.rows) {
    report.lines++;
    const get = (k: number): string | undefined => (k >= 0 ? f[k] : undefined);
    const rawTs = parseTimestamp(get(c.timestamp) ?? "");
    const sensorId = num(get(c.sensorId));
    const location = num(get(c.location));
    const lat = num(get(c.lat));
    const lon = num(get(c.lon));
    if (rawTs === undefined || sensorId === undefined || location === undefined || lat === undefined || lon === undefined) {
      report.badLines++;
      const missing = { timestamp: rawTs, sensor_id: sensorId, location, lat, lon };
      const absent = Object.keys(missing).filter((k) => missing[k as keyof typeof missing] === undefined);
      report.rejected.push({ line, reason: `no valid ${absent.join(", ")}` });
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
  report.rejected.sort((x, y) => x.line - y.line);
  return { kind, rows, report };
}
