/**
 * Synthetic air-quality readings for simulated devices: plausible, reproducible, cheap.
 *
 * Each device gets fixed traits from `(seed, index)`: a place around Aberdeen, a mean
 * temperature, a diurnal amplitude, a humidity level, a particulate baseline and a PM10/PM2.5
 * ratio. At simulated time `t` (unix seconds):
 * - temperature: mean + amplitude · cos(2π (solar hour − 15) / 24) + a regional weather swing
 *   (3.7-day period) + noise; humidity falls as temperature rises (clamped to 20–100 %);
 * - PM2.5: baseline × a traffic profile (peaks near 08:30 and 18:00) × exp(AR(1) noise) × weather;
 *   PM10 = PM2.5 × ratio + coarse noise;
 * - rounded like the sensors (0.1 °C, 0.1 %, 0.01 µg/m³).
 * Noise is a hash of `(seed, index, seq)`, so a run is reproducible given the same seqs.
 *
 * @module
 */
import type { ReadingFields } from "./client.js";

/**
 * 32-bit hash of three integers (murmur3-style finalizer over a mix): the simulator's noise source.
 *
 * @example
 * ```ts
 * hash32(1, 2, 3) === hash32(1, 2, 3); // true: deterministic
 * hash32(1, 2, 3) !== hash32(1, 2, 4); // true
 * ```
 */
export function hash32(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c ^ 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 32-bit hash of a string (FNV-1a), to turn a seed text into a number.
 *
 * @example
 * ```ts
 * seedNumber("demo"); // a number in [0, 2^32)
 * ```
 */
export function seedNumber(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function uniform(a: number, b: number, c: number): number {
  return (hash32(a, b, c) + 0.5) / 4294967296;
}

function gauss(a: number, b: number, c: number): number {
  const u1 = uniform(a, b, c);
  const u2 = uniform(a, b, c ^ 0x5bd1e995);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

const round = (x: number, step: number): number => Math.round(x / step) * step;
const r1 = (x: number): number => Number(round(x, 0.1).toFixed(1));
const r2 = (x: number): number => Number(round(x, 0.01).toFixed(2));

/** The fixed traits of one synthetic device. */
export type SyntheticTraits = {
  lat: number;
  lon: number;
  meanTemperatureC: number;
  diurnalAmplitudeC: number;
  meanHumidityPct: number;
  pmBaseUgm3: number;
  pm10Ratio: number;
};

const WEATHER_PERIOD_S = 3.7 * 86_400;

/**
 * Generates readings for `devices` synthetic devices. Memory: one float of noise state per device.
 *
 * @example
 * ```ts
 * const weather = new SyntheticWeather("demo", 10);
 * weather.reading(0, 1, 1_700_000_000);
 * // { temperature_c: 7.4, humidity_pct: 83.1, pm2_5_ugm3: 5.12, pm10_ugm3: 8.3, loc: { lat: 57.1…, lon: -2.0… } }
 * ```
 */
export class SyntheticWeather {
  readonly #seed: number;
  readonly #ar: Float32Array;

  constructor(seed: string, devices: number) {
    this.#seed = seedNumber(seed);
    this.#ar = new Float32Array(devices);
  }

  /**
   * The device's fixed traits.
   *
   * @example
   * ```ts
   * new SyntheticWeather("demo", 1).traits(0).pm10Ratio; // between 1.4 and 2.0
   * ```
   */
  traits(index: number): SyntheticTraits {
    const s = this.#seed;
    return {
      lat: Number((57.15 + (uniform(s, index, 1) - 0.5) * 0.4).toFixed(4)),
      lon: Number((-2.1 + (uniform(s, index, 2) - 0.5) * 0.6).toFixed(4)),
      meanTemperatureC: 7 + 2.5 * gauss(s, index, 3),
      diurnalAmplitudeC: 2.5 + 2 * uniform(s, index, 4),
      meanHumidityPct: 80 + 5 * gauss(s, index, 5),
      pmBaseUgm3: 3 + 9 * uniform(s, index, 6) ** 2,
      pm10Ratio: 1.4 + 0.6 * uniform(s, index, 7),
    };
  }

  /**
   * Device `index`'s reading number `seq` at simulated time `t` (unix seconds).
   *
   * @example
   * ```ts
   * new SyntheticWeather("demo", 1).reading(0, 1, 1_700_000_000).temperature_c; // a number like 6.8
   * ```
   */
  reading(index: number, seq: number, t: number): ReadingFields {
    const s = this.#seed;
    const tr = this.traits(index);
    const solarHour = (((t / 3600 + tr.lon / 15) % 24) + 24) % 24;
    const diurnal = Math.cos((2 * Math.PI * (solarHour - 15)) / 24);
    const weather = Math.sin((2 * Math.PI * t) / WEATHER_PERIOD_S + (index % 7) * 0.05);
    const temperature = tr.meanTemperatureC + tr.diurnalAmplitudeC * diurnal + 3 * weather + 0.3 * gauss(s, index, seq * 4 + 11);
    const humidity = Math.min(
      100,
      Math.max(20, tr.meanHumidityPct - 3.2 * (temperature - tr.meanTemperatureC) - 8 * weather + 1.5 * gauss(s, index, seq * 4 + 12)),
    );
    const h = solarHour;
    const traffic = 1 + 0.8 * Math.exp(-((h - 8.5) ** 2) / (2 * 1.2 ** 2)) + 0.6 * Math.exp(-((h - 18) ** 2) / (2 * 1.5 ** 2));
    const ar = 0.9 * (this.#ar[index] ?? 0) + 0.3 * gauss(s, index, seq * 4 + 13);
    this.#ar[index] = ar;
    const pm25 = Math.max(0, tr.pmBaseUgm3 * traffic * Math.exp(0.5 * ar) * (1 - 0.25 * weather));
    const pm10 = pm25 * tr.pm10Ratio + Math.abs(0.6 * gauss(s, index, seq * 4 + 14));
    return {
      temperature_c: r1(temperature),
      humidity_pct: r1(humidity),
      pm2_5_ugm3: r2(pm25),
      pm10_ugm3: r2(pm10),
      loc: { lat: tr.lat, lon: tr.lon },
    };
  }
}
