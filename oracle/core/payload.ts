/**
 * Raw reading payloads: canonical (RFC 8785) UTF-8 JSON made by the device,
 * stored and served verbatim; `dataHash = keccak256(payload bytes)`.
 *
 * Schema v1 (air quality): `v`, `device`, `seq`, `ts`, `salt` are required;
 * the known sensor fields `temperature_c`, `humidity_pct`, `pm2_5_ugm3`,
 * `pm10_ugm3` are numbers when present; `loc` and any other field are free
 * JSON.
 *
 * Schema v2: the same envelope, plus the reading vocabulary (oracle/core/vocabulary.ts,
 * docs/READING-VOCABULARY.md): every vocabulary field (v1's four included) is a finite number of
 * its unit within its range, per-channel PM values are `{ "a": …, "b": … }`, and a vocabulary
 * quantity under another unit's name (`no2_ppb`) is refused. {@link buildPayload} writes v2 when
 * the payload carries a field only v2 types (or `v: 2` is asked for), else v1 exactly as before,
 * so a v1 payload's bytes and rules do not change and old payloads keep verifying.
 *
 * @module
 */
import { getAddress, isAddress, type Address, type Hex } from "viem";

import { bytesToHex, randomBytes } from "./bytes.js";
import { canonicalize, parseCanonical, type JsonValue } from "./canonical.js";
import { InvalidPayloadError } from "./errors.js";
import { keccak256Hex } from "./keccak.js";
import { checkVocabulary, isV2Field, isWrongUnitField } from "./vocabulary.js";

/** The first payload schema version (what `buildPayload` writes without vocabulary fields). */
export const PAYLOAD_VERSION = 1;
/** The payload schema version with the typed reading vocabulary. */
export const PAYLOAD_VERSION_VOCABULARY = 2;
/** The schema versions a payload may carry. */
export const PAYLOAD_VERSIONS: readonly number[] = [PAYLOAD_VERSION, PAYLOAD_VERSION_VOCABULARY];
/** Salt length in bytes. */
export const SALT_BYTES = 16;

/** Known numeric sensor fields of schema v1; each is optional. */
export const SENSOR_FIELDS = ["temperature_c", "humidity_pct", "pm2_5_ugm3", "pm10_ugm3"] as const;

/** Per-channel values of one quantity (e.g. a sensor's two PM counters), channels named a to z. */
export type ChannelValues = { [channel: string]: number };

/** The typed fields of the reading vocabulary (schema v2), each optional; units in the names. */
export type VocabularyFields = {
  temperature_c?: number;
  humidity_pct?: number;
  pressure_hpa?: number;
  dew_point_c?: number;
  pm1_ugm3?: number;
  pm2_5_ugm3?: number;
  pm10_ugm3?: number;
  pm1_ugm3_channels?: ChannelValues;
  pm2_5_ugm3_channels?: ChannelValues;
  pm10_ugm3_channels?: ChannelValues;
  so2_ugm3?: number;
  no2_ugm3?: number;
  co_mgm3?: number;
  o3_ugm3?: number;
  wind_speed_ms?: number;
  wind_direction_deg?: number;
  rain_mm?: number;
};

/** A parsed payload, schema v1 or v2 (air quality, extensible): the vocabulary's fields typed. */
export type AirQualityReading = {
  v: 1 | 2;
  /** Device id (address). */
  device: Address;
  /** Per-device sequence number, from 1. */
  seq: number;
  /** Unix time in seconds. */
  ts: number;
  /** 16 random bytes, lowercase hex. */
  salt: Hex;
  /** Location, free form. */
  loc?: JsonValue;
  [field: string]: JsonValue | undefined;
} & VocabularyFields;

/** A parsed schema-v1 payload (air quality, extensible). */
export type AirQualityReadingV1 = {
  v: 1;
  /** Device id (address). */
  device: Address;
  /** Per-device sequence number, from 1. */
  seq: number;
  /** Unix time in seconds. */
  ts: number;
  /** 16 random bytes, lowercase hex. */
  salt: Hex;
  temperature_c?: number;
  humidity_pct?: number;
  pm2_5_ugm3?: number;
  pm10_ugm3?: number;
  /** Location, free form. */
  loc?: JsonValue;
  [field: string]: JsonValue | undefined;
};

/** Input of {@link buildPayload}: the payload fields, `v` and `salt` optional. */
export type BuildPayloadParameters = {
  device: Address;
  seq: number | bigint;
  ts: number | bigint;
  /** 16 bytes; a fresh random salt when omitted. */
  salt?: Hex | Uint8Array | undefined;
  /** 1 or 2; default 2 when a field only v2 types is present, else 1. */
  v?: 1 | 2 | undefined;
  loc?: JsonValue | undefined;
  [field: string]: unknown;
} & { [K in keyof VocabularyFields]?: VocabularyFields[K] | undefined };

/** A built payload: its exact bytes, the same as text, and the value. */
export type Payload = { bytes: Uint8Array; text: string; value: AirQualityReading };

const SALT_RE = /^0x[0-9a-f]{32}$/;
const utf8 = new TextEncoder();

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkInteger(value: unknown, field: string, min: number): number {
  if (typeof value === "bigint") {
    if (value < BigInt(min) || value > BigInt(Number.MAX_SAFE_INTEGER))
      throw new InvalidPayloadError(field, `must be a safe integer >= ${min}`);
    return Number(value);
  }
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min)
    throw new InvalidPayloadError(field, `must be a safe integer >= ${min}`);
  return value;
}

function validate(value: unknown): AirQualityReading {
  if (!isPlainObject(value)) throw new InvalidPayloadError("$", "must be a JSON object");
  if (!PAYLOAD_VERSIONS.includes(value.v as number)) throw new InvalidPayloadError("v", `must be ${PAYLOAD_VERSIONS.join(" or ")}`);
  if (typeof value.device !== "string" || !isAddress(value.device, { strict: true }))
    throw new InvalidPayloadError("device", "must be an address (lowercase or EIP-55 checksummed)");
  checkInteger(value.seq, "seq", 1);
  checkInteger(value.ts, "ts", 0);
  if (typeof value.salt !== "string" || !SALT_RE.test(value.salt))
    throw new InvalidPayloadError("salt", `must be ${SALT_BYTES} bytes of lowercase 0x hex`);
  for (const field of SENSOR_FIELDS) {
    const x = value[field];
    if (x !== undefined && (typeof x !== "number" || !Number.isFinite(x)))
      throw new InvalidPayloadError(field, "must be a finite number when present");
  }
  if (value.v === PAYLOAD_VERSION_VOCABULARY) checkVocabulary(value);
  return value as AirQualityReading;
}

/**
 * Builds a canonical schema-v1 payload. `device` is checksummed, `seq`/`ts`
 * become JSON numbers (they must be safe integers), the salt is a fresh
 * random 16 bytes unless given; members set to `undefined` are left out.
 *
 * @throws {InvalidPayloadError | CanonicalizeError}
 * @example
 * ```ts
 * const p = buildPayload({
 *   device: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
 *   seq: 1, ts: 1_700_000_000, salt: "0x000102030405060708090a0b0c0d0e0f",
 *   temperature_c: 21.5, humidity_pct: 40, pm2_5_ugm3: 8.1, pm10_ugm3: 12,
 * });
 * p.text;
 * // {"device":"0x70997970C51812dc3A010C7d01b50e0d17dc79C8","humidity_pct":40,"pm10_ugm3":12,
 * //  "pm2_5_ugm3":8.1,"salt":"0x000102030405060708090a0b0c0d0e0f","seq":1,"temperature_c":21.5,"ts":1700000000,"v":1}
 * ```
 */
export function buildPayload(fields: BuildPayloadParameters): Payload {
  if (!isPlainObject(fields)) throw new InvalidPayloadError("$", "must be an object");
  const { device, seq, ts, salt, v: asked, ...rest } = fields;
  if (asked !== undefined && !PAYLOAD_VERSIONS.includes(asked))
    throw new InvalidPayloadError("v", `must be ${PAYLOAD_VERSIONS.join(" or ")}`);
  const v2Field = Object.keys(rest).find((k) => rest[k] !== undefined && isV2Field(k));
  if (asked === PAYLOAD_VERSION && v2Field !== undefined)
    throw new InvalidPayloadError(v2Field, "is typed by schema v2 only: leave out v: 1");
  // A vocabulary quantity under another unit's name also makes it v2, where it is refused; only an
  // explicit v: 1 (a legacy integration) still writes such a name untyped.
  const needsV2 = v2Field !== undefined || Object.keys(rest).some((k) => rest[k] !== undefined && isWrongUnitField(k));
  const v = asked ?? (needsV2 ? PAYLOAD_VERSION_VOCABULARY : PAYLOAD_VERSION);
  if (typeof device !== "string" || !isAddress(device, { strict: false })) throw new InvalidPayloadError("device", "must be an address");
  let saltHex: string;
  if (salt === undefined) saltHex = bytesToHex(randomBytes(SALT_BYTES));
  else if (salt instanceof Uint8Array) {
    if (salt.length !== SALT_BYTES) throw new InvalidPayloadError("salt", `must be ${SALT_BYTES} bytes`);
    saltHex = bytesToHex(salt);
  } else saltHex = typeof salt === "string" ? salt.toLowerCase() : "";
  const value: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(rest)) if (x !== undefined) value[k] = x;
  value.v = v;
  value.device = getAddress(device);
  value.seq = checkInteger(seq, "seq", 1);
  value.ts = checkInteger(ts, "ts", 0);
  value.salt = saltHex;
  const checked = validate(value);
  const text = canonicalize(checked);
  return { bytes: utf8.encode(text), text, value: checked };
}

/**
 * Parses payload bytes, which must be canonical JSON following schema v1 or v2.
 *
 * @throws {NonCanonicalJsonError} if the bytes are not canonical JSON.
 * @throws {InvalidPayloadError} on a missing or mistyped `v`, `device`, `seq`, `ts`, `salt` or sensor field.
 * @example
 * ```ts
 * const { bytes } = buildPayload({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 7, ts: 1_700_000_060 });
 * parsePayload(bytes).seq; // 7
 * ```
 */
export function parsePayload(bytes: Uint8Array): AirQualityReading {
  return validate(parseCanonical(bytes));
}

/**
 * `keccak256(payload bytes)`: what the device signs (inside a Reading) and the relayer anchors.
 *
 * @example
 * ```ts
 * dataHash(new TextEncoder().encode('{"v":1}')); // 0x… (32 bytes)
 * ```
 */
export function dataHash(bytes: Uint8Array): Hex {
  return keccak256Hex(bytes);
}
