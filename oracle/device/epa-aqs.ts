/**
 * Import of U.S. EPA AQS hourly data files (the pre-generated `hourly_<parameter>_<year>` files of
 * https://aqs.epa.gov/aqsweb/airdata/download_files.html) as station readings in the reading
 * vocabulary, for the simulator and demos. One row per monitor, parameter and hour:
 *
 * `"State Code","County Code","Site Num","Parameter Code","POC","Latitude","Longitude","Datum",
 * "Parameter Name","Date Local","Time Local","Date GMT","Time GMT","Sample Measurement",
 * "Units of Measure","MDL","Uncertainty","Qualifier","Method Type","Method Code","Method Name",
 * "State Name","County Name","Date of Last Change"`
 *
 * What is done about each quirk:
 * - a file without its header line (as often re-shared): recognised when its first line has the
 *   24 documented columns with a 5-digit parameter code, and read in the documented order
 *   (layout `hourly-headerless` in the report).
 * - time: "Local" is local *standard* time (no daylight saving), so the GMT columns are used; a
 *   local time that is not a whole number of hours (−12 … +14) from GMT is refused. The time is
 *   the start of the hour the value averages, kept as is.
 * - a station is a monitor: `state-county-site-POC` (two instruments at one site are two series).
 * - parameters by AQS code (44201 ozone, 42602 NO2, 42401 SO2, 42101 CO, 88101 / 88502 PM2.5,
 *   81102 PM10, 62101 temperature, 62201 humidity, 64101 pressure, 61103 / 61104 wind, 62103 dew
 *   point); other codes are counted in `unmapped`.
 * - units named in words: ppm / ppb converted as in `station-import.ts` (EU reference conditions;
 *   EPA itself states mass concentrations at 25 °C), °F, knots, millibars converted; PM at
 *   standard conditions ("Micrograms/cubic meter (25 C)") has no conversion to local conditions
 *   without the local temperature and pressure, so it is refused.
 * - values out of the vocabulary's range (a negative hourly ozone) refused; `Qualifier` is not read.
 *
 * Refused rows are listed with file and line in the report, or thrown in strict mode.
 *
 * @module
 */
import { quantityOf, type Quantity } from "../core/vocabulary.js";
import { readCsv, type CsvRow } from "./csv-rows.js";
import { ReplayDataError } from "./errors.js";
import {
  collectRows,
  finiteNumber,
  newFileReport,
  readCsvFiles,
  StationBuilder,
  vocabularyValue,
  type StationCell,
  type StationFileReport,
  type StationImport,
  type StationImportOptions,
} from "./station-import.js";

/** The 24 columns of an AQS hourly file, in the documented order. */
export const AQS_HOURLY_COLUMNS: readonly string[] = [
  "State Code",
  "County Code",
  "Site Num",
  "Parameter Code",
  "POC",
  "Latitude",
  "Longitude",
  "Datum",
  "Parameter Name",
  "Date Local",
  "Time Local",
  "Date GMT",
  "Time GMT",
  "Sample Measurement",
  "Units of Measure",
  "MDL",
  "Uncertainty",
  "Qualifier",
  "Method Type",
  "Method Code",
  "Method Name",
  "State Name",
  "County Name",
  "Date of Last Change",
];

/** AQS parameter code → vocabulary field. */
const BY_CODE: Record<string, string> = {
  "44201": "o3_ugm3",
  "42602": "no2_ugm3",
  "42401": "so2_ugm3",
  "42101": "co_mgm3",
  "88101": "pm2_5_ugm3",
  "88502": "pm2_5_ugm3",
  "81102": "pm10_ugm3",
  "62101": "temperature_c",
  "62201": "humidity_pct",
  "64101": "pressure_hpa",
  "61103": "wind_speed_ms",
  "61104": "wind_direction_deg",
  "62103": "dew_point_c",
};

/** AQS unit names → the unit spellings `toVocabularyUnit` knows. */
const UNIT_NAMES: Record<string, string> = {
  "parts per million": "ppm",
  "parts per billion": "ppb",
  "micrograms/cubic meter (lc)": "ug/m3",
  "degrees fahrenheit": "F",
  "degrees centigrade": "C",
  "percent relative humidity": "%",
  millibars: "mbar",
  knots: "knots",
  "degrees compass": "deg",
};

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2})$/;

/** Unix seconds of an AQS date and time (`1994-04-03`, `06:00`), read as UTC, or undefined. */
function dateTimeSeconds(date: string | undefined, time: string | undefined): number | undefined {
  const d = DATE.exec((date ?? "").trim());
  const t = TIME.exec((time ?? "").trim());
  if (d === null || t === null || +t[1]! > 23 || +t[2]! > 59) return undefined;
  const ms = Date.UTC(+d[1]!, +d[2]! - 1, +d[3]!, +t[1]!, +t[2]!);
  return new Date(ms).getUTCDate() === +d[3]! ? ms / 1000 : undefined;
}

type Get = (column: string) => string | undefined;

function readRow(
  get: Get,
  where: { file: string; line: number },
  options: StationImportOptions,
): StationCell | { unmapped: string } | { reason: string } {
  const code = (get("Parameter Code") ?? "").trim();
  const field = BY_CODE[code];
  if (field === undefined) return /^\d{5}$/.test(code) ? { unmapped: code } : { reason: `parameter code "${code}" is not an AQS code` };
  const quantity = quantityOf(field) as Quantity;
  const ids = ["State Code", "County Code", "Site Num", "POC"].map((c) => (get(c) ?? "").trim());
  if (ids.some((x) => !/^\d+$/.test(x))) return { reason: `monitor id "${ids.join("-")}" is not four numbers` };
  const lat = finiteNumber(get("Latitude"));
  const lon = finiteNumber(get("Longitude"));
  if (lat === undefined || lon === undefined || Math.abs(lat) > 90 || Math.abs(lon) > 180) {
    return { reason: `coordinates "${get("Latitude")}", "${get("Longitude")}" are not a latitude and longitude` };
  }
  const ts = dateTimeSeconds(get("Date GMT"), get("Time GMT"));
  if (ts === undefined) return { reason: `GMT date-time "${get("Date GMT")} ${get("Time GMT")}" is not valid` };
  const local = dateTimeSeconds(get("Date Local"), get("Time Local"));
  const offsetH = local === undefined ? NaN : (local - ts) / 3600;
  if (!Number.isInteger(offsetH) || offsetH < -12 || offsetH > 14) {
    return { reason: `local time "${get("Date Local")} ${get("Time Local")}" is not a whole-hour zone offset from GMT` };
  }
  const unitText = (get("Units of Measure") ?? "").trim();
  const unit = UNIT_NAMES[unitText.toLowerCase()] ?? unitText;
  const value = vocabularyValue(quantity, `${code} (${(get("Parameter Name") ?? "").trim()})`, get("Sample Measurement"), unit, options);
  if ("reason" in value) return { reason: value.reason.replace(`"${unit}"`, `"${unitText}"`) };
  const name = `${(get("County Name") ?? "").trim()}, ${(get("State Name") ?? "").trim()}`;
  return { station: ids.join("-"), name, ts, lat, lon, field, ...value, ...where };
}

function parseInto(builder: StationBuilder, text: string, file: string, options: StationImportOptions): StationFileReport {
  const table = readCsv(text, ",");
  let header = table.header;
  let rows: CsvRow[] = table.rows;
  let layout = "hourly";
  if (header.length === AQS_HOURLY_COLUMNS.length && /^\d{5}$/.test(header[3]!)) {
    // No header line: the first line is data, in the documented order.
    rows = [
      {
        line:
          text
            .replace(/^\uFEFF/, "")
            .split(/\r?\n/)
            .findIndex((l) => l.trim() !== "") + 1,
        fields: header,
      },
      ...rows,
    ];
    header = [...AQS_HOURLY_COLUMNS];
    layout = "hourly-headerless";
  }
  const needed = ["State Code", "County Code", "Site Num", "Parameter Code", "POC", "Latitude", "Longitude", "Parameter Name"].concat([
    "Date Local",
    "Time Local",
    "Date GMT",
    "Time GMT",
    "Sample Measurement",
    "Units of Measure",
    "State Name",
    "County Name",
  ]);
  const missing = needed.filter((c) => !header.includes(c));
  if (missing.length > 0) throw new ReplayDataError(file, `not an AQS hourly file: header lacks ${missing.join(", ")}`);
  const col = new Map(header.map((h, i) => [h, i]));

  const report = newFileReport(file, layout, rows.length + table.malformed.length);
  const read = (fields: readonly string[], line: number) => readRow((c) => fields[col.get(c)!], { file, line }, options);
  return collectRows(builder, report, { rows, malformed: table.malformed }, header.length, read, options);
}

/**
 * Imports EPA AQS hourly CSV texts (with or without their header line) into one series per
 * monitor (`state-county-site-POC`), in UTC, converted to the vocabulary, deduplicated, ordered.
 *
 * @throws {ReplayDataError} on a file that is not an AQS hourly file; in strict mode, at the first refused row.
 * @example
 * ```ts
 * const row = '"48","113","0045","44201",2,32.919722,-96.808056,"NAD83","Ozone","1994-04-02","12:00",' +
 *   '"1994-04-02","18:00",0.05,"Parts per million",0.005,"","","FRM","014","INSTRUMENTAL - CHEMILUMINESCENCE","Texas","Dallas",""';
 * const { series } = importEpaAqsHourly([{ file: "hourly_44201_1994.csv", text: row + "\n" }]);
 * [series[0].id, series[0].readings[0].values]; // ["48-113-0045-2", { o3_ugm3: 99.827371 }]
 * ```
 */
export function importEpaAqsHourly(files: readonly { file: string; text: string }[], options: StationImportOptions = {}): StationImport {
  const builder = new StationBuilder("epa-aqs");
  const reports = files.map(({ file, text }) => parseInto(builder, text, file, options));
  return { series: builder.series(), reports };
}

/**
 * Reads EPA AQS hourly CSV files (one by one, or every `*.csv` in a folder) and imports them with
 * {@link importEpaAqsHourly}.
 *
 * @example
 * ```ts
 * const { series } = await loadEpaAqsHourly("test/fixtures/air-quality/epa-aqs");
 * series.map((s) => s.id); // ["48-113-0045-2", "48-113-0055-1"]
 * ```
 */
export async function loadEpaAqsHourly(source: string | readonly string[], options: StationImportOptions = {}): Promise<StationImport> {
  return importEpaAqsHourly(await readCsvFiles(source), options);
}
