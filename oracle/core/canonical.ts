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

/** A string's run of characters that stand for themselves (no quote, no escape). */
const STRING_RUN = /[^"\\]*/y;
/** A JSON number token. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
/** The `\u00xx` escapes JSON.stringify writes (after the backslash): controls without a short form, lowercase hex. */
const CONTROL_ESCAPE = /u00(?:0[0-7bef]|1[0-9a-f])/y;

/** Where and why a text is not canonical. */
type Spelling = { at: number; reason: string };

/**
 * Deeper nesting is checked by re-serializing instead (canonicalize, whose recursion refuses
 * what it cannot serialize, as parseCanonical always did): the scan gives the same answers.
 */
const MAX_SCAN_DEPTH = 256;
const DEEPER: Spelling = { at: -1, reason: "nested deeper than the scan goes" };

/**
 * In-place canonical check of valid JSON text (JSON.parse accepted it): each token must be spelled
 * as {@link canonicalize} writes the value it parses to, with nothing between tokens. One pass over
 * the text, no re-serialization; iterative (any depth).
 */
class CanonicalScan {
  #i = 0;
  /** Open containers: for an object, its last key's token [start, end) and whether it has escapes (start −1: none yet); −2: an array. */
  readonly #keyStart: number[] = [];
  readonly #keyEnd: number[] = [];
  readonly #keyEscaped: boolean[] = [];
  /** Whether the last string token scanned had an escape. */
  #escaped = false;

  constructor(private readonly text: string) {}

  /** The first place where the text differs from canonicalize(JSON.parse(text)), or undefined when it is canonical. */
  firstDifference(): Spelling | undefined {
    const { text } = this;
    for (;;) {
      // A value at #i.
      const c = text.charCodeAt(this.#i);
      if (c === 0x7b || c === 0x5b) {
        // { or [: an empty one is a value; else its first member or element follows.
        if (text.charCodeAt(this.#i + 1) === (c === 0x7b ? 0x7d : 0x5d)) this.#i += 2;
        else {
          if (this.#keyStart.length === MAX_SCAN_DEPTH) return DEEPER;
          this.#keyStart.push(c === 0x7b ? -1 : -2);
          this.#keyEnd.push(0);
          this.#keyEscaped.push(false);
          this.#i++;
          const wrong = c === 0x7b ? this.#memberKey() : undefined;
          if (wrong !== undefined) return wrong;
          continue;
        }
      } else {
        const wrong = this.#scalar(c);
        if (wrong !== undefined) return wrong;
      }
      // After a value: `,` and the next member or element, or closing brackets, or the end.
      for (;;) {
        const depth = this.#keyStart.length;
        if (depth === 0) return this.#i === text.length ? undefined : { at: this.#i, reason: "whitespace" };
        const d = text.charCodeAt(this.#i++);
        if (d === 0x2c) {
          const wrong = this.#keyStart[depth - 1] === -2 ? undefined : this.#memberKey();
          if (wrong !== undefined) return wrong;
          break;
        }
        if (d !== 0x7d && d !== 0x5d) return { at: this.#i - 1, reason: "whitespace" };
        this.#keyStart.pop();
        this.#keyEnd.pop();
        this.#keyEscaped.pop();
      }
    }
  }

  /** A string, number or literal at #i (first character `c`). */
  #scalar(c: number): Spelling | undefined {
    const { text } = this;
    const i = this.#i;
    if (c === 0x22) return this.#string();
    if (c === 0x74 || c === 0x6e)
      this.#i += 4; // true, null
    else if (c === 0x66)
      this.#i += 5; // false
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      NUMBER.test(text);
      const token = text.slice(i, NUMBER.lastIndex);
      // As canonicalize writes it: ES Number::toString of the parsed value (which also refuses 1e400 → Infinity).
      if (String(Number(token)) !== token) return { at: i, reason: `number ${token} not in canonical form` };
      this.#i = NUMBER.lastIndex;
    } else return { at: i, reason: "whitespace" };
    return undefined;
  }

  /**
   * The string token at #i, moving past it; the first escape JSON.stringify would not write is an
   * error (it writes only `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t` and `\u00xx` for the other
   * controls). Raw text holds no lone surrogate (it was decoded from strict UTF-8); an escaped one
   * is refused here, as canonicalize refuses it.
   */
  #string(): Spelling | undefined {
    const { text } = this;
    let j = this.#i + 1;
    this.#escaped = false;
    for (;;) {
      STRING_RUN.lastIndex = j;
      STRING_RUN.test(text);
      j = STRING_RUN.lastIndex;
      if (text.charCodeAt(j) === 0x22) break; // the closing quote
      this.#escaped = true;
      const e = text.charCodeAt(j + 1);
      if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) j += 2;
      else {
        CONTROL_ESCAPE.lastIndex = j + 1;
        if (!CONTROL_ESCAPE.test(text)) return { at: j, reason: "escape not in canonical form" };
        j += 6;
      }
    }
    this.#i = j + 1;
    return undefined;
  }

  /** The member key at #i of the innermost object, after its predecessor's, and its `:`. */
  #memberKey(): Spelling | undefined {
    const start = this.#i;
    if (this.text.charCodeAt(start) !== 0x22) return { at: start, reason: "whitespace" };
    const wrong = this.#string();
    if (wrong !== undefined) return wrong;
    const top = this.#keyStart.length - 1;
    if (this.#keyStart[top] !== -1 && !this.#keyBefore(top, start, this.#i, this.#escaped))
      return { at: start, reason: "keys not in ascending order (or repeated)" };
    this.#keyStart[top] = start;
    this.#keyEnd[top] = this.#i;
    this.#keyEscaped[top] = this.#escaped;
    if (this.text.charCodeAt(this.#i) !== 0x3a) return { at: this.#i, reason: "whitespace" }; // :
    this.#i++;
    return undefined;
  }

  /** Whether the last key of container `top` sorts strictly before the key token [b0, b1) (UTF-16 code units). */
  #keyBefore(top: number, b0: number, b1: number, bEscaped: boolean): boolean {
    const { text } = this;
    const a0 = this.#keyStart[top];
    const a1 = this.#keyEnd[top];
    if (this.#keyEscaped[top] || bEscaped) return (JSON.parse(text.slice(a0, a1)) as string) < (JSON.parse(text.slice(b0, b1)) as string);
    // Neither has an escape: compare the characters between the quotes.
    const n = Math.min(a1 - a0, b1 - b0) - 1;
    for (let k = 1; k < n; k++) {
      const d = text.charCodeAt(a0 + k) - text.charCodeAt(b0 + k);
      if (d !== 0) return d < 0;
    }
    return a1 - a0 < b1 - b0;
  }
}

/**
 * Parses UTF-8 JSON bytes that must already be in RFC 8785 canonical form.
 *
 * The bytes are parsed with `JSON.parse` and then checked in place, token by token, against what
 * {@link canonicalize} would write for the value (no re-serialization): the same answers as
 * comparing `canonicalize(JSON.parse(text))` with the text.
 *
 * @throws {NonCanonicalJsonError} on invalid UTF-8 (or a BOM), invalid JSON, or
 *   any byte that differs from the canonical serialization of the parsed value
 *   (whitespace, key order, duplicate keys, number or string spelling, a number
 *   out of range, an escaped lone surrogate); `details.at` is the character where.
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
  const wrong = new CanonicalScan(text).firstDifference();
  if (wrong === DEEPER) {
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
  } else if (wrong !== undefined)
    throw new NonCanonicalJsonError(`${wrong.reason} at character ${wrong.at}`, { details: { at: wrong.at } });
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
