/**
 * The reading vocabulary: the quantities air-quality sensors and stations report, each with one
 * payload field name, one unit and a plausible range, so two integrators of the same sensor
 * produce comparable data. Payload schema v2 (oracle/core/payload.ts) types and checks them.
 *
 * Names keep v1's style (`<quantity>_<unit>`, the unit in the name, so a value never travels
 * without it); units are given as UCUM codes (what OGC SensorThings' `unitOfMeasurement` uses),
 * and each quantity lists its Sensor.Community `value_type` and its EEA / OpenAQ parameter, the
 * names the importers map from. Gases are mass concentrations (µg/m³; CO in mg/m³) as EU and WHO
 * limits are written; {@link toVocabularyUnit} converts the usual other units.
 *
 * @module
 */
import { InvalidPayloadError } from "./errors.js";

/** One quantity of the vocabulary. */
export interface Quantity {
  /** The payload field (schema v1 names kept). */
  field: string;
  /** The quantity's name without unit (a field `<stem>_<other unit>` is a wrong-unit error). */
  stem: string;
  /** UCUM code of the unit. */
  ucum: string;
  /** Human label with unit. */
  label: string;
  /** Inclusive range of plausible values; outside is an error before signing. */
  min: number;
  max: number;
  /** `max` is exclusive (a direction of 360° is 0°). */
  maxExclusive?: boolean;
  /** Sensor.Community archive `value_type` / column, when it has one. */
  sensorCommunity?: string;
  /** EEA air-quality pollutant notation / OpenAQ parameter, when it has one. */
  eea?: string;
  /** Whether per-channel values (`<field>_channels`: `{ "a": …, "b": … }`) are allowed. */
  channels?: boolean;
}

/** The vocabulary of payload schema v2, by field. */
export const QUANTITIES: readonly Quantity[] = [
  {
    field: "temperature_c",
    stem: "temperature",
    ucum: "Cel",
    label: "air temperature (°C)",
    min: -90,
    max: 70,
    sensorCommunity: "temperature",
    eea: "temperature",
  },
  {
    field: "humidity_pct",
    stem: "humidity",
    ucum: "%",
    label: "relative humidity (%)",
    min: 0,
    max: 100,
    sensorCommunity: "humidity",
    eea: "relativehumidity",
  },
  {
    field: "pressure_hpa",
    stem: "pressure",
    ucum: "hPa",
    label: "air pressure at the station (hPa)",
    min: 300,
    max: 1100,
    sensorCommunity: "pressure",
    eea: "pressure",
  },
  { field: "dew_point_c", stem: "dew_point", ucum: "Cel", label: "dew point (°C)", min: -90, max: 70, eea: "dewpoint" },
  {
    field: "pm1_ugm3",
    stem: "pm1",
    ucum: "ug/m3",
    label: "PM1 (µg/m³)",
    min: 0,
    max: 20_000,
    sensorCommunity: "P0",
    eea: "pm1",
    channels: true,
  },
  {
    field: "pm2_5_ugm3",
    stem: "pm2_5",
    ucum: "ug/m3",
    label: "PM2.5 (µg/m³)",
    min: 0,
    max: 20_000,
    sensorCommunity: "P2",
    eea: "PM2.5",
    channels: true,
  },
  {
    field: "pm10_ugm3",
    stem: "pm10",
    ucum: "ug/m3",
    label: "PM10 (µg/m³)",
    min: 0,
    max: 20_000,
    sensorCommunity: "P1",
    eea: "PM10",
    channels: true,
  },
  { field: "so2_ugm3", stem: "so2", ucum: "ug/m3", label: "sulphur dioxide (µg/m³)", min: 0, max: 10_000, eea: "SO2" },
  { field: "no2_ugm3", stem: "no2", ucum: "ug/m3", label: "nitrogen dioxide (µg/m³)", min: 0, max: 10_000, eea: "NO2" },
  { field: "co_mgm3", stem: "co", ucum: "mg/m3", label: "carbon monoxide (mg/m³)", min: 0, max: 1_000, eea: "CO" },
  { field: "o3_ugm3", stem: "o3", ucum: "ug/m3", label: "ozone (µg/m³)", min: 0, max: 10_000, eea: "O3" },
  { field: "wind_speed_ms", stem: "wind_speed", ucum: "m/s", label: "wind speed (m/s)", min: 0, max: 120, eea: "windspeed" },
  {
    field: "wind_direction_deg",
    stem: "wind_direction",
    ucum: "deg",
    label: "wind direction, from, clockwise from north (°)",
    min: 0,
    max: 360,
    maxExclusive: true,
    eea: "winddirection",
  },
  {
    field: "rain_mm",
    stem: "rain",
    ucum: "mm",
    label: "precipitation since the device's previous reading (mm)",
    min: 0,
    max: 1_000,
    eea: "precipitation",
  },
];

/** The fields schema v1 already typed (finite numbers, no range): a v1 payload keeps exactly these rules. */
export const V1_FIELDS: readonly string[] = ["temperature_c", "humidity_pct", "pm2_5_ugm3", "pm10_ugm3"];

const BY_FIELD = new Map(QUANTITIES.map((q) => [q.field, q]));
const BY_STEM = new Map(QUANTITIES.map((q) => [q.stem, q]));
const CHANNEL_NAME = /^[a-z]$/;
const UNIT_SUFFIX = /^([a-z0-9_]+)_([a-z0-9]+)$/;
/** Unit tokens a field name may end in: a vocabulary stem with one of these but not its own unit is a wrong unit. */
const UNIT_TOKENS = new Set(
  ["c", "f", "k", "pct", "hpa", "pa", "kpa", "inhg", "mbar", "mmhg", "ugm3", "mgm3", "ngm3", "gm3", "ppb", "ppm", "ppt"].concat([
    "ms",
    "kmh",
    "kph",
    "mph",
    "kn",
    "kt",
    "knots",
    "deg",
    "rad",
    "mm",
    "cm",
    "in",
    "inch",
    "inches",
  ]),
);

/**
 * The vocabulary's quantity of a payload field, if it is one.
 *
 * @example
 * ```ts
 * quantityOf("no2_ugm3")?.ucum; // "ug/m3"
 * ```
 */
export function quantityOf(field: string): Quantity | undefined {
  return BY_FIELD.get(field);
}

/**
 * Whether a field name is one only schema v2 types (a payload carrying it is built as v2).
 *
 * @example
 * ```ts
 * [isV2Field("pm1_ugm3"), isV2Field("pm2_5_ugm3"), isV2Field("co2_ppm")]; // [true, false, false]
 * ```
 */
export function isV2Field(field: string): boolean {
  if (field.endsWith("_channels")) return BY_FIELD.get(field.slice(0, -"_channels".length))?.channels === true;
  return BY_FIELD.has(field) && !V1_FIELDS.includes(field);
}

/**
 * Whether a field name is a vocabulary quantity under another unit's name (`no2_ppb`).
 *
 * @example
 * ```ts
 * [isWrongUnitField("no2_ppb"), isWrongUnitField("no2_ugm3"), isWrongUnitField("co2_ppm"), isWrongUnitField("pm10_saturated")];
 * // [true, false, false, false]
 * ```
 */
export function isWrongUnitField(field: string): boolean {
  return wrongUnitOf(field) !== undefined;
}

function wrongUnitOf(field: string): Quantity | undefined {
  if (BY_FIELD.has(field) || field.endsWith("_channels")) return undefined;
  const m = UNIT_SUFFIX.exec(field);
  return m === null || !UNIT_TOKENS.has(m[2]!) ? undefined : BY_STEM.get(m[1]!);
}

function checkValue(q: Quantity, field: string, x: unknown): void {
  if (typeof x !== "number" || !Number.isFinite(x))
    throw new InvalidPayloadError(field, `must be a finite number in ${q.ucum} when present (omit a missing value)`);
  if (x < q.min || (q.maxExclusive === true ? x >= q.max : x > q.max)) {
    throw new InvalidPayloadError(
      field,
      `${x} ${q.ucum} is out of range [${q.min}, ${q.max}${q.maxExclusive === true ? ")" : "]"} for ${q.label}`,
    );
  }
}

function checkChannels(q: Quantity, field: string, x: unknown): void {
  if (typeof x !== "object" || x === null || Array.isArray(x))
    throw new InvalidPayloadError(field, 'must be an object of channel values, e.g. {"a":8.1,"b":8.4}');
  const entries = Object.entries(x);
  if (entries.length === 0) throw new InvalidPayloadError(field, "must name at least one channel (omit it when there is none)");
  for (const [channel, value] of entries) {
    if (!CHANNEL_NAME.test(channel)) throw new InvalidPayloadError(`${field}.${channel}`, "channels are named a to z");
    checkValue(q, `${field}.${channel}`, value);
  }
}

/**
 * Checks the vocabulary fields of a payload object: each value a finite number of its unit within
 * range, per-channel values well formed, and no vocabulary quantity under another unit's name
 * (`no2_ppb`, `temperature_f`: convert with {@link toVocabularyUnit}). Other fields are free.
 *
 * @throws {InvalidPayloadError} naming the field and what is wrong.
 * @example
 * ```ts
 * checkVocabulary({ no2_ugm3: 21.4, pm2_5_ugm3_channels: { a: 8.1, b: 8.4 } }); // passes
 * try { checkVocabulary({ no2_ppb: 11 }); } catch (e) { (e as Error).message; } // …"no2_ppb": no2 is reported as no2_ugm3…
 * ```
 */
export function checkVocabulary(value: Record<string, unknown>): void {
  for (const [field, x] of Object.entries(value)) {
    const q = BY_FIELD.get(field);
    if (q !== undefined) {
      checkValue(q, field, x);
      continue;
    }
    if (field.endsWith("_channels")) {
      const base = BY_FIELD.get(field.slice(0, -"_channels".length));
      if (base?.channels === true) {
        checkChannels(base, field, x);
        continue;
      }
    }
    const stem = wrongUnitOf(field);
    if (stem !== undefined) {
      throw new InvalidPayloadError(field, `${stem.stem} is reported as ${stem.field} (${stem.ucum}); convert with toVocabularyUnit`);
    }
  }
}

/** Molar masses (g/mol) of the gases, for ppb ↔ µg/m³ at 20 °C and 1013.25 hPa (EU reference: 24.04 L/mol). */
const MOLAR_MASS: Record<string, number> = { so2: 64.066, no2: 46.0055, o3: 47.997, co: 28.01 };
const MOLAR_VOLUME_L = 24.04;

/**
 * Converts a value in a common other unit to the vocabulary's unit of the field: °F and K to °C,
 * Pa / kPa / inHg to hPa, km/h / mph / knots to m/s, inches to mm, gases in ppb / ppm to µg/m³
 * (CO to mg/m³) at 20 °C and 1013.25 hPa (the EU reference conditions).
 *
 * @throws {InvalidPayloadError} for a unit it does not know for that field.
 * @example
 * ```ts
 * toVocabularyUnit("no2_ugm3", 10, "ppb"); // 19.14 (µg/m³)
 * toVocabularyUnit("temperature_c", 50, "F"); // 10
 * ```
 */
export function toVocabularyUnit(field: string, value: number, unit: string): number {
  const q = BY_FIELD.get(field);
  if (q === undefined) throw new InvalidPayloadError(field, "is not a vocabulary field");
  const u = unit.toLowerCase().replace("°", "");
  const gas = MOLAR_MASS[q.stem];
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  if (gas !== undefined && (u === "ppb" || u === "ppm")) {
    const ugm3 = ((u === "ppm" ? value * 1000 : value) * gas) / MOLAR_VOLUME_L;
    return round(q.ucum === "mg/m3" ? ugm3 / 1000 : ugm3);
  }
  const table: Record<string, Record<string, (x: number) => number>> = {
    Cel: { f: (x) => ((x - 32) * 5) / 9, k: (x) => x - 273.15, c: (x) => x },
    hPa: { pa: (x) => x / 100, kpa: (x) => x * 10, inhg: (x) => x * 33.8639, mbar: (x) => x },
    "m/s": { "km/h": (x) => x / 3.6, mph: (x) => x * 0.44704, kn: (x) => x * 0.514444, knots: (x) => x * 0.514444 },
    mm: { in: (x) => x * 25.4, cm: (x) => x * 10 },
    "mg/m3": { "ug/m3": (x) => x / 1000 },
    "ug/m3": { "mg/m3": (x) => x * 1000 },
  };
  const convert = table[q.ucum]?.[u];
  if (convert === undefined) throw new InvalidPayloadError(field, `no conversion from ${unit} to ${q.ucum}`);
  return round(convert(value));
}
