/**
 * What the station-archive importers (OpenAQ in `openaq.ts`, EPA AQS in `epa-aqs.ts`) share: the
 * reading and report types, the conversion of one value to the reading vocabulary (unit, range),
 * zoned times, and the merge of rows into readings per station and instant (deduplicated,
 * conflicts refused, ordered by time).
 *
 * An imported reading is history: a device that replays it signs it at replay time, and the
 * archive's own time stays in the payload's `source.ts`, never as the signed reading time.
 *
 * @module
 */
import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";

import { InvalidPayloadError } from "../core/errors.js";
import { checkVocabulary, toVocabularyUnit, type Quantity } from "../core/vocabulary.js";
import type { CsvRow, CsvTable } from "./csv-rows.js";
import { ReplayDataError } from "./errors.js";

/** The station archives the importers read. */
export type StationArchive = "openaq" | "epa-aqs";

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

/** The readings of one station, by time. */
export type StationSeries = {
  archive: StationArchive;
  /** The archive's id of the station (OpenAQ location id; AQS `state-county-site-POC`). */
  id: string;
  name: string;
  readings: StationReading[];
};

/** What an import did to one file. */
export type StationFileReport = {
  file: string;
  /** Which layout of the archive the header named. */
  layout: string;
  /** Data lines read. */
  lines: number;
  /** Rows whose value went into a reading. */
  imported: number;
  /** Identical rows met again (same station, quantity, instant and value). */
  duplicates: number;
  /** Rows of parameters outside the vocabulary, per parameter. */
  unmapped: Record<string, number>;
  /** Gas rows converted from ppm / ppb. */
  converted: number;
  rejected: ImportRejection[];
};

/** Options of the station importers. */
export type StationImportOptions = {
  /** Gases in ppm / ppb: `"eu-reference"` (default: convert at 20 °C, 1013.25 hPa) or `"refuse"`. */
  gasUnits?: "eu-reference" | "refuse";
  /** Throw a {@link ReplayDataError} (with file and line) at the first refused row instead of listing it. */
  strict?: boolean;
};

/** The result of an import: one series per station (by id), and one report per file. */
export type StationImport = { series: StationSeries[]; reports: StationFileReport[] };

/**
 * A new, empty report of one file.
 *
 * @example
 * ```ts
 * newFileReport("x.csv", "export", 3).rejected; // []
 * ```
 */
export function newFileReport(file: string, layout: string, lines: number): StationFileReport {
  return { file, layout, lines, imported: 0, duplicates: 0, unmapped: {}, converted: 0, rejected: [] };
}

/**
 * Records a refused row in the report, or, in strict mode, throws it.
 *
 * @throws {ReplayDataError} in strict mode.
 * @example
 * ```ts
 * const report = newFileReport("x.csv", "archive", 1);
 * refuseRow(report, {}, 2, "no parameter");
 * report.rejected; // [{ file: "x.csv", line: 2, reason: "no parameter" }]
 * ```
 */
export function refuseRow(report: StationFileReport, options: StationImportOptions, line: number, reason: string): void {
  if (options.strict === true) throw new ReplayDataError(report.file, reason, line);
  report.rejected.push({ file: report.file, line, reason });
}

/**
 * Reads a file's data rows into `builder`, one cell per row through `readRow`; a malformed row, a
 * row of the wrong width, a refused row and a conflicting value go to the report with their line
 * (or throw in strict mode), an unmapped parameter is counted. Answers the report, rows by line.
 *
 * @throws {ReplayDataError} in strict mode, at the first refused row.
 * @example
 * ```ts
 * const report = newFileReport("x.csv", "export", 2);
 * const table = { rows: [{ line: 2, fields: ["no"] }, { line: 3, fields: ["a", "b"] }], malformed: [] };
 * collectRows(new StationBuilder("openaq"), report, table, 1, () => ({ unmapped: "no" }), {});
 * [report.unmapped, report.rejected]; // [{ no: 1 }, [{ file: "x.csv", line: 3, reason: "2 fields, the header has 1" }]]
 * ```
 */
export function collectRows(
  builder: StationBuilder,
  report: StationFileReport,
  table: Pick<CsvTable, "malformed"> & { rows: readonly CsvRow[] },
  columns: number,
  readRow: (fields: readonly string[], line: number) => StationCell | { unmapped: string } | { reason: string },
  options: StationImportOptions,
): StationFileReport {
  for (const m of table.malformed) refuseRow(report, options, m.line, m.reason);
  for (const { line, fields } of table.rows) {
    if (fields.length !== columns) {
      refuseRow(report, options, line, `${fields.length} fields, the header has ${columns}`);
      continue;
    }
    const row = readRow(fields, line);
    if ("reason" in row) refuseRow(report, options, line, row.reason);
    else if ("unmapped" in row) report.unmapped[row.unmapped] = (report.unmapped[row.unmapped] ?? 0) + 1;
    else {
      const conflict = builder.add(row, report);
      if (conflict !== undefined) refuseRow(report, options, conflict.line, conflict.reason);
    }
  }
  report.rejected.sort((a, b) => a.line - b.line);
  return report;
}

/** A unit spelling in lower case ASCII (µ micro sign and μ Greek mu both occur; `c` is °C). */
function normalUnit(unit: string): string {
  const u = unit.trim().toLowerCase().replace(/[µμ]/g, "u").replace("³", "3").replace("°", "");
  return u === "c" ? "cel" : u;
}

const GAS_RATIOS = new Set(["ppm", "ppb"]);

/**
 * A number read from a field, or `undefined` for an empty or non-numeric one (never 0).
 *
 * @example
 * ```ts
 * [finiteNumber(" 4.5 "), finiteNumber(""), finiteNumber("n/a")]; // [4.5, undefined, undefined]
 * ```
 */
export function finiteNumber(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const x = Number(text.trim());
  return Number.isFinite(x) ? x : undefined;
}

/**
 * One value in the vocabulary's unit of its quantity, checked against the quantity's range:
 * unit spellings normalised, other units converted by {@link toVocabularyUnit} (gases in ppm /
 * ppb at the EU reference conditions, unless `gasUnits: "refuse"`).
 *
 * @returns the value and, if converted from ppm / ppb, that unit; or why the value is refused.
 * @example
 * ```ts
 * import { quantityOf } from "../core/vocabulary.js";
 * const no2 = quantityOf("no2_ugm3")!;
 * vocabularyValue(no2, "no2", "0.009", "ppm", {}); // { value: 17.223357, convertedFrom: "ppm" }
 * vocabularyValue(no2, "no2", "-3", "µg/m³", {}); // { reason: "no2_ugm3 -3 is outside [0, 10000] ug/m3" }
 * ```
 */
export function vocabularyValue(
  q: Quantity,
  parameter: string,
  rawText: string | undefined,
  unitText: string,
  options: StationImportOptions,
): { value: number; convertedFrom: string | undefined } | { reason: string } {
  const raw = finiteNumber(rawText);
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

/** ISO 8601 date-time with a zone: `Z`, `+hh`, `+hhmm` or `+hh:mm`. */
const ISO_ZONED = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * Unix seconds of an ISO 8601 date-time with a zone, or why it is refused (no zone, not a date).
 *
 * @example
 * ```ts
 * zonedSeconds("2023-02-22T01:00:00-07:00"); // 1677052800
 * zonedSeconds("2023-02-22T01:00:00"); // 'time "2023-02-22T01:00:00" has no UTC offset (ambiguous local time)'
 * ```
 */
export function zonedSeconds(text: string): number | string {
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

/** One accepted value of a row, where it came from. */
export type StationCell = {
  station: string;
  name: string;
  ts: number;
  lat: number;
  lon: number;
  field: string;
  value: number;
  convertedFrom: string | undefined;
  file: string;
  line: number;
};

/**
 * Merges accepted values into one reading per station and instant, across files: an identical
 * value met again is a duplicate (counted), a different one a conflict (returned, to be refused).
 *
 * @example
 * ```ts
 * const b = new StationBuilder("openaq");
 * const report = newFileReport("a.csv", "archive", 1);
 * b.add({ station: "2178", name: "Del Norte-2178", ts: 1677052800, lat: 35.1353, lon: -106.584702,
 *   field: "pm10_ugm3", value: 14, convertedFrom: undefined, file: "a.csv", line: 2 }, report);
 * b.series()[0].readings.length; // 1
 * ```
 */
export class StationBuilder {
  readonly #stations = new Map<string, { name: string; byTs: Map<number, StationReading>; cells: Map<string, StationCell> }>();

  constructor(readonly archive: StationArchive) {}

  /** Adds a value; returns the rejection of a conflicting one. */
  add(cell: StationCell, report: StationFileReport): ImportRejection | undefined {
    let station = this.#stations.get(cell.station);
    if (station === undefined) this.#stations.set(cell.station, (station = { name: cell.name, byTs: new Map(), cells: new Map() }));
    const key = `${cell.ts}|${cell.field}`;
    const earlier = station.cells.get(key);
    if (earlier !== undefined) {
      if (earlier.value === cell.value) {
        report.duplicates++;
        return undefined;
      }
      const when = new Date(cell.ts * 1000).toISOString();
      return {
        file: cell.file,
        line: cell.line,
        reason: `${cell.field} at ${when} is ${cell.value} here but ${earlier.value} at ${earlier.file}:${earlier.line}`,
      };
    }
    station.cells.set(key, cell);
    let reading = station.byTs.get(cell.ts);
    if (reading === undefined) {
      station.byTs.set(cell.ts, (reading = { ts: cell.ts, values: {}, converted: {}, lat: cell.lat, lon: cell.lon }));
    }
    reading.values[cell.field] = cell.value;
    if (cell.convertedFrom !== undefined) {
      reading.converted[cell.field] = cell.convertedFrom;
      report.converted++;
    }
    report.imported++;
    return undefined;
  }

  /** One series per station, ordered by id (numerically when both are numbers), readings by time. */
  series(): StationSeries[] {
    const collator = new Intl.Collator("en", { numeric: true });
    return [...this.#stations]
      .sort((a, b) => collator.compare(a[0], b[0]))
      .map(([id, s]) => ({
        archive: this.archive,
        id,
        name: s.name,
        readings: [...s.byTs.values()].sort((a, b) => a.ts - b.ts),
      }));
  }
}

/**
 * The CSV files of a source: files given one by one, or every `*.csv` directly in a folder, read
 * as UTF-8.
 *
 * @example
 * ```ts
 * (await readCsvFiles("test/fixtures/air-quality/openaq")).length; // 3
 * ```
 */
export async function readCsvFiles(source: string | readonly string[]): Promise<{ file: string; text: string }[]> {
  const files: string[] = [];
  for (const entry of typeof source === "string" ? [source] : source) {
    if ((await stat(entry)).isDirectory()) {
      for (const name of (await readdir(entry)).sort()) if (name.endsWith(".csv")) files.push(path.join(entry, name));
    } else files.push(entry);
  }
  const texts: { file: string; text: string }[] = [];
  for (const file of files) texts.push({ file, text: await readFile(file, "utf8") });
  return texts;
}

/**
 * The payload fields of an imported station reading: its vocabulary values, `loc`, and `source`
 * (the archive, the station, the archive's timestamp and any fields converted from ppm / ppb). The
 * signing device stamps its own reading time; `source.ts` says when the station measured.
 *
 * @example
 * ```ts
 * stationFields({ ts: 1756688400, values: { co_mgm3: 0.233 }, converted: { co_mgm3: "ppm" }, lat: 43.709444, lon: -79.5435 },
 *   { archive: "openaq", id: "1274950" });
 * // { co_mgm3: 0.233, loc: { lat: 43.709444, lon: -79.5435 },
 * //   source: { archive: "openaq", station: "1274950", ts: 1756688400, converted: { co_mgm3: "ppm" } } }
 * ```
 */
export function stationFields(reading: StationReading, series: Pick<StationSeries, "archive" | "id">): Record<string, unknown> {
  const source: Record<string, unknown> = { archive: series.archive, station: series.id, ts: reading.ts };
  if (Object.keys(reading.converted).length > 0) source.converted = { ...reading.converted };
  return { ...reading.values, loc: { lat: reading.lat, lon: reading.lon }, source };
}
