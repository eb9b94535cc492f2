/**
 * The per-core signature-check limit, measured in the bench's own run: core's `verifyDeviceSignatures`
 * on groups of 256 as the services check them (native libsecp256k1 recovery; OpenSSL P-256 with the
 * group's modular inversions shared) on one thread, for the figures it bounds (ingestion,
 * the verifier) to be read against it.
 *
 * @module
 */
import { generatePrivateKey, publicKeyFromPrivate, signDigest, verifyDeviceSignatures, type KeyScheme } from "../../../oracle/core/keys.js";
import { log, results, rows } from "./run.js";
import { fmtNum } from "./util.js";

/** Signature checks per second on one core, per scheme, and the mean of both (the bench devices are half of each). */
export interface SignatureLimit {
  secp256k1: number;
  p256: number;
  /** Checks/s on one core for a half-and-half mix (harmonic mean). */
  mixed: number;
  /** Receipt signatures/s on one core (native secp256k1 signing: the relayer signs one per reading). */
  receiptSigning: number;
  /** Readings/s on one core when each costs a half-and-half check and a receipt signature (the relayer's crypto). */
  relayerCrypto: number;
}

function perSecond(scheme: KeyScheme, minMs: number): number {
  const priv = generatePrivateKey(scheme);
  const publicKey = publicKeyFromPrivate(scheme, priv);
  const samples = Array.from({ length: 256 }, (_, i) => {
    const digest = new Uint8Array(32).fill(i + 1);
    return { scheme, publicKey, digest, signature: signDigest(scheme, priv, digest) };
  });
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    // In groups of 256, as the services' signature pool checks them (P-256 inversions shared).
    if (!verifyDeviceSignatures(samples).every(Boolean)) throw new Error("bad");
    n += samples.length;
    elapsed = performance.now() - t0;
  }
  return (n / elapsed) * 1000;
}

function signaturesPerSecond(minMs: number): number {
  const key = generatePrivateKey("secp256k1");
  const digests = Array.from({ length: 256 }, (_, i) => new Uint8Array(32).fill(i + 1));
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (const digest of digests) signDigest("secp256k1", key, digest);
    n += digests.length;
    elapsed = performance.now() - t0;
  }
  return (n / elapsed) * 1000;
}

/** Measures the limit (about 3 × `minMs`), records it in the results and the table, and returns it. */
export function measureSignatureLimit(minMs = 1500): SignatureLimit {
  perSecond("secp256k1", 100); // warm-up
  perSecond("p256", 100);
  const secp256k1 = perSecond("secp256k1", minMs);
  const p256 = perSecond("p256", minMs);
  const mixed = 2 / (1 / secp256k1 + 1 / p256);
  const receiptSigning = signaturesPerSecond(minMs);
  const relayerCrypto = 1 / (1 / mixed + 1 / receiptSigning);
  const limit = { secp256k1, p256, mixed, receiptSigning, relayerCrypto };
  log(
    `signature-check limit, one core: secp256k1 ${fmtNum(secp256k1)}/s, P-256 ${fmtNum(p256)}/s, half-and-half ${fmtNum(mixed)}/s; receipt signing ${fmtNum(receiptSigning)}/s; a relayer reading's crypto (check + receipt) ${fmtNum(relayerCrypto)}/s`,
  );
  results.signatureLimit = {
    perCore: limit,
    note: "core's verifyDeviceSignatures on groups of 256 on the bench's main thread, measured in this run",
  };
  rows.push({
    section: 0,
    measurement: "Signature-check limit per core (this run): secp256k1 recovery (native) / P-256 (OpenSSL)",
    result: `${fmtNum(secp256k1)} / ${fmtNum(p256)} checks/s`,
    baseline: "half-and-half mix, one core / two cores",
    baselineResult: `${fmtNum(mixed)} / ${fmtNum(2 * mixed)} checks/s`,
    ratio: "—",
  });
  rows.push({
    section: 0,
    measurement:
      "Receipt signing per core (this run, native secp256k1) / a relayer reading's crypto per core (half-and-half check + receipt)",
    result: `${fmtNum(receiptSigning)} signatures/s / ${fmtNum(relayerCrypto)} readings/s`,
    baseline: "a relayer reading's crypto, two cores",
    baselineResult: `${fmtNum(2 * relayerCrypto)} readings/s`,
    ratio: "—",
  });
  return limit;
}
