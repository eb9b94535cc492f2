/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * - object members sorted by key, comparing UTF-16 code units;
 * - numbers serialized as ECMAScript's `Number.prototype.toString` (`-0` → `0`);
 * - strings escaped as ECMAScript's `JSON.stringify` (only `"`, `\`, and
 *   controls; lowercase `\u00xx`);
 * - no whitespace.
 *
 * Values outside I-JSON are rejected with a {@link CanonicalizeError}: NaN and
 * ±Infinity, lone surrogates (in strings and keys), bigints, `undefined` in
 * arrays or at top level, functions, symbols, cycles, and any object that is
 * not a plain object or array (Date, Map, class instances, typed arrays…).
 * Object members whose value is `undefined` are omitted, as `JSON.stringify`
 * does, so optional fields can be left `undefined`.
 *
 * @module
 */
import { CanonicalizeError, NonCanonicalJsonError } from "./errors.js";

/** A JSON value as RFC 8785 canonicalizes it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

// With the `u` flag a well-formed surrogate pair is one code point, so this only matches lone halves.
const LONE_SURROGATE = /\p{Surrogate}/u;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

type Walk = { ancestors: Set<object>; path: (string | number)[] };

function fail(reason: string, walk: Walk): never {
  let at = "$";
  for (const p of walk.path) at += typeof p === "number" ? `[${p}]` : `.${p}`;
  throw new CanonicalizeError(reason, at);
}

function serializeString(s: string, walk: Walk): string {
  if (LONE_SURROGATE.test(s)) fail("lone surrogate in string", walk);
  return JSON.stringify(s);
}

function serialize(value: unknown, walk: Walk): string {
  switch (typeof value) {
    case "string":
      return serializeString(value, walk);
    case "number":
      if (!Number.isFinite(value)) fail(`number ${value} is not finite`, walk);
      return String(value); // ES Number::toString, which RFC 8785 adopts; String(-0) === "0"
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (walk.ancestors.has(value)) fail("cyclic structure", walk);
      walk.ancestors.add(value);
      let out: string;
      if (Array.isArray(value)) {
        out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i !== 0) out += ",";
          walk.path.push(i);
          out += serialize(value[i], walk);
          walk.path.pop();
        }
        out += "]";
      } else {
        const proto = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) fail(`not a plain object (${proto?.constructor?.name ?? "unknown"})`, walk);
        if (Object.getOwnPropertySymbols(value).length !== 0) fail("object has symbol keys", walk);
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record).sort(); // default sort compares UTF-16 code units
        out = "{";
        let first = true;
        for (const key of keys) {
          const member = record[key];
          if (member === undefined) continue;
          if (!first) out += ",";
          first = false;
          walk.path.push(key);
          out += serializeString(key, walk);
          out += ":";
          out += serialize(member, walk);
          walk.path.pop();
        }
        out += "}";
      }
      walk.ancestors.delete(value);
      return out;
    }
    default:
      return fail(`${typeof value} is not a JSON value`, walk);
  }
}

/**
 * Serializes `value` as RFC 8785 canonical JSON.
 *
 * @throws {CanonicalizeError} if `value` is not representable in I-JSON.
 * @example
 * ```ts
 * canonicalize({ b: [1e21, -0, 0.1], a: "€\n" }); // '{"a":"€\\n","b":[1e+21,0,0.1]}'
 * ```
 */
export function canonicalize(value: unknown): string {
  return serialize(value, { ancestors: new Set(), path: [] });
}

/**
 * The UTF-8 bytes of `canonicalize(value)`.
 *
 * @throws {CanonicalizeError}
 * @example
 * ```ts
 * canonicalBytes({ v: 1 }); // Uint8Array of '{"v":1}'
 * ```
 */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8.encode(canonicalize(value));
}

/**
 * Parses UTF-8 JSON bytes that must already be in RFC 8785 canonical form.
 *
 * @throws {NonCanonicalJsonError} on invalid UTF-8 (or a BOM), invalid JSON, or
 *   any byte that differs from the canonical serialization of the parsed value
 *   (whitespace, key order, duplicate keys, number or string spelling).
 * @example
 * ```ts
 * import type { NonCanonicalJsonError } from "./errors.js";
 * parseCanonical(new TextEncoder().encode('{"a":1}')); // { a: 1 }
 * try {
 *   parseCanonical(new TextEncoder().encode('{"a":1.0}'));
 * } catch (err) {
 *   (err as NonCanonicalJsonError).code; // "NON_CANONICAL_JSON"
 * }
 * ```
 */
export function parseCanonical(bytes: Uint8Array): JsonValue {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch (cause) {
    throw new NonCanonicalJsonError("invalid UTF-8", { cause });
  }
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (cause) {
    throw new NonCanonicalJsonError("invalid JSON", { cause });
  }
  let canonical: string;
  try {
    canonical = canonicalize(value);
  } catch (cause) {
    throw new NonCanonicalJsonError("value outside I-JSON", { cause });
  }
  if (canonical !== text) {
    let at = 0;
    while (at < text.length && text.charCodeAt(at) === canonical.charCodeAt(at)) at++;
    throw new NonCanonicalJsonError(`differs from the canonical form at character ${at}`, { details: { at } });
  }
  return value;
}

/**
 * Are `bytes` exactly the RFC 8785 canonical UTF-8 serialization of some JSON value?
 *
 * @example
 * ```ts
 * const enc = new TextEncoder();
 * isCanonical(enc.encode('{"a":1,"b":[true]}')); // true
 * isCanonical(enc.encode('{"b":1,"a":2}')); // false (key order)
 * isCanonical(enc.encode('{"a": 1}')); // false (whitespace)
 * ```
 */
export function isCanonical(bytes: Uint8Array): boolean {
  try {
    parseCanonical(bytes);
    return true;
  } catch {
    return false;
  }
}
