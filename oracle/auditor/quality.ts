/**
 * Data-quality flags of a verified reading, deterministic and versioned (`QUALITY_RULES_VERSION`): the
 * same readings always give the same flags, so the committee can apply them in a reward-rules version.
 *
 * @module
 */

/** Bump when a rule or threshold changes. */
export const QUALITY_RULES_VERSION = "quality-v1";

/** The thresholds of {@link QUALITY_RULES_VERSION}. */
export const QUALITY_LIMITS = {
  pm: { min: 0, max: 1000 },
  temperature: { min: -40, max: 85 },
  humidity: { min: 0, max: 100 },
  /** Above this relative humidity optical PM counters over-read (water uptake). */
  humidityHigh: 95,
  /** This many consecutive identical (PM2.5, PM10, temperature, humidity) tuples: a stuck sensor. */
  stuckRun: 5,
  /** A spike: PM2.5 above `spikeFactor` × the neighbours' median and `spikeMinDelta` µg/m³ above it. */
  spikeFactor: 3,
  spikeMinDelta: 35,
} as const;

export type QualityFlag = "OUT_OF_RANGE" | "STUCK_VALUE" | "HIGH_HUMIDITY" | "SPIKE";

/** The values the rules read. */
export interface QualityInput {
  pm25: number | null;
  pm10: number | null;
  temperature: number | null;
  humidity: number | null;
}

/**
 * Flags of one reading. `previous`: the device's readings just before it (oldest first);
 * `neighbourPm25`: other devices' PM2.5 nearby at the same hour.
 *
 * @example qualityFlags({ pm25: 500, pm10: 600, temperature: 20, humidity: 97 }, [], [10, 12, 11]); // ["HIGH_HUMIDITY", "SPIKE"]
 */
export function qualityFlags(r: QualityInput, previous: readonly QualityInput[], neighbourPm25: readonly number[]): QualityFlag[] {
  const L = QUALITY_LIMITS;
  const flags: QualityFlag[] = [];
  const outside = (x: number | null, range: { min: number; max: number }) => x !== null && (x < range.min || x > range.max);
  if (outside(r.pm25, L.pm) || outside(r.pm10, L.pm) || outside(r.temperature, L.temperature) || outside(r.humidity, L.humidity))
    flags.push("OUT_OF_RANGE");
  const same = (a: QualityInput) => a.pm25 === r.pm25 && a.pm10 === r.pm10 && a.temperature === r.temperature && a.humidity === r.humidity;
  const run = previous.slice(-(L.stuckRun - 1));
  if (run.length === L.stuckRun - 1 && run.every(same)) flags.push("STUCK_VALUE");
  if (r.humidity !== null && r.humidity > L.humidityHigh) flags.push("HIGH_HUMIDITY");
  if (r.pm25 !== null && neighbourPm25.length >= 2) {
    const sorted = [...neighbourPm25].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    if (r.pm25 > L.spikeFactor * median && r.pm25 - median > L.spikeMinDelta) flags.push("SPIKE");
  }
  return flags;
}
