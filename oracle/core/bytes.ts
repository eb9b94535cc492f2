/**
 * Thin, fast byte helpers: hex ↔ bytes, concat, equality, comparison.
 *
 * Hex strings are always `0x`-prefixed; output is lowercase. Functions return
 * plain `Uint8Array`s (never a Node `Buffer`, never a view into a shared pool).
 *
 * @module
 */
import { randomFillSync } from "node:crypto";
import type { Hex } from "viem";

import { InvalidHexError, InvalidLengthError } from "./errors.js";

/** Bytes given either as a `Uint8Array` or as `0x`-prefixed hex. */
export type BytesLike = Uint8Array | Hex;

const bufferView = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Is `value` a `0x`-prefixed hex string with an even number of digits (and, if
 * given, exactly `bytes` bytes long)?
 *
 * @example
 * ```ts
 * isHex("0x00ff"); // true
 * isHex("0x0", { bytes: 1 }); // false
 * ```
 */
export function isHex(value: unknown, options: { bytes?: number } = {}): value is Hex {
  if (typeof value !== "string" || value.length % 2 !== 0 || value.charCodeAt(0) !== 48 || value.charCodeAt(1) !== 120) return false;
  if (options.bytes !== undefined && value.length !== 2 + 2 * options.bytes) return false;
  return /^0x[0-9a-fA-F]*$/.test(value);
}

/**
 * Decodes `0x`-prefixed hex (either case) into bytes.
 *
 * @param expectedBytes - if given, the decoded length must be exactly this.
 * @throws {InvalidHexError} if `hex` is not even-length `0x` hex of the expected length.
 * @example
 * ```ts
 * hexToBytes("0x01ff"); // Uint8Array [1, 255]
 * ```
 */
export function hexToBytes(hex: string, expectedBytes?: number): Uint8Array {
  if (typeof hex !== "string" || hex.length % 2 !== 0 || hex.charCodeAt(0) !== 48 || hex.charCodeAt(1) !== 120)
    throw new InvalidHexError(hex, expectedBytes);
  const n = (hex.length - 2) >>> 1;
  if (expectedBytes !== undefined && n !== expectedBytes) throw new InvalidHexError(hex, expectedBytes);
  const out = new Uint8Array(n);
  // Buffer#write stops at the first non-hex pair, so a short count means bad input.
  if (n !== 0 && bufferView(out).write(hex.slice(2), 0, n, "hex") !== n) throw new InvalidHexError(hex, expectedBytes);
  return out;
}

/**
 * Encodes bytes as lowercase `0x`-prefixed hex.
 *
 * @example
 * ```ts
 * bytesToHex(new Uint8Array([1, 255])); // "0x01ff"
 * ```
 */
export function bytesToHex(bytes: Uint8Array): Hex {
  return `0x${bufferView(bytes).toString("hex")}`;
}

/**
 * Returns `value` as bytes: a `Uint8Array` is returned as is, hex is decoded.
 *
 * @param expectedBytes - if given, the length must be exactly this.
 * @throws {InvalidHexError | InvalidLengthError}
 * @example
 * ```ts
 * toBytes("0xabcd", 2); // Uint8Array [171, 205]
 * ```
 */
export function toBytes(value: BytesLike, expectedBytes?: number, what = "bytes"): Uint8Array {
  if (value instanceof Uint8Array) {
    if (expectedBytes !== undefined && value.length !== expectedBytes) throw new InvalidLengthError(what, expectedBytes, value.length);
    return value;
  }
  return hexToBytes(value, expectedBytes);
}

/**
 * Concatenates byte arrays into a new `Uint8Array`.
 *
 * @example
 * ```ts
 * concatBytes(new Uint8Array([1]), new Uint8Array([2, 3])); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(...arrays: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const a of arrays) length += a.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const a of arrays) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

/**
 * Byte-wise equality.
 *
 * @example
 * ```ts
 * equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])); // true
 * ```
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Lexicographic comparison of unsigned bytes (for equal lengths: big-endian
 * numeric order, as `@openzeppelin/merkle-tree` and `MerkleProof.sol` sort).
 *
 * @returns -1, 0 or 1.
 * @example
 * ```ts
 * compareBytes(new Uint8Array([1]), new Uint8Array([2])); // -1
 * ```
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): -1 | 0 | 1 {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Cryptographically secure random bytes.
 *
 * @example
 * ```ts
 * randomBytes(16).length; // 16
 * ```
 */
export function randomBytes(length: number): Uint8Array {
  return randomFillSync(new Uint8Array(length));
}
