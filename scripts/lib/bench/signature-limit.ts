/**
 * The per-core signature-check limit, measured in the bench's own run: core's `verifyDeviceSignature`
 * (native libsecp256k1 recovery, OpenSSL P-256) on one thread, for the figures it bounds (ingestion,
 * the verifier) to be read against it.
 *
 * @module
 */
import { generatePrivateKey, publicKeyFromPrivate, signDigest, verifyDeviceSignature, type KeyScheme } from "../../../oracle/core/keys.js";
import { log, results, rows } from "./run.js";
import { fmtNum } from "./util.js";

/** Signature checks per second on one core, per scheme, and the mean of both (the bench devices are half of each). */
export interface SignatureLimit {
  secp256k1: number;
  p256: number;
  /** Checks/s on one core for a half-and-half mix (harmonic mean). */
  mixed: number;
}

function perSecond(scheme: KeyScheme, minMs: number): number {
  const priv = generatePrivateKey(scheme);
  const publicKey = publicKeyFromPrivate(scheme, priv);
  const samples = Array.from({ length: 256 }, (_, i) => {
    const digest = new Uint8Array(32).fill(i + 1);
    return { digest, signature: signDigest(scheme, priv, digest) };
  });
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (const s of samples)
      if (!verifyDeviceSignature({ scheme, publicKey, digest: s.digest, signature: s.signature })) throw new Error("bad");
    n += samples.length;
    elapsed = performance.now() - t0;
  }
  return (n / elapsed) * 1000;
}

/** Measures the limit (about 2 × `minMs`), records it in the results and the table, and returns it. */
export function measureSignatureLimit(minMs = 1500): SignatureLimit {
  perSecond("secp256k1", 100); // warm-up
  perSecond("p256", 100);
  const secp256k1 = perSecond("secp256k1", minMs);
  const p256 = perSecond("p256", minMs);
  const mixed = 2 / (1 / secp256k1 + 1 / p256);
  const limit = { secp256k1, p256, mixed };
  log(`signature-check limit, one core: secp256k1 ${fmtNum(secp256k1)}/s, P-256 ${fmtNum(p256)}/s, half-and-half ${fmtNum(mixed)}/s`);
  results.signatureLimit = { perCore: limit, note: "core's verifyDeviceSignature on the bench's main thread, measured in this run" };
  rows.push({
    section: 0,
    measurement: "Signature-check limit per core (this run): secp256k1 recovery (native) / P-256 (OpenSSL)",
    result: `${fmtNum(secp256k1)} / ${fmtNum(p256)} checks/s`,
    baseline: "half-and-half mix, one core / two cores",
    baselineResult: `${fmtNum(mixed)} / ${fmtNum(2 * mixed)} checks/s`,
    ratio: "—",
  });
  return limit;
}
