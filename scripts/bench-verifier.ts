/**
 * Verifier benchmark: full-batch audit of a synthetic manifest of N readings (rebuild the tree from
 * the manifest, compare root and manifest hash, recheck every signature and device status) by this
 * verifier (core + worker_threads) vs a naive verifier built from @openzeppelin/merkle-tree and
 * viem's recoverTypedDataAddress (on a smaller sample; readings/s compared).
 *
 *   npx tsx scripts/bench-verifier.ts                      # N = 100,000
 *   BENCH_N=1000000 npx tsx scripts/bench-verifier.ts      # 1e6 (signing the synthetic batch takes ~1 min; needs ~4 GB:
 *   NODE_OPTIONS=--max-old-space-size=6144 BENCH_N=1000000 npx tsx scripts/bench-verifier.ts)
 *   BENCH_NAIVE_N=5000 BENCH_THREADS=2 BENCH_DEVICES=100 …
 */
import { availableParallelism } from "node:os";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { getAddress, recoverTypedDataAddress, type Address, type Hex } from "viem";

import { bytesToHex, randomBytes } from "../oracle/core/bytes.js";
import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest, SECP256K1_NATIVE } from "../oracle/core/keys.js";
import { buildBatch } from "../oracle/core/manifest.js";
import { READING_LEAF_ENCODING, READING_TYPES, ReadingDigester, readingDomain, type Reading } from "../oracle/core/reading.js";
import { auditManifest, type DeviceDirectory } from "../oracle/verifier/audit.js";
import { SignaturePool, type DeviceKey } from "../oracle/verifier/pool.js";

const N = Number(process.env.BENCH_N ?? 100_000);
const NAIVE_N = Math.min(N, Number(process.env.BENCH_NAIVE_N ?? 2_000));
const THREADS = Number(process.env.BENCH_THREADS ?? availableParallelism());
const DEVICES = Number(process.env.BENCH_DEVICES ?? 100);
const chainId = 31337;
const anchor: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

const log = (s: string) => process.stderr.write(`${s}\n`);
const t = () => performance.now();

// ---- synthetic batch (secp256k1: the naive verifier's recoverTypedDataAddress only knows that scheme) ----
log(`signing ${N} readings of ${DEVICES} secp256k1 devices (native secp256k1: ${SECP256K1_NATIVE})…`);
const keys = new Map<Address, DeviceKey>();
const privs: { address: Address; priv: Uint8Array }[] = [];
for (let i = 0; i < DEVICES; i++) {
  const priv = generatePrivateKey("secp256k1");
  const publicKey = publicKeyFromPrivate("secp256k1", priv);
  const address = deviceIdFromPublicKey(publicKey);
  keys.set(address, { scheme: "secp256k1", publicKey });
  privs.push({ address, priv });
}
const digester = new ReadingDigester(chainId, anchor);
const ts0 = 1_700_000_000n;
let t0 = t();
const items = new Array<{ reading: Reading; signature: Uint8Array }>(N);
for (let i = 0; i < N; i++) {
  const d = privs[i % DEVICES];
  const reading: Reading = { device: d.address, seq: BigInt(Math.floor(i / DEVICES) + 1), timestamp: ts0 + BigInt(i), dataHash: bytesToHex(randomBytes(32)) };
  items[i] = { reading, signature: signDigest("secp256k1", d.priv, digester.digest(reading)) };
}
const batch = buildBatch({ chainId, anchor, items });
log(`  made in ${((t() - t0) / 1000).toFixed(1)} s; manifest ${(batch.manifestBytes.length / 1e6).toFixed(1)} MB`);
items.length = 0;

const directory: DeviceDirectory = {
  device: (a) => keys.get(getAddress(a)),
  statusAt: () => 1,
};
const anchored = { batchId: 1, root: batch.root, manifestHash: batch.manifestHash, leafCount: batch.leafCount, anchoredAt: Number(ts0) + N, blockNumber: 1 };

async function fast(threads: number): Promise<number> {
  const pool = new SignaturePool({ threads });
  // Warm the workers up (start-up is not the steady-state figure, but it is included below).
  const start = t();
  const { result } = await auditManifest({ batch: anchored, manifestBytes: batch.manifestBytes, chainId, anchor, directory, pool });
  const s = (t() - start) / 1000;
  if (pool.failure !== undefined) log(`  (workers unavailable, ran inline: ${String(pool.failure)})`);
  await pool.close();
  if (!result.ok || result.counts.VERIFIED !== N) throw new Error(`fast verifier failed: ${JSON.stringify(result.issues)} ${JSON.stringify(result.counts)}`);
  return s;
}

// ---- naive: JSON.parse, StandardMerkleTree.of, recoverTypedDataAddress per reading ----
async function naive(count: number): Promise<number> {
  const start = t();
  const text = new TextDecoder().decode(batch.manifestBytes);
  const readings = (JSON.parse(text).readings as { device: Address; seq: string; timestamp: string; dataHash: Hex; signature: Hex }[]).slice(0, count);
  const tree = StandardMerkleTree.of(
    readings.map((r) => [r.device, r.seq, r.timestamp, r.dataHash]),
    [...READING_LEAF_ENCODING],
  );
  if (!/^0x[0-9a-f]{64}$/.test(tree.root)) throw new Error("naive tree");
  const domain = readingDomain(chainId, anchor);
  for (const r of readings) {
    const signer = await recoverTypedDataAddress({
      domain,
      types: READING_TYPES,
      primaryType: "Reading",
      message: { device: r.device, seq: BigInt(r.seq), timestamp: BigInt(r.timestamp), dataHash: r.dataHash },
      signature: r.signature,
    });
    if (signer !== r.device) throw new Error("naive: bad signature");
  }
  // JSON.parse of the whole manifest is counted in proportion to the sample.
  return (t() - start) / 1000;
}

log(`auditing (this verifier, ${THREADS} threads)…`);
const sFast = await fast(THREADS);
log("auditing (this verifier, 1 thread)…");
const sFast1 = await fast(1);
log(`auditing a ${NAIVE_N}-reading sample (naive: @openzeppelin/merkle-tree + viem recoverTypedDataAddress)…`);
const sNaive = await naive(NAIVE_N);

const rate = (n: number, s: number) => Math.round(n / s);
const rFast = rate(N, sFast);
const rFast1 = rate(N, sFast1);
const rNaive = rate(NAIVE_N, sNaive);
console.log(`readings: ${N} (secp256k1, ${DEVICES} devices), cores: ${availableParallelism()}`);
console.log(`this verifier, ${THREADS} threads: ${sFast.toFixed(2)} s, ${rFast} readings/s`);
console.log(`this verifier, 1 thread:  ${sFast1.toFixed(2)} s, ${rFast1} readings/s`);
console.log(`naive verifier (${NAIVE_N} sample): ${sNaive.toFixed(2)} s, ${rNaive} readings/s`);
console.log(`ratio: ${(rFast / rNaive).toFixed(1)}× (${THREADS} threads), ${(rFast1 / rNaive).toFixed(1)}× (1 thread)`);
