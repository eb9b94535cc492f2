/**
 * Benchmarks of the core against the reference libraries, measured in the same run:
 * Merkle tree build (this core vs @openzeppelin/merkle-tree), keccak256, EIP-712 digests, and
 * signature verification for both schemes.
 *
 * Run: npx tsx scripts/bench-merkle.ts
 * Env: BENCH_OZ_1M=1 (or BENCH_FULL=1) also builds OZ's tree at 1,000,000 leaves (takes minutes);
 *      BENCH_QUICK=1 only runs the 1e5 tree and shorter throughput loops.
 * The tree measurement is scripts/lib/bench/merkle.ts, shared with scripts/bench.ts.
 */
import { randomBytes } from "node:crypto";

import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { getAddress, hashTypedData, recoverAddress, type Address } from "viem";

import { bytesToHex } from "../oracle/core/bytes.js";
import { keccak256 } from "../oracle/core/keccak.js";
import {
  SECP256K1_NATIVE,
  deviceIdFromPublicKey,
  generatePrivateKey,
  publicKeyFromPrivate,
  signDigest,
  verifyDeviceSignature,
  type KeyScheme,
} from "../oracle/core/keys.js";
import { ReadingDigester, readingDomain, readingLeaf, readingTypedData } from "../oracle/core/reading.js";
import { measureMerkle, randomReadings } from "./lib/bench/merkle.js";

const quick = process.env.BENCH_QUICK === "1";
const ANCHOR: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

const ms = (t0: number) => performance.now() - t0;
const fmtMs = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const fmtRate = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k/s` : `${x.toFixed(0)} /s`);

/** Operations per second of `fn(i)`, run for at least `minMs` after a short warm-up. */
function rate(fn: (i: number) => unknown, minMs = quick ? 300 : 1000): number {
  for (let i = 0; i < 50; i++) fn(i);
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let k = 0; k < 100; k++) fn(n++);
    elapsed = ms(t0);
  }
  return (n / elapsed) * 1000;
}
async function rateAsync(fn: (i: number) => Promise<unknown>, minMs = quick ? 300 : 1000): Promise<number> {
  for (let i = 0; i < 20; i++) await fn(i);
  let n = 0;
  const t0 = performance.now();
  while (ms(t0) < minMs) await fn(n++);
  return (n / ms(t0)) * 1000;
}

function row(cells: string[], widths = [34, 14, 14, 12]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("");
}

console.log(
  `SensorSeal core benchmarks — Node ${process.version}, ${process.platform}/${process.arch}, native secp256k1: ${SECP256K1_NATIVE}`,
);
console.log("All ratios are from this run. Times are one run each (no repetition) for tree builds.\n");

// ── Merkle trees ────────────────────────────────────────────────────────────────────────────
console.log("Merkle tree over reading leaves (leaf hashing from readings included)");
console.log(row(["leaves", "this core", "OZ", "OZ / core"]));
const ozFull = process.env.BENCH_OZ_1M === "1" || process.env.BENCH_FULL === "1";
const sizes = quick ? [100_000] : [100_000, 1_000_000];
for (const r of measureMerkle({ sizes, ozSizes: ozFull ? sizes : [100_000], extras: true })) {
  console.log(
    row([
      `${r.leaves.toLocaleString("en")}  (leaves ${fmtMs(r.leafMs)} + tree ${fmtMs(r.treeMs)})`,
      fmtMs(r.coreMs),
      r.ozMs === undefined ? "not measured" : fmtMs(r.ozMs),
      r.speedup === undefined ? "—" : `${r.speedup.toFixed(0)}×`,
    ]),
  );
  console.log(row([`  fromLeaves(Uint8Array[]) tree only`, fmtMs(r.fromLeavesMs ?? NaN), "", ""]));
  console.log(row([`  getProof for every leaf`, fmtMs(r.allProofsMs ?? NaN), "", ""]));
}
if (!quick && !ozFull) console.log("  (OZ at 1,000,000 not measured: set BENCH_OZ_1M=1 or BENCH_FULL=1; it takes minutes)");

// ── keccak256 ──────────────────────────────────────────────────────────────────────────────
console.log("\nkeccak256 throughput (hashes/s)");
console.log(row(["input", "hash-wasm", "noble", "ratio"]));
for (const size of [32, 64, 128, 1024]) {
  const data = new Uint8Array(randomBytes(size));
  const a = rate(() => keccak256(data));
  const b = rate(() => keccak_256(data));
  console.log(row([`${size} bytes`, fmtRate(a), fmtRate(b), `${(a / b).toFixed(1)}×`]));
}

// ── EIP-712 digests ────────────────────────────────────────────────────────────────────────
console.log("\nReading EIP-712 digest (digests/s)");
console.log(row(["", "this core", "viem", "ratio"]));
{
  const readings = randomReadings(1000).map((r) => ({ ...r, device: getAddress(r.device) }));
  const digester = new ReadingDigester(31337, ANCHOR);
  const domain = readingDomain(31337, ANCHOR);
  const a = rate((i) => digester.digest(readings[i % 1000]));
  const b = rate((i) => hashTypedData(readingTypedData(domain, readings[i % 1000])));
  console.log(row(["ReadingDigester.digest vs hashTypedData", fmtRate(a), fmtRate(b), `${(a / b).toFixed(0)}×`]));
  const c = rate((i) => readingLeaf(readings[i % 1000]));
  console.log(row(["readingLeaf", fmtRate(c), "", ""]));
}

// ── Signatures ─────────────────────────────────────────────────────────────────────────────
console.log("\nSignature verification (verifications/s)");
console.log(row(["", "this core", "reference", "ratio"]));
const fixtures = (scheme: KeyScheme, keys: number, perKey: number) => {
  const out: { publicKey: Uint8Array; digest: Uint8Array; signature: Uint8Array }[] = [];
  for (let k = 0; k < keys; k++) {
    const priv = generatePrivateKey(scheme);
    const publicKey = publicKeyFromPrivate(scheme, priv);
    for (let j = 0; j < perKey; j++) {
      const digest = new Uint8Array(randomBytes(32));
      out.push({ publicKey, digest, signature: signDigest(scheme, priv, digest) });
    }
  }
  return out;
};
{
  const f = fixtures("secp256k1", 50, 4);
  const a = rate((i) => {
    const x = f[i % f.length];
    if (!verifyDeviceSignature({ scheme: "secp256k1", ...x })) throw new Error("bad");
  });
  const pubs = f.map((x) => new Uint8Array([4, ...x.publicKey]));
  const b = rate((i) => {
    const x = f[i % f.length];
    const rec = new Uint8Array([x.signature[64] - 27, ...x.signature.subarray(0, 64)]);
    if (!secp256k1.verify(rec, x.digest, pubs[i % f.length], { prehash: false, format: "recovered" })) throw new Error("bad");
  });
  console.log(row(["secp256k1 (native) vs noble verify", fmtRate(a), fmtRate(b), `${(a / b).toFixed(0)}×`]));
  const ids = f.map((x) => deviceIdFromPublicKey(x.publicKey));
  const c = await rateAsync(async (i) => {
    const x = f[i % f.length];
    if ((await recoverAddress({ hash: bytesToHex(x.digest), signature: bytesToHex(x.signature) })) !== ids[i % f.length])
      throw new Error("bad");
  });
  console.log(row(["secp256k1 (native) vs viem recoverAddress", fmtRate(a), fmtRate(c), `${(a / c).toFixed(0)}×`]));
}
{
  const f = fixtures("p256", 200, 2);
  const pubs = f.map((x) => new Uint8Array([4, ...x.publicKey]));
  const a = rate((i) => {
    if (!verifyDeviceSignature({ scheme: "p256", ...f[i % f.length] })) throw new Error("bad");
  });
  const b = rate((i) => {
    const x = f[i % f.length];
    if (!p256.verify(x.signature, x.digest, pubs[i % f.length], { prehash: false })) throw new Error("bad");
  });
  console.log(row(["P-256 (OpenSSL via ECDH) vs noble", fmtRate(a), fmtRate(b), `${(a / b).toFixed(1)}×`]));
}
