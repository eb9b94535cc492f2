/**
 * Air-quality indices from particulate concentrations (µg/m³), both by piecewise-linear
 * interpolation over a breakpoint table: `I = (I_hi − I_lo) / (C_hi − C_lo) · (C − C_lo) + I_lo`.
 *
 * - China, HJ 633-2012 (环境空气质量指数 AQI 技术规定): IAQI of the 24-hour mean PM2.5 and PM10 (table 1),
 *   results rounded up to an integer ("全部进位取整数"), AQI = max IAQI, primary pollutant when AQI > 50.
 *   Concentrations above the table's top are reported as 500.
 * - United States, EPA (40 CFR 58 App. G, PM2.5 table as revised in 2024): PM2.5 truncated to 0.1 µg/m³,
 *   PM10 to 1 µg/m³, the index rounded to the nearest integer; above the top, 500.
 *
 * @module
 */

/** One row of a breakpoint table: concentrations [cLo, cHi] map to indices [iLo, iHi]. */
export interface Breakpoint {
  cLo: number;
  cHi: number;
  iLo: number;
  iHi: number;
}

const IAQI_LEVELS = [0, 50, 100, 150, 200, 300, 400, 500];
const rows = (c: readonly number[]): Breakpoint[] =>
  c.slice(1).map((cHi, i) => ({ cLo: c[i], cHi, iLo: IAQI_LEVELS[i], iHi: IAQI_LEVELS[i + 1] }));

/** HJ 633-2012 table 1, 24-hour means (µg/m³). */
export const CHINA_BREAKPOINTS = {
  pm25: rows([0, 35, 75, 115, 150, 250, 350, 500]),
  pm10: rows([0, 50, 150, 250, 350, 420, 500, 600]),
} as const;

/** US EPA AQI breakpoints, 24-hour means (PM2.5 as revised in 2024). */
export const US_BREAKPOINTS = {
  pm25: [
    { cLo: 0.0, cHi: 9.0, iLo: 0, iHi: 50 },
    { cLo: 9.1, cHi: 35.4, iLo: 51, iHi: 100 },
    { cLo: 35.5, cHi: 55.4, iLo: 101, iHi: 150 },
    { cLo: 55.5, cHi: 125.4, iLo: 151, iHi: 200 },
    { cLo: 125.5, cHi: 225.4, iLo: 201, iHi: 300 },
    { cLo: 225.5, cHi: 325.4, iLo: 301, iHi: 500 },
  ],
  pm10: [
    { cLo: 0, cHi: 54, iLo: 0, iHi: 50 },
    { cLo: 55, cHi: 154, iLo: 51, iHi: 100 },
    { cLo: 155, cHi: 254, iLo: 101, iHi: 150 },
    { cLo: 255, cHi: 354, iLo: 151, iHi: 200 },
    { cLo: 355, cHi: 424, iLo: 201, iHi: 300 },
    { cLo: 425, cHi: 604, iLo: 301, iHi: 500 },
  ],
} as const satisfies Record<string, readonly Breakpoint[]>;

function interpolate(table: readonly Breakpoint[], c: number): number {
  if (!Number.isFinite(c) || c < 0) throw new RangeError(`concentration ${c} is not a non-negative number`);
  const row = table.find((b) => c <= b.cHi);
  if (row === undefined) return 500;
  return ((row.iHi - row.iLo) / (row.cHi - row.cLo)) * (c - row.cLo) + row.iLo;
}

/**
 * China's IAQI (HJ 633-2012) of a 24-hour mean.
 *
 * @example chinaIaqi("pm25", 80); // 107  ((150−100)/(115−75)·(80−75)+100 = 106.25, rounded up)
 */
export function chinaIaqi(pollutant: "pm25" | "pm10", c: number): number {
  // Rounding guards a float like 106.00000000000001 from being carried up to 107.
  return Math.ceil(Number(interpolate(CHINA_BREAKPOINTS[pollutant], c).toFixed(9)));
}

/**
 * The US EPA AQI of a 24-hour mean (PM2.5 truncated to 0.1, PM10 to 1 µg/m³).
 *
 * @example usAqi("pm25", 35.9); // 102
 */
export function usAqi(pollutant: "pm25" | "pm10", c: number): number {
  const truncated = pollutant === "pm25" ? Math.floor(c * 10 + 1e-9) / 10 : Math.floor(c + 1e-9);
  // Between two rows (e.g. 9.05 truncates to 9.0): truncation puts every value on a row.
  return Math.round(interpolate(US_BREAKPOINTS[pollutant], truncated));
}

/** An index with its category and the pollutant that sets it. */
export interface AqiResult {
  aqi: number;
  /** The pollutant with the highest sub-index ("primary pollutant"); null when AQI ≤ 50 under HJ 633. */
  primary: "pm25" | "pm10" | null;
  category: string;
  parts: { pm25?: number; pm10?: number };
}

const CHINA_CATEGORIES = [
  "优 excellent",
  "良 good",
  "轻度污染 lightly polluted",
  "中度污染 moderately polluted",
  "重度污染 heavily polluted",
  "严重污染 severely polluted",
];
const US_CATEGORIES = ["Good", "Moderate", "Unhealthy for Sensitive Groups", "Unhealthy", "Very Unhealthy", "Hazardous"];
const categoryIndex = (aqi: number) => (aqi <= 50 ? 0 : aqi <= 100 ? 1 : aqi <= 150 ? 2 : aqi <= 200 ? 3 : aqi <= 300 ? 4 : 5);

/**
 * AQI from the PM2.5 and PM10 means that are known, by either standard.
 *
 * @example aqi("china", { pm25: 80, pm10: 200 }); // { aqi: 125, primary: "pm10", … }
 */
export function aqi(standard: "china" | "us", c: { pm25?: number | null; pm10?: number | null }): AqiResult | undefined {
  const index = standard === "china" ? chinaIaqi : usAqi;
  const parts: AqiResult["parts"] = {};
  if (c.pm25 !== undefined && c.pm25 !== null) parts.pm25 = index("pm25", c.pm25);
  if (c.pm10 !== undefined && c.pm10 !== null) parts.pm10 = index("pm10", c.pm10);
  if (parts.pm25 === undefined && parts.pm10 === undefined) return undefined;
  const primary: "pm25" | "pm10" = (parts.pm10 ?? -1) > (parts.pm25 ?? -1) ? "pm10" : "pm25";
  const value = parts[primary]!;
  const categories = standard === "china" ? CHINA_CATEGORIES : US_CATEGORIES;
  return { aqi: value, primary: standard === "china" && value <= 50 ? null : primary, category: categories[categoryIndex(value)], parts };
}
