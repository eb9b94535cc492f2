/**
 * Signing a 32-byte digest with a device or service key, for both schemes: deterministic (RFC 6979)
 * and low-s, secp256k1 on the native libsecp256k1 addon when it loads. Imports neither viem nor
 * keccak, so the services' signature workers load only this and ./signature-verify.ts; keys.ts
 * re-exports `signDigest`.
 *
 * @module
 */
import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";

import { toBytes, type BytesLike } from "./bytes.js";
import { InvalidKeyError } from "./errors.js";
import { secp256k1Native as native } from "./secp256k1-native.js";
import { digestBytes, type KeyScheme } from "./signature-verify.js";

/** The noble curve of a scheme. @throws {InvalidKeyError} on an unknown scheme. */
export const curveOf = (scheme: KeyScheme) => {
  if (scheme === "secp256k1") return secp256k1;
  if (scheme === "p256") return p256;
  throw new InvalidKeyError(`unknown key scheme ${String(scheme)}`);
};

/** A private key's 32 bytes, checked to be a valid scalar of the scheme. @throws {InvalidKeyError} */
export function privateKeyBytes(scheme: KeyScheme, privateKey: BytesLike): Uint8Array {
  let priv: Uint8Array;
  try {
    priv = toBytes(privateKey, 32, "private key");
  } catch (cause) {
    throw new InvalidKeyError("private key must be 32 bytes", { cause });
  }
  if (!curveOf(scheme).utils.isValidSecretKey(priv)) throw new InvalidKeyError(`private key out of range for ${scheme}`);
  return priv;
}

/**
 * Signs a 32-byte digest (no further hashing), deterministic and low-s:
 * 65 bytes `r ‖ s ‖ v` (v = 27 or 28) for secp256k1, 64 bytes `r ‖ s` for P-256.
 *
 * @throws {InvalidKeyError | InvalidArgumentError}
 * @example
 * ```ts
 * const priv = generatePrivateKey("p256");
 * signDigest("p256", priv, new Uint8Array(32).fill(1)).length; // 64
 * ```
 */
export function signDigest(scheme: KeyScheme, privateKey: BytesLike, digest: BytesLike): Uint8Array {
  const priv = privateKeyBytes(scheme, privateKey);
  const msg = digestBytes(digest);
  if (scheme === "secp256k1") {
    if (native !== undefined) {
      // libsecp256k1: RFC 6979 nonces and low-s, like noble, ~20× faster (the relayer signs a receipt per reading).
      const { signature, recid } = native.ecdsaSign(msg, priv);
      const out = new Uint8Array(65);
      out.set(signature, 0);
      out[64] = 27 + recid;
      return out;
    }
    const rec = secp256k1.sign(msg, priv, { prehash: false, lowS: true, format: "recovered" }); // recovery ‖ r ‖ s
    const out = new Uint8Array(65);
    out.set(rec.subarray(1, 65), 0);
    out[64] = 27 + rec[0];
    return out;
  }
  curveOf(scheme);
  return p256.sign(msg, priv, { prehash: false, lowS: true, format: "compact" });
}
