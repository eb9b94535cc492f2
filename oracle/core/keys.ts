/**
 * Device keys and signatures for both schemes.
 *
 * - Public keys are always 64 bytes `x ‖ y` (uncompressed, no `0x04`).
 * - Device id = last 20 bytes of `keccak256(x ‖ y)`, checksummed, for both schemes
 *   (for secp256k1 that is the Ethereum address).
 * - secp256k1 signatures: 65 bytes `r ‖ s ‖ v`, `v` ∈ {27, 28}; P-256: 64 bytes `r ‖ s`.
 *   Both low-s (`s ≤ n/2`), as OpenZeppelin's `ECDSA` and `P256` require on-chain.
 *
 * Signing and key generation use `@noble/curves` (RFC 6979 deterministic `k`); secp256k1 signing
 * uses the native `secp256k1` addon (libsecp256k1) when it loads. Signing (`signDigest`, ./signing.ts)
 * and the checks (`verifyDeviceSignature`, `verifyDeviceSignatures`, ./signature-verify.ts) live in
 * modules that import neither viem nor keccak (the signature workers load only those), and are
 * re-exported here.
 *
 * @module
 */
import { getAddress, type Address } from "viem";

import { bytesToHex, toBytes, type BytesLike } from "./bytes.js";
import { InvalidKeyError } from "./errors.js";
import { keccak256 } from "./keccak.js";
import { curveOf, privateKeyBytes } from "./signing.js";
import type { KeyScheme } from "./signature-verify.js";

export { SECP256K1_NATIVE } from "./secp256k1-native.js";
export { signDigest } from "./signing.js";
export { verifyDeviceSignature, verifyDeviceSignatures, type KeyScheme, type VerifyDeviceSignatureParameters } from "./signature-verify.js";

/** Key schemes in the order of the Solidity `enum KeyScheme { Secp256k1, P256 }`. */
export const KEY_SCHEMES = ["secp256k1", "p256"] as const satisfies readonly KeyScheme[];

/**
 * Solidity `KeyScheme` value of a scheme: secp256k1 → 0, p256 → 1.
 *
 * @throws {InvalidKeyError} on an unknown scheme.
 * @example
 * ```ts
 * keySchemeId("p256"); // 1
 * ```
 */
export function keySchemeId(scheme: KeyScheme): 0 | 1 {
  if (scheme === "secp256k1") return 0;
  if (scheme === "p256") return 1;
  throw new InvalidKeyError(`unknown key scheme ${String(scheme)}`);
}

/**
 * Scheme of a Solidity `KeyScheme` value (0 → secp256k1, 1 → p256).
 *
 * @throws {InvalidKeyError} on any other value.
 * @example
 * ```ts
 * keySchemeFromId(0); // "secp256k1"
 * ```
 */
export function keySchemeFromId(id: number | bigint): KeyScheme {
  if (id === 0 || id === 0n) return "secp256k1";
  if (id === 1 || id === 1n) return "p256";
  throw new InvalidKeyError(`unknown key scheme id ${String(id)}`);
}

/**
 * Device id of a 64-byte public key: last 20 bytes of `keccak256(x ‖ y)`, checksummed.
 *
 * @throws {InvalidLengthError | InvalidHexError} if the key is not 64 bytes.
 * @example
 * ```ts
 * const priv = generatePrivateKey("p256");
 * deviceIdFromPublicKey(publicKeyFromPrivate("p256", priv)); // "0x…" (checksummed)
 * ```
 */
export function deviceIdFromPublicKey(publicKey: BytesLike): Address {
  const pub = toBytes(publicKey, 64, "public key");
  return getAddress(bytesToHex(keccak256(pub).subarray(12)));
}

/**
 * A fresh random private key (32 bytes) for the scheme.
 *
 * @example
 * ```ts
 * generatePrivateKey("secp256k1").length; // 32
 * ```
 */
export function generatePrivateKey(scheme: KeyScheme): Uint8Array {
  return curveOf(scheme).utils.randomSecretKey();
}

/**
 * The 64-byte public key `x ‖ y` of a private key.
 *
 * @throws {InvalidKeyError} if the private key is not a valid scalar for the scheme.
 * @example
 * ```ts
 * publicKeyFromPrivate("secp256k1", generatePrivateKey("secp256k1")).length; // 64
 * ```
 */
export function publicKeyFromPrivate(scheme: KeyScheme, privateKey: BytesLike): Uint8Array {
  const priv = privateKeyBytes(scheme, privateKey);
  return curveOf(scheme).getPublicKey(priv, false).slice(1);
}

/**
 * Expected signature length of a scheme: 65 (secp256k1) or 64 (P-256).
 *
 * @example
 * ```ts
 * signatureLength("p256"); // 64
 * ```
 */
export function signatureLength(scheme: KeyScheme): 64 | 65 {
  if (scheme === "secp256k1") return 65;
  if (scheme === "p256") return 64;
  throw new InvalidKeyError(`unknown key scheme ${String(scheme)}`);
}
