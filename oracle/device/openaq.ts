/**
 * Import of OpenAQ CSV files as station readings in the reading vocabulary (oracle/core/vocabulary.ts),
 * for the simulator and demos. Two layouts, told apart by the header:
 *
 * - **export** (explore.openaq.org download, API v3 measurements as CSV):
 *   `location_id,location_name,parameter,value,unit,datetimeUtc,datetimeLocal,timezone,latitude,longitude,…`
 * - **archive** (the `openaq-data-archive` S3 bucket, one file per location and day):
 *   `location_id,sensors_id,location,datetime,lat,lon,parameter,units,value`
 *
 * Both are narrow: one row per parameter and time. Rows of one location at one instant are merged
 * into one reading, readings are ordered by time, identical rows dropped as duplicates.
 *
 * What is done about each quirk:
 * - time zones: the export gives UTC and local time with its offset: both are read and must name
 *   the same instant; the archive gives local time with an offset: converted to UTC. A time
 *   without offset is ambiguous and refused.
 * - units: mapped to the vocabulary's unit (`µg/m³`, `μg/m³`, `ug/m3` are one unit; `c` is °C);
 *   gases in ppm / ppb are converted to µg/m³ (CO to mg/m³) at the EU reference conditions (20 °C,
 *   1013.25 hPa, Directive 2008/50/EC) by {@link toVocabularyUnit}, and the reading's `source`
 *   names the converted fields; with `gasUnits: "refuse"` such rows are refused instead.
 * - parameters outside the vocabulary (`no`, `nox`, `um003`, …): not imported, counted per
 *   parameter in the report (`unmapped`).
 * - values outside the vocabulary's range (a negative ozone of −0.001 ppm, say): refused.
 * - the same parameter twice at one instant: an identical value is a duplicate (dropped, counted);
 *   a different value is a conflict, refused with the line of the value kept.
 *
 * Refused rows are never dropped silently: each is listed with its file and line in the report's
 * `rejected` list, or, with `strict: true`, the first throws a {@link ReplayDataError}.
 *
 * An imported reading is history: a device that replays it signs it at replay time, and the
 * archive's own time stays in the payload's `source.ts`, never as the signed reading time.
 *
 * @module
 */
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";

import { InvalidPayloadError } from "../core/errors.js";
import { checkVocabulary, QUANTITIES, toVocabularyUnit, type Quantity } from "../core/vocabulary.js";
import { readCsv } from "./csv-rows.js";
import { ReplayDataError } from "./errors.js";

/** The two OpenAQ CSV layouts. */
export type OpenAqLayout = "export" | "archive";

/** A refused row: file, 1-based line, why. */
export type ImportRejection = { file: string; line: number; reason: string };

/** One station reading: the vocabulary fields measured at one instant. */
export type StationReading = {
  /** Source timestamp, unix seconds (UTC). */
  ts: number;
  /** Vocabulary field → value in the vocabulary's unit. */
  values: Record<string, number>;
  /** Fields converted from a volume mixing ratio (ppm / ppb), with the unit they came in. */
  converted: Record<string, string>;
  lat: number;
  lon: number;
};

/** The readings of one OpenAQ location, by time. */
export type StationSeries = {
  locationId: number;
  name: string;
  readings: StationReading[];
};

/** What an import did, per file. */
export type OpenAqFileReport = {
  file: string;
  layout: OpenAqLayout;
  /** Data lines read. */
  lines: number;
  /** Rows whose value went into a reading. */
  imported: number;
  /** Identical rows met again (same location, parameter, instant and value). */
  duplicates: number;
  /** Rows of parameters outside the vocabulary, per parameter. */
  unmapped: Record<string, number>;
  /** Gas rows converted from ppm / ppb. */
  converted: number;
  rejected: ImportRejection[];
};

/** Options of {@link importOpenAq}. */
export type OpenAqOptions = {
  /** Gases in ppm / ppb: `"eu-reference"` (default: convert at 20 °C, 1013.25 hPa) or `"refuse"`. */
  gasUnits?: "eu-reference" | "refuse";
  /** Throw a {@link ReplayDataError} (with file and line) at the first refused row instead of listing it. */
  strict?: boolean;
};

/** The result of an import: one series per location (by id), and one report per file. */
export type OpenAqImport = { series: StationSeries[]; reports: OpenAqFileReport[] };

const COLUMNS: Record<OpenAqLayout, Record<string, string>> = {
  export: {
    locationId: "location_id",
    name: "location_name",
    parameter: "parameter",
    value: "value",
    unit: "unit",
    utc: "datetimeUtc",
    local: "datetimeLocal",
    lat: "latitude",
    lon: "longitude",
  },
  archive: {
    locationId: "location_id",
    name: "location",
    parameter: "parameter",
    value: "value",
    unit: "units",
    local: "datetime",
    lat: "lat",
    lon: "lon",
  },
};

/** OpenAQ parameter names (lower case, letters and digits only) → vocabulary quantity. */
const BY_PARAMETER = new Map<string, Quantity>(QUANTITIES.filter((q) => q.eea !== undefined).map((q) => [parameterKey(q.eea!), q]));

function parameterKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** A unit spelling in lower case ASCII (µ micro sign and μ Greek mu both occur; `c` is °C). */
function normalUnit(unit: string): string {
  const u = unit.trim().toLowerCase().replace(/[µμ]/g, "u").replace("³", "3").replace("°", "");
  return u === "c" ? "cel" : u;
}

const GAS_RATIOS = new Set(["ppm", "ppb"]);

/** ISO 8601 date-time with a zone: `Z`, `+hh`, `+hhmm` or `+hh:mm`. */
const ISO_ZONED = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)$/;

/** Unix seconds of a zoned ISO date-time, or a reason. */
function zonedSeconds(text: string): number | string {
  const m = ISO_ZONED.exec(text.trim());
  if (m === null) {
    return /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(text.trim())
      ? `time "${text}" has no UTC offset (ambiguous local time)`
      : `time "${text}" is not an ISO 8601 date-time`;
  }
  const [, y, mo, d, h, mi, s = "0", zone] = m;
  const local = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s);
  const back = new Date(local);
  if (back.getUTCMonth() !== +mo! - 1 || back.getUTCDate() !== +d! || +h! > 23 || +mi! > 59 || +s > 59) {
    return `time "${text}" is not a valid date-time`;
  }
  let offsetMin = 0;
  if (zone !== "Z") {
    const digits = zone!.slice(1).replace(":", "");
    offsetMin = (zone![0] === "-" ? -1 : 1) * (+digits.slice(0, 2) * 60 + +(digits.slice(2) || "0"));
  }
  return local / 1000 - offsetMin * 60;
}

function finite(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const x = Number(text.trim());
  return Number.isFinite(x) ? x : undefined;
}

/** A row accepted so far, before the merge. */
type Cell = { file: string; line: number; value: number; unit: string };

/** Merges rows into readings across files; detects duplicates and conflicts. */
class StationBuilder {
  readonly stations = new Map<number, { name: string; byTs: Map<number, StationReading>; cells: Map<string, Cell> }>();

  add(
    locationId: number,
    name: string,
    ts: number,
    lat: number,
    lon: number,
    field: string,
    cell: Cell,
    convertedFrom: string | undefined,
    report: OpenAqFileReport,
  ): ImportRejection | undefined {
    let station = this.stations.get(locationId);
    if (station === undefined) this.stations.set(locationId, (station = { name, byTs: new Map(), cells: new Map() }));
    const key = `${ts}|${field}`;
    const earlier = station.cells.get(key);
    if (earlier !== undefined) {
      if (earlier.value === cell.value) {
        report.duplicates++;
        return undefined;
      }
      return {
        file: cell.file,
        line: cell.line,
        reason: `${field} at ${new Date(ts * 1000).toISOString()} is ${cell.value} here but ${earlier.value} at ${earlier.file}:${earlier.line}`,
      };
    }
    station.cells.set(key, cell);
    let reading = station.byTs.get(ts);
    if (reading === undefined) station.byTs.set(ts, (reading = { ts, values: {}, converted: {}, lat, lon }));
    reading.values[field] = cell.value;
    if (convertedFrom !== undefined) {
      reading.converted[field] = convertedFrom;
      report.converted++;
    }
    report.imported++;
    return undefined;
  }

  series(): StationSeries[] {
    return [...this.stations]
      .sort((a, b) => a[0] - b[0])
      .map(([locationId, s]) => ({
        locationId,
        name: s.name,
        readings: [...s.byTs.values()].sort((a, b) => a.ts - b.ts),
      }));
  }
}

/** One row read and converted, a parameter outside the vocabulary, or why the row is refused. */
type RowResult =
  | {
      locationId: number;
      name: string;
      ts: number;
      lat: number;
      lon: number;
      field: string;
      value: number;
      unit: string;
      convertedFrom: string | undefined;
    }
  | { unmapped: string }
  | { reason: string };

/** The instant of a row: the archive's local time with offset; the export's UTC, checked against its local time. */
function rowInstant(get: (k: string) => string | undefined, layout: OpenAqLayout): number | { reason: string } {
  const local = zonedSeconds(get("local") ?? "");
  if (typeof local === "string") return { reason: local };
  if (layout === "archive") return local;
  const utc = zonedSeconds(get("utc") ?? "");
  if (typeof utc === "string") return { reason: utc };
  if (utc !== local) return { reason: `datetimeLocal ${get("local")} and datetimeUtc ${get("utc")} are not the same instant` };
  return utc;
}

/** The value of a row in the vocabulary's unit, checked against its range. */
function rowValue(
  q: Quantity,
  parameter: string,
  rawText: string | undefined,
  unitText: string,
  options: OpenAqOptions,
): { value: number; convertedFrom: string | undefined } | { reason: string } {
  const raw = finite(rawText);
  if (raw === undefined) return { reason: `${parameter} value "${rawText}" is not a number` };
  const unit = normalUnit(unitText);
  let value = raw;
  let convertedFrom: string | undefined;
  if (unit !== q.ucum.toLowerCase()) {
    if (GAS_RATIOS.has(unit) && options.gasUnits === "refuse") {
      return { reason: `${parameter} in ${unitText}: a volume ratio, refused (gasUnits: "refuse")` };
    }
    try {
      value = toVocabularyUnit(q.field, raw, unit);
    } catch (e) {
      if (!(e instanceof InvalidPayloadError)) throw e;
      return { reason: `${parameter} in "${unitText}": no conversion to ${q.ucum}` };
    }
    if (GAS_RATIOS.has(unit)) convertedFrom = unit;
  }
  try {
    checkVocabulary({ [q.field]: value });
  } catch (e) {
    if (!(e instanceof InvalidPayloadError)) throw e;
    const shown = convertedFrom === undefined ? "" : ` (${raw} ${unitText})`;
    return { reason: `${q.field} ${value}${shown} is outside [${q.min}, ${q.max}] ${q.ucum}` };
  }
  return { value, convertedFrom };
}

function readRow(get: (k: string) => string | undefined, layout: OpenAqLayout, options: OpenAqOptions): RowResult {
  const parameter = (get("parameter") ?? "").trim();
  const quantity = BY_PARAMETER.get(parameterKey(parameter));
  if (quantity === undefined) return parameter === "" ? { reason: "no parameter" } : { unmapped: parameter };
  const locationId = finite(get("locationId"));
  if (locationId === undefined || !Number.isInteger(locationId)) return { reason: `location_id "${get("locationId")}" is not an integer` };
  const lat = finite(get("lat"));
  const lon = finite(get("lon"));
  if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    return { reason: `coordinates "${get("lat")}", "${get("lon")}" are not a latitude and longitude` };
  }
  const ts = rowInstant(get, layout);
  if (typeof ts !== "number") return ts;
  const unit = get("unit") ?? "";
  const value = rowValue(quantity, parameter, get("value"), unit, options);
  if ("reason" in value) return value;
  return { locationId, name: (get("name") ?? "").trim(), ts, lat, lon, field: quantity.field, unit, ...value };
}

function parseInto(builder: StationBuilder, text: string, file: string, options: OpenAqOptions): OpenAqFileReport {
  const table = readCsv(text, ",");
  const layout: OpenAqLayout | undefined = table.header.includes("datetimeUtc")
    ? "export"
    : table.header.includes("sensors_id")
      ? "archive"
      : undefined;
  if (layout === undefined) {
    throw new ReplayDataError(file, "header is neither an OpenAQ export (datetimeUtc) nor an archive file (sensors_id)");
  }
  const col = Object.fromEntries(Object.entries(COLUMNS[layout]).map(([k, name]) => [k, table.header.indexOf(name)]));
  const missing = Object.entries(COLUMNS[layout])
    .filter(([k]) => col[k]! < 0)
    .map(([, name]) => name);
  if (missing.length > 0) throw new ReplayDataError(file, `header lacks ${missing.join(", ")}`);

  const report: OpenAqFileReport = {
    file,
    layout,
    lines: table.rows.length + table.malformed.length,
    imported: 0,
    duplicates: 0,
    unmapped: {},
    converted: 0,
    rejected: [],
  };
  const refuse = (line: number, reason: string): void => {
    if (options.strict === true) throw new ReplayDataError(file, reason, line);
    report.rejected.push({ file, line, reason });
  };
  for (const m of table.malformed) refuse(m.line, m.reason);

  for (const { line, fields } of table.rows) {
    if (fields.length !== table.header.length) {
      refuse(line, `${fields.length} fields, the header has ${table.header.length}`);
      continue;
    }
    const row = readRow((k) => fields[col[k]!], layout, options);
    if ("reason" in row) {
      refuse(line, row.reason);
      continue;
    }
    if ("unmapped" in row) {
      report.unmapped[row.unmapped] = (report.unmapped[row.unmapped] ?? 0) + 1;
      continue;
    }
    const { locationId, name, ts, lat, lon, field, value, unit, convertedFrom } = row;
    const cell = { file, line, value, unit };
    const rejection = builder.add(locationId, name, ts, lat, lon, field, cell, convertedFrom, report);
    if (rejection !== undefined) refuse(rejection.line, rejection.reason);
  }
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
}

/**
 * Imports OpenAQ CSV texts (export or archive layout, mixed freely) into one series per location:
 * rows mapped to the vocabulary, converted to its units and to UTC, merged per instant,
 * deduplicated and ordered. See this module's documentation for each quirk.
 *
 * @throws {ReplayDataError} on an unknown header; in strict mode, at the first refused row (with its line).
 * @example
 * ```ts
 * const csv =
 *   "location_id,sensors_id,location,datetime,lat,lon,parameter,units,value\n" +
 *   "2178,3919,Del Norte-2178,2023-02-22T01:00:00-07:00,35.1353,-106.584702,pm10,µg/m³,14.0\n";
 * const { series } = importOpenAq([{ file: "location-2178-20230222.csv", text: csv }]);
 * series[0].readings[0]; // { ts: 1677052800, values: { pm10_ugm3: 14 }, converted: {}, lat: 35.1353, lon: -106.584702 }
 * ```
 */
export function importOpenAq(files: readonly { file: string; text: string }[], options: OpenAqOptions = {}): OpenAqImport {
  const builder = new StationBuilder();
  const reports = files.map(({ file, text }) => parseInto(builder, text, file, options));
  return { series: builder.series(), reports };
}

/**
 * Reads OpenAQ CSV files (given one by one, or every `*.csv` directly in a folder) and imports them
 * with {@link importOpenAq}.
 *
 * @example
 * ```ts
 * const { series, reports } = await loadOpenAq("test/fixtures/air-quality/openaq");
 * reports.flatMap((r) => r.rejected); // every refused row, with file and line
 * ```
 */
export async function loadOpenAq(source: string | readonly string[], options: OpenAqOptions = {}): Promise<OpenAqImport> {
  const files: string[] = [];
  for (const entry of typeof source === "string" ? [source] : source) {
    if ((await stat(entry)).isDirectory()) {
      for (const name of (await readdir(entry)).sort()) if (name.endsWith(".csv")) files.push(path.join(entry, name));
    } else files.push(entry);
  }
  const texts: { file: string; text: string }[] = [];
  for (const file of files) texts.push({ file, text: await readFile(file, "utf8") });
  return importOpenAq(texts, options);
}

/**
 * The payload fields of an imported station reading: its vocabulary values, `loc`, and `source`
 * (the archive, location, the archive's timestamp and any fields converted from ppm / ppb). The
 * signing device stamps its own reading time; `source.ts` says when the station measured.
 *
 * @example
 * ```ts
 * stationFields({ ts: 1756688400, values: { co_mgm3: 0.233 }, converted: { co_mgm3: "ppm" }, lat: 43.709444, lon: -79.5435 }, 1274950);
 * // { co_mgm3: 0.233, loc: { lat: 43.709444, lon: -79.5435 },
 * //   source: { archive: "openaq", location: 1274950, ts: 1756688400, converted: { co_mgm3: "ppm" } } }
 * ```
 */
export function stationFields(reading: StationReading, locationId: number): Record<string, unknown> {
  const source: Record<string, unknown> = { archive: "openaq", location: locationId, ts: reading.ts };
  if (Object.keys(reading.converted).length > 0) source.converted = { ...reading.converted };
  return { ...reading.values, loc: { lat: reading.lat, lon: reading.lon }, source };
}
