/**
 * The native libsecp256k1 addon (the `secp256k1` package's bindings), when it loads: signing in
 * keys.ts and recovery in signature-verify.ts use it, with `@noble/curves` as the fallback (in a
 * browser, `node:module` is a stand-in whose `require` finds nothing, so the fallback runs there).
 *
 * @module
 */
import { createRequire } from "node:module";

/** The two calls of the addon the core makes. */
export interface NativeSecp256k1 {
  ecdsaSign(msg32: Uint8Array, seckey: Uint8Array): { signature: Uint8Array; recid: number };
  ecdsaRecover(sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean, output: Uint8Array): Uint8Array;
}

const require = createRequire(import.meta.url);

/**
 * The addon, or undefined where it cannot load (no build for this platform, a browser).
 *
 * @example
 * ```ts
 * if (secp256k1Native !== undefined) secp256k1Native.ecdsaSign(new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)).recid; // 0 or 1
 * ```
 */
export const secp256k1Native: NativeSecp256k1 | undefined = (() => {
  try {
    return require("secp256k1/bindings.js") as NativeSecp256k1;
  } catch {
    return undefined;
  }
})();

/** Whether secp256k1 runs on the native libsecp256k1 addon (else on noble, ~20× slower). */
export const SECP256K1_NATIVE: boolean = secp256k1Native !== undefined;
