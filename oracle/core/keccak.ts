/**
 * Synchronous Keccak-256 on one reused hash-wasm instance.
 *
 * The WebAssembly module is instantiated once, by top-level await when this
 * module is first imported; every call after that is synchronous. Single
 * threaded JavaScript makes sharing the one hasher safe (a call never yields
 * between `init` and `digest`).
 *
 * @module
 */
import { createKeccak } from "hash-wasm";
import type { Hex } from "viem";

import { bytesToHex } from "./bytes.js";

const hasher = await createKeccak(256);

/**
 * Keccak-256 (Ethereum's, not NIST SHA3-256) of `data`.
 *
 * @returns a fresh 32-byte array.
 * @example
 * ```ts
 * import { bytesToHex } from "./bytes.js";
 * bytesToHex(keccak256(new Uint8Array()));
 * // "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
 * ```
 */
export function keccak256(data: Uint8Array): Uint8Array {
  hasher.init();
  hasher.update(data);
  return hasher.digest("binary");
}

/**
 * Keccak-256 of `data`, as lowercase `0x` hex.
 *
 * @example
 * ```ts
 * keccak256Hex(new TextEncoder().encode("abc"));
 * // "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
 * ```
 */
export function keccak256Hex(data: Uint8Array): Hex {
  return bytesToHex(keccak256(data));
}

/**
 * Keccak-256 of the concatenation `a ‖ b`, without building the concatenation.
 *
 * @example
 * ```ts
 * const a = new Uint8Array([1]), b = new Uint8Array([2]);
 * keccak256Concat(a, b); // same bytes as keccak256(new Uint8Array([1, 2]))
 * ```
 */
export function keccak256Concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  hasher.init();
  hasher.update(a);
  hasher.update(b);
  return hasher.digest("binary");
}
