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
 *   1013.25 hPa, Directive 2008/50/EC) by `toVocabularyUnit` (oracle/core), and the reading's `source`
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
 * The shared parts (types, unit conversion, merge) are in `station-import.ts`.
 *
 * @module
 */
import { QUANTITIES, type Quantity } from "../core/vocabulary.js";
import { readCsv } from "./csv-rows.js";
import { ReplayDataError } from "./errors.js";
import {
  collectRows,
  finiteNumber,
  newFileReport,
  readCsvFiles,
  StationBuilder,
  vocabularyValue,
  zonedSeconds,
  type StationCell,
  type StationFileReport,
  type StationImport,
  type StationImportOptions,
} from "./station-import.js";

/** The two OpenAQ CSV layouts. */
export type OpenAqLayout = "export" | "archive";

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

type Get = (k: string) => string | undefined;

/** The instant of a row: the archive's local time with offset; the export's UTC, checked against its local time. */
function rowInstant(get: Get, layout: OpenAqLayout): number | { reason: string } {
  const local = zonedSeconds(get("local") ?? "");
  if (typeof local === "string") return { reason: local };
  if (layout === "archive") return local;
  const utc = zonedSeconds(get("utc") ?? "");
  if (typeof utc === "string") return { reason: utc };
  if (utc !== local) return { reason: `datetimeLocal ${get("local")} and datetimeUtc ${get("utc")} are not the same instant` };
  return utc;
}

/** One row as a value to merge, a parameter outside the vocabulary, or why the row is refused. */
function readRow(
  get: Get,
  layout: OpenAqLayout,
  where: { file: string; line: number },
  options: StationImportOptions,
): StationCell | { unmapped: string } | { reason: string } {
  const parameter = (get("parameter") ?? "").trim();
  const quantity = BY_PARAMETER.get(parameterKey(parameter));
  if (quantity === undefined) return parameter === "" ? { reason: "no parameter" } : { unmapped: parameter };
  const locationId = finiteNumber(get("locationId"));
  if (locationId === undefined || !Number.isInteger(locationId)) return { reason: `location_id "${get("locationId")}" is not an integer` };
  const lat = finiteNumber(get("lat"));
  const lon = finiteNumber(get("lon"));
  if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    return { reason: `coordinates "${get("lat")}", "${get("lon")}" are not a latitude and longitude` };
  }
  const ts = rowInstant(get, layout);
  if (typeof ts !== "number") return ts;
  const value = vocabularyValue(quantity, parameter, get("value"), get("unit") ?? "", options);
  if ("reason" in value) return value;
  const name = (get("name") ?? "").trim();
  return { station: String(locationId), name, ts, lat, lon, field: quantity.field, ...value, ...where };
}

function parseInto(builder: StationBuilder, text: string, file: string, options: StationImportOptions): StationFileReport {
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

  const report = newFileReport(file, layout, table.rows.length + table.malformed.length);
  const read = (fields: readonly string[], line: number) => readRow((k) => fields[col[k]!], layout, { file, line }, options);
  return collectRows(builder, report, table, table.header.length, read, options);
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
export function importOpenAq(files: readonly { file: string; text: string }[], options: StationImportOptions = {}): StationImport {
  const builder = new StationBuilder("openaq");
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
export async function loadOpenAq(source: string | readonly string[], options: StationImportOptions = {}): Promise<StationImport> {
  return importOpenAq(await readCsvFiles(source), options);
}
