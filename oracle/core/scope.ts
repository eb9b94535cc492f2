/**
 * Market scopes: what a data product sells, as canonical JSON (RFC 8785) whose keccak256 is the
 * product's on-chain `scopeHash`. The one place that parses, normalizes, hashes and validates them.
 *
 * Scope v1 (every key required unless marked optional; docs/MARKET-SALES.md §1):
 * ```json
 * {"v":1,
 *  "devices":["0x…lowercase, ascending, unique"],
 *  "region":{"west":-0.5,"south":51.3,"east":0.3,"north":51.7},      // optional, informative
 *  "fields":["pm10_ugm3","pm2_5_ugm3"],                                // ascending, unique
 *  "window":{"from":1767225600,"to":1767312000}                        // unix s, [from, to)
 *   or "live":{"seconds":2592000}}                                     // [purchase time, + seconds)
 * ```
 * - `devices` is always the resolved device list, also for a region product (the lister resolves the
 *   bounding box to devices when it lists): the committee never sees raw data, hence no locations, so
 *   it splits a sale over devices it can name. `region` only records how the list was made.
 * - exactly one of `window` (a fixed historical or future range) and `live` (a subscription: the
 *   purchase's block time starts it) is present.
 * - `fields` name payload fields (the CSV columns and what the access token allows); a reading's
 *   payload is hashed whole, so a verifiable bundle still carries whole payloads.
 *
 * @module
 */
import { getAddress, isAddress, type Address, type Hex } from "viem";

import { canonicalBytes, parseCanonical } from "./canonical.js";
import { SensorSealError } from "./errors.js";
import { keccak256Hex } from "./keccak.js";

/** The scope format version this module writes and reads. */
export const SCOPE_VERSION = 1;
/** Most devices one scope names (keeps a listing, a split and an access check bounded). */
export const MAX_SCOPE_DEVICES = 10_000;
/** Most fields one scope names. */
export const MAX_SCOPE_FIELDS = 64;
/** Longest live subscription: 400 days. */
export const MAX_LIVE_SECONDS = 400 * 86_400;

const FIELD_RE = /^[a-z][a-z0-9_]{0,63}$/;
const SCOPE_KEYS = new Set(["v", "devices", "region", "fields", "window", "live"]);

/** A bounding box in degrees (WGS 84). */
export interface ScopeRegion {
  west: number;
  south: number;
  east: number;
  north: number;
}

/** A parsed, normalized scope (v1). */
export interface Scope {
  v: 1;
  /** Lowercase, ascending, unique. */
  devices: Address[];
  region?: ScopeRegion;
  /** Ascending, unique. */
  fields: string[];
  /** Fixed time window `[from, to)` in unix seconds. */
  window?: { from: number; to: number };
  /** Live subscription length in seconds, from the purchase's block time. */
  live?: { seconds: number };
}

/** A scope is malformed (shape, types, bounds); `details.path` names the offending part. */
export class InvalidScopeError extends SensorSealError {
  override name = "InvalidScopeError" as const;
  declare readonly code: "INVALID_SCOPE";
  constructor(path: string, reason: string) {
    super("INVALID_SCOPE", `Invalid scope at ${path}: ${reason}.`, { details: { path, reason } });
  }
}

/** A scope names devices the registry does not know (refused at listing time). */
export class UnknownScopeDeviceError extends SensorSealError {
  override name = "UnknownScopeDeviceError" as const;
  declare readonly code: "UNKNOWN_SCOPE_DEVICE";
  constructor(devices: readonly Address[]) {
    const shown = devices.slice(0, 10);
    super(
      "UNKNOWN_SCOPE_DEVICE",
      `The scope names ${devices.length} unknown device(s): ${shown.join(", ")}${devices.length > 10 ? ", …" : ""}.`,
      {
        details: { devices: shown, count: devices.length },
      },
    );
  }
}

/**
 * Parses and normalizes a scope from any JSON value (addresses in any case and order, fields in any
 * order; duplicates are refused, not merged, so a typo does not pass silently).
 *
 * @example
 * const scope = normalizeScope({ v: 1, devices: ["0xAb…"], fields: ["pm2_5_ugm3"], window: { from: 0, to: 3600 } });
 * scopeHash(scope); // "0x…"
 */
export function normalizeScope(value: unknown): Scope {
  if (!isObject(value)) throw new InvalidScopeError("$", "must be an object");
  for (const key of Object.keys(value)) if (!SCOPE_KEYS.has(key)) throw new InvalidScopeError(`$.${key}`, "unknown key");
  if (value.v !== SCOPE_VERSION) throw new InvalidScopeError("$.v", `must be ${SCOPE_VERSION}`);
  const scope: Scope = { v: 1, devices: normalizeDevices(value.devices), fields: normalizeFields(value.fields) };
  if (value.region !== undefined) scope.region = normalizeRegion(value.region);
  if ((value.window === undefined) === (value.live === undefined))
    throw new InvalidScopeError("$", 'exactly one of "window" and "live" is required');
  if (value.window !== undefined) scope.window = normalizeWindow(value.window);
  else scope.live = normalizeLive(value.live);
  return scope;
}

/**
 * The canonical bytes of a scope (RFC 8785 of its normalized form): what is stored off-chain and hashed.
 *
 * @example new TextDecoder().decode(scopeBytes(scope)); // '{"devices":["0x…"],"fields":["pm2_5_ugm3"],"v":1,"window":{"from":0,"to":3600}}'
 */
export function scopeBytes(scope: Scope | unknown): Uint8Array {
  return canonicalBytes(normalizeScope(scope));
}

/**
 * The product's on-chain scope hash: `keccak256(scopeBytes(scope))`.
 *
 * @example scopeHash(scope); // "0x5c…" (32 bytes)
 */
export function scopeHash(scope: Scope | unknown): Hex {
  return keccak256Hex(scopeBytes(scope));
}

/**
 * Reads stored scope bytes: they must be canonical JSON of a valid scope, and, when `expectedHash`
 * is given, hash to it (a scope fetched from anywhere is checked against the chain this way).
 *
 * @example const scope = parseScopeBytes(bytes, product.scopeHash);
 */
export function parseScopeBytes(bytes: Uint8Array, expectedHash?: Hex): Scope {
  let json: unknown;
  try {
    json = parseCanonical(bytes);
  } catch (cause) {
    throw new InvalidScopeError("$", `not canonical JSON (${(cause as Error).message})`);
  }
  const scope = normalizeScope(json);
  const canonical = canonicalBytes(scope);
  if (canonical.length !== bytes.length || canonical.some((b, i) => b !== bytes[i]))
    throw new InvalidScopeError("$", "not in normalized form (devices lowercase and ascending, fields ascending)");
  if (expectedHash !== undefined && keccak256Hex(bytes).toLowerCase() !== expectedHash.toLowerCase())
    throw new InvalidScopeError("$", `hashes to ${keccak256Hex(bytes)}, not to the product's ${expectedHash}`);
  return scope;
}

/**
 * Checks every device of a scope against the registry (at listing time): unknown ones are refused.
 *
 * @example assertScopeDevicesKnown(scope, (d) => registry.device(d) !== undefined);
 */
export function assertScopeDevicesKnown(scope: Scope, isKnown: (device: Address) => boolean): void {
  const unknown = scope.devices.filter((d) => !isKnown(getAddress(d)));
  if (unknown.length > 0) throw new UnknownScopeDeviceError(unknown.map((d) => getAddress(d)));
}

/**
 * The time window `[from, to)` a purchase of this scope covers: the fixed window, or for a live scope
 * `[purchasedAt, purchasedAt + seconds)`.
 *
 * @example scopeWindow(scope, 1_767_225_600n); // { from: 1767225600n, to: 1767312000n }
 */
export function scopeWindow(scope: Scope, purchasedAt: bigint): { from: bigint; to: bigint } {
  if (scope.window !== undefined) return { from: BigInt(scope.window.from), to: BigInt(scope.window.to) };
  return { from: purchasedAt, to: purchasedAt + BigInt(scope.live!.seconds) };
}

/** Whether a reading of `device` at `timestamp` lies in the scope's devices and window. */
export function inScope(scope: Scope, window: { from: bigint; to: bigint }, device: Address, timestamp: bigint): boolean {
  return timestamp >= window.from && timestamp < window.to && binaryHas(scope.devices, device.toLowerCase());
}

function binaryHas(sorted: readonly string[], key: string): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = sorted[mid]!;
    if (v === key) return true;
    if (v < key) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function normalizeDevices(value: unknown): Address[] {
  if (!Array.isArray(value) || value.length === 0) throw new InvalidScopeError("$.devices", "must be a non-empty array");
  if (value.length > MAX_SCOPE_DEVICES) throw new InvalidScopeError("$.devices", `at most ${MAX_SCOPE_DEVICES} devices`);
  const out = value.map((d, i) => {
    if (typeof d !== "string" || !isAddress(d, { strict: false })) throw new InvalidScopeError(`$.devices[${i}]`, "not an address");
    return d.toLowerCase() as Address;
  });
  return sortedUnique(out, "$.devices");
}

function normalizeFields(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new InvalidScopeError("$.fields", "must be a non-empty array");
  if (value.length > MAX_SCOPE_FIELDS) throw new InvalidScopeError("$.fields", `at most ${MAX_SCOPE_FIELDS} fields`);
  value.forEach((f, i) => {
    if (typeof f !== "string" || !FIELD_RE.test(f)) throw new InvalidScopeError(`$.fields[${i}]`, `must match ${FIELD_RE}`);
  });
  return sortedUnique(value as string[], "$.fields");
}

function normalizeRegion(value: unknown): ScopeRegion {
  if (!isObject(value)) throw new InvalidScopeError("$.region", "must be an object");
  const keys = Object.keys(value).sort().join(",");
  if (keys !== "east,north,south,west") throw new InvalidScopeError("$.region", "must have exactly west, south, east, north");
  const r = {
    west: degrees(value.west, "$.region.west", 180),
    south: degrees(value.south, "$.region.south", 90),
    east: degrees(value.east, "$.region.east", 180),
    north: degrees(value.north, "$.region.north", 90),
  };
  if (r.south > r.north) throw new InvalidScopeError("$.region", "south is above north");
  if (r.west > r.east) throw new InvalidScopeError("$.region", "west is east of east (a box across the antimeridian is two products)");
  return r;
}

function normalizeWindow(value: unknown): { from: number; to: number } {
  if (!isObject(value) || Object.keys(value).sort().join(",") !== "from,to")
    throw new InvalidScopeError("$.window", "must be exactly { from, to }");
  const from = integerIn(value.from, "$.window.from", 0, 2 ** 40);
  const to = integerIn(value.to, "$.window.to", 0, 2 ** 40);
  if (from >= to) throw new InvalidScopeError("$.window", "from must be before to");
  return { from, to };
}

function normalizeLive(value: unknown): { seconds: number } {
  if (!isObject(value) || Object.keys(value).join(",") !== "seconds") throw new InvalidScopeError("$.live", "must be exactly { seconds }");
  return { seconds: integerIn(value.seconds, "$.live.seconds", 1, MAX_LIVE_SECONDS) };
}

function sortedUnique<T extends string>(values: T[], path: string): T[] {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i] === sorted[i - 1]) throw new InvalidScopeError(path, `"${sorted[i]}" appears twice`);
  return sorted;
}

function integerIn(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max)
    throw new InvalidScopeError(path, `must be an integer in [${min}, ${max}]`);
  return value;
}

function degrees(value: unknown, path: string, limit: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || Math.abs(value) > limit)
    throw new InvalidScopeError(path, `must be a number in [-${limit}, ${limit}]`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
