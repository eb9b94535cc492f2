/**
 * Device signature checks for both schemes, exactly as the contracts make them: secp256k1 by
 * recovering the key and comparing it with the registered one, P-256 by SEC 1 ECDSA verification.
 * oracle/core/keys.ts re-exports everything here; this module imports neither viem nor keccak,
 * so the verifier's signature workers (oracle/verifier/signature-worker.ts) load only it.
 *
 * - Public keys are 64 bytes `x ‖ y` (uncompressed, no `0x04`); digests 32 bytes, not hashed again.
 * - secp256k1 signatures: 65 bytes `r ‖ s ‖ v`, `v` ∈ {27, 28}; P-256: 64 bytes `r ‖ s`.
 *   Both low-s (`s ≤ n/2`), as OpenZeppelin's `ECDSA` and `P256` require on-chain.
 *
 * secp256k1 verification recovers the key with the native `secp256k1` addon (libsecp256k1; noble
 * as fallback if the addon cannot load, e.g. in a browser) and compares it with the registered key.
 * P-256 verification is SEC 1 ECDSA over the raw 32-byte digest with OpenSSL (node:crypto) doing
 * the scalar multiplications through its ECDH interface. (`crypto.verify` cannot be used: for ECDSA
 * it always hashes its input with SHA-256 first, while the device signs the EIP-712 digest itself,
 * as OZ's `P256.verify` and the RIP-7212 precompile expect.)
 *
 * @module
 */
import { createECDH } from "node:crypto";

import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";

import { bytesToHex, compareBytes, toBytes, type BytesLike } from "./bytes.js";
import { InvalidArgumentError, InvalidKeyError } from "./errors.js";
import { secp256k1Native as native } from "./secp256k1-native.js";

/** Key scheme of a device. */
export type KeyScheme = "secp256k1" | "p256";

/** Parameters of {@link verifyDeviceSignature}. */
export type VerifyDeviceSignatureParameters = {
  scheme: KeyScheme;
  /** 64 bytes `x ‖ y`. */
  publicKey: BytesLike;
  /** The 32-byte digest that was signed (e.g. a Reading's EIP-712 digest). */
  digest: BytesLike;
  /** 65 bytes `r ‖ s ‖ v` (secp256k1) or 64 bytes `r ‖ s` (P-256). */
  signature: BytesLike;
};

const K1_N = secp256k1.Point.Fn.ORDER;
const P256 = p256.Point;
const P256_FN = P256.Fn;
const P256_N = P256_FN.ORDER;
const P256_HALF_N = P256_N >> 1n;

const P256_FP = P256.Fp;
const P256_P = P256_FP.ORDER;
const P256_A = P256.CURVE().a;
const P256_B = P256.CURVE().b;
/** Reused OpenSSL P-256 context for the two scalar multiplications of a verification. */
const ecdh = createECDH("prime256v1");

const be = (bytes: Uint8Array): bigint => BigInt(bytesToHex(bytes));
const scalarBytes = (x: bigint): Buffer => Buffer.from(x.toString(16).padStart(64, "0"), "hex");

/** secp256k1's n and n/2 as 32 big-endian bytes: r and s are range-checked on the signature's bytes. */
const K1_N_BYTES = new Uint8Array(scalarBytes(K1_N));
const K1_HALF_N_BYTES = new Uint8Array(scalarBytes(K1_N >> 1n));

function isZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * The 32 bytes of a digest given as bytes or hex.
 *
 * @throws {InvalidArgumentError} if it is not 32 bytes.
 * @example
 * ```ts
 * digestBytes(`0x${"ab".repeat(32)}`).length; // 32
 * ```
 */
export function digestBytes(digest: BytesLike): Uint8Array {
  try {
    return toBytes(digest, 32, "digest");
  } catch {
    throw new InvalidArgumentError("digest", "must be 32 bytes");
  }
}

const recovered = new Uint8Array(65);

function verifySecp256k1(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 65) return false;
  const v = sig[64];
  if (v !== 27 && v !== 28) return false;
  const r = sig.subarray(0, 32);
  const s = sig.subarray(32, 64);
  if (isZero(r) || compareBytes(r, K1_N_BYTES) >= 0 || isZero(s) || compareBytes(s, K1_HALF_N_BYTES) > 0) return false;
  if (native === undefined) {
    const noble = new Uint8Array(65);
    noble[0] = v - 27;
    noble.set(sig.subarray(0, 64), 1);
    const pub65 = new Uint8Array(65);
    pub65[0] = 4;
    pub65.set(pub, 1);
    return secp256k1.verify(noble, msg, pub65, { prehash: false, lowS: true, format: "recovered" });
  }
  try {
    native.ecdsaRecover(sig.subarray(0, 64), v - 27, msg, false, recovered);
  } catch {
    return false; // not a valid signature: no key recovers from it
  }
  for (let i = 0; i < 64; i++) if (recovered[i + 1] !== pub[i]) return false;
  return true;
}

/** A P-256 check whose encoding passed: public key Q on the curve, e = digest mod n, r and s in range (low s). */
interface P256Check {
  qx: bigint;
  qy: bigint;
  e: bigint;
  r: bigint;
  s: bigint;
}

/** Parses and range-checks a P-256 check; undefined when it cannot verify (length, r, s, high s, Q off the curve). */
function p256Check(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): P256Check | undefined {
  if (sig.length !== 64) return undefined;
  const r = be(sig.subarray(0, 32));
  const s = be(sig.subarray(32, 64));
  if (r === 0n || r >= P256_N || s === 0n || s > P256_HALF_N) return undefined;
  // Public key Q: coordinates in the field and on the curve y² = x³ − 3x + b.
  const qx = be(pub.subarray(0, 32));
  const qy = be(pub.subarray(32, 64));
  const F = P256_FP;
  if (qx >= P256_P || qy >= P256_P) return undefined;
  if (F.sqr(qy) !== F.add(F.sub(F.mul(F.sqr(qx), qx), F.mul(3n, qx)), P256_B)) return undefined;
  return { qx, qy, e: P256_FN.create(be(msg)), r, s };
}

/**
 * Affine sum of two P-256 points given as (x, y), or undefined for the point at infinity.
 * Complete for affine inputs: handles P = Q (doubling) and P = −Q. `invDx`, when given, is
 * 1 / (x2 − x1) (x1 ≠ x2), computed by the caller together with others (one inversion for many).
 */
function p256Add(x1: bigint, y1: bigint, x2: bigint, y2: bigint, invDx?: bigint): [bigint, bigint] | undefined {
  const F = P256_FP;
  let lambda: bigint;
  if (x1 === x2) {
    if (y1 !== y2 || y1 === 0n) return undefined; // P + (−P)
    lambda = F.div(F.add(F.mul(3n, F.sqr(x1)), P256_A), F.mul(2n, y1)); // doubling
  } else lambda = F.mul(F.sub(y2, y1), invDx ?? F.inv(F.sub(x2, x1)));
  const x3 = F.sub(F.sub(F.sqr(lambda), x1), x2);
  const y3 = F.sub(F.mul(lambda, F.sub(x1, x3)), y1);
  return [x3, y3];
}

// SEC 1 §4.1.4: valid iff x(u1·G + u2·Q) ≡ r (mod n), with e = digest mod n, u1 = e/s, u2 = r/s.
// Rewritten as u2·(Q + (e/r)·G), so OpenSSL does both scalar multiplications: (e/r)·G as an ECDH
// public key (full point), then u2·T as an ECDH shared secret (its x coordinate). Both 1/r and 1/s
// come from one inversion, 1/(r·s).

/** (e/r)·G for a check with e ≠ 0, given 1/(r·s): OpenSSL's fixed-base multiplication. */
function p256EOverRG(c: P256Check, invRS: bigint): [bigint, bigint] {
  ecdh.setPrivateKey(scalarBytes(P256_FN.mul(P256_FN.mul(c.e, c.s), invRS))); // e/r
  const a = ecdh.getPublicKey(); // 0x04 ‖ x ‖ y
  return [be(a.subarray(1, 33)), be(a.subarray(33, 65))];
}

/** Whether x(u2·T) ≡ r, u2 = r/s, for T = Q + (e/r)·G (undefined: the point at infinity, invalid). */
function p256Finish(c: P256Check, invRS: bigint, t: [bigint, bigint] | undefined): boolean {
  if (t === undefined) return false; // R is the point at infinity
  const N = P256_FN;
  const tBytes = Buffer.alloc(65);
  tBytes[0] = 4;
  tBytes.write(t[0].toString(16).padStart(64, "0"), 1, "hex");
  tBytes.write(t[1].toString(16).padStart(64, "0"), 33, "hex");
  ecdh.setPrivateKey(scalarBytes(N.mul(N.mul(c.r, c.r), invRS))); // u2 = r/s
  const rx = be(ecdh.computeSecret(tBytes)); // x(u2·T), never the point at infinity for a prime-order T ≠ O and u2 ≠ 0
  return N.create(rx) === c.r;
}

function verifyP256(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  const c = p256Check(pub, msg, sig);
  if (c === undefined) return false;
  const invRS = P256_FN.inv(P256_FN.mul(c.r, c.s));
  if (c.e === 0n) return p256Finish(c, invRS, [c.qx, c.qy]);
  const [ax, ay] = p256EOverRG(c, invRS);
  return p256Finish(c, invRS, p256Add(c.qx, c.qy, ax, ay));
}

/**
 * The same answers as {@link verifyP256} for many checks, with the two modular inversions of each
 * (1/(r·s) mod n, and the point addition's 1/(x2 − x1) mod p) shared by all of them through
 * Montgomery's trick: one inversion per batch instead of two per check.
 */
function verifyP256Batch(checks: readonly P256Check[]): boolean[] {
  const invRS = P256_FN.invertBatch(checks.map((c) => P256_FN.mul(c.r, c.s)));
  const a = checks.map((c, i) => (c.e === 0n ? undefined : p256EOverRG(c, invRS[i])));
  // Additions with x1 ≠ x2 share one inversion; the rare doubling or P + (−P) goes through p256Add alone.
  const general = checks.flatMap((c, i) => (a[i] !== undefined && a[i][0] !== c.qx ? [i] : []));
  const invDx = P256_FP.invertBatch(general.map((i) => P256_FP.sub((a[i] as [bigint, bigint])[0], checks[i].qx)));
  const invDxOf = new Map(general.map((i, k) => [i, invDx[k]]));
  return checks.map((c, i) => {
    const ai = a[i];
    if (ai === undefined) return p256Finish(c, invRS[i], [c.qx, c.qy]);
    return p256Finish(c, invRS[i], p256Add(c.qx, c.qy, ai[0], ai[1], invDxOf.get(i)));
  });
}

/**
 * Verifies a device signature over a 32-byte digest for the device's scheme,
 * with the checks the contracts make: exact length, `r` and `s` in range,
 * low-s, and (secp256k1) `v` ∈ {27, 28}. A malformed or non-verifying
 * signature gives `false`.
 *
 * @throws {InvalidKeyError} if `publicKey` is not 64 bytes or the scheme is unknown.
 * @throws {InvalidArgumentError} if `digest` is not 32 bytes.
 * @example
 * ```ts
 * import { generatePrivateKey, publicKeyFromPrivate, signDigest } from "./keys.js";
 * const priv = generatePrivateKey("secp256k1");
 * const digest = new Uint8Array(32).fill(9);
 * verifyDeviceSignature({
 *   scheme: "secp256k1",
 *   publicKey: publicKeyFromPrivate("secp256k1", priv),
 *   digest,
 *   signature: signDigest("secp256k1", priv, digest),
 * }); // true
 * ```
 */
export function verifyDeviceSignature({ scheme, publicKey, digest, signature }: VerifyDeviceSignatureParameters): boolean {
  let pub: Uint8Array;
  try {
    pub = toBytes(publicKey, 64, "public key");
  } catch (cause) {
    throw new InvalidKeyError("public key must be 64 bytes x ‖ y", { cause });
  }
  const msg = digestBytes(digest);
  let sig: Uint8Array;
  try {
    sig = toBytes(signature);
  } catch {
    return false;
  }
  if (scheme === "secp256k1") return verifySecp256k1(pub, msg, sig);
  if (scheme === "p256") return verifyP256(pub, msg, sig);
  throw new InvalidKeyError(`unknown key scheme ${String(scheme)}`);
}

/**
 * {@link verifyDeviceSignature} for many checks at once, answering each in order: `true` where it
 * verifies, `false` where it does not or is malformed (public key or digest of the wrong length,
 * unknown scheme — where the single check throws). The P-256 checks share their modular inversions
 * (one per batch, not two per check), which makes each about a third cheaper; secp256k1 checks are
 * the single check's native recovery.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, publicKeyFromPrivate, signDigest } from "./keys.js";
 * const priv = generatePrivateKey("p256");
 * const digest = new Uint8Array(32).fill(9);
 * const good = { scheme: "p256" as const, publicKey: publicKeyFromPrivate("p256", priv), digest, signature: signDigest("p256", priv, digest) };
 * verifyDeviceSignatures([good, { ...good, digest: new Uint8Array(32).fill(8) }]); // [true, false]
 * ```
 */
export function verifyDeviceSignatures(checks: readonly VerifyDeviceSignatureParameters[]): boolean[] {
  const ok = new Array<boolean>(checks.length).fill(false);
  const p256Checks: P256Check[] = [];
  const p256At: number[] = [];
  checks.forEach(({ scheme, publicKey, digest, signature }, i) => {
    let pub: Uint8Array, msg: Uint8Array, sig: Uint8Array;
    try {
      pub = toBytes(publicKey, 64, "public key");
      msg = toBytes(digest, 32, "digest");
      sig = toBytes(signature);
    } catch {
      return; // malformed: does not verify
    }
    if (scheme === "secp256k1") ok[i] = verifySecp256k1(pub, msg, sig);
    else if (scheme === "p256") {
      const c = p256Check(pub, msg, sig);
      if (c === undefined) return;
      p256Checks.push(c);
      p256At.push(i);
    }
  });
  verifyP256Batch(p256Checks).forEach((valid, k) => (ok[p256At[k]] = valid));
  return ok;
}
