/**
 * Verifier benchmark: full-batch audit of a synthetic manifest of N readings (rebuild the tree from
 * the manifest, compare root and manifest hash, recheck every signature and device status) by this
 * verifier (core + worker_threads) vs a naive verifier built from @openzeppelin/merkle-tree and
 * viem's recoverTypedDataAddress (on a smaller sample; readings/s compared). The one implementation
 * behind scripts/bench-verifier.ts and scripts/bench.ts.
 *
 * @module
 */
import { availableParallelism } from "node:os";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { getAddress, recoverTypedDataAddress, type Address, type Hex } from "viem";

import { bytesToHex, randomBytes } from "../../../oracle/core/bytes.js";
import {
  deviceIdFromPublicKey,
  generatePrivateKey,
  publicKeyFromPrivate,
  signDigest,
  SECP256K1_NATIVE,
} from "../../../oracle/core/keys.js";
import { buildBatch } from "../../../oracle/core/manifest.js";
import { READING_LEAF_ENCODING, READING_TYPES, ReadingDigester, readingDomain, type Reading } from "../../../oracle/core/reading.js";
import { auditManifest, type DeviceDirectory } from "../../../oracle/verifier/audit.js";
import { SignaturePool, type DeviceKey } from "../../../oracle/verifier/pool.js";

export interface VerifierBenchOptions {
  /** Readings in the synthetic batch (default 100,000). */
  n?: number;
  /** Readings the naive verifier checks (a sample of the batch; default min(n, 2,000)). */
  naiveN?: number;
  /** Worker threads of the fast verifier (default: available parallelism). */
  threads?: number;
  /** secp256k1 devices signing the batch (default 100). */
  devices?: number;
  /** Progress lines (e.g. to stderr). */
  log?: (line: string) => void;
}

export interface VerifierBenchResult {
  n: number;
  naiveN: number;
  devices: number;
  threads: number;
  cores: number;
  secp256k1Native: boolean;
  /** Signing the synthetic batch and building it (not part of any measured figure). */
  setupSeconds: number;
  manifestBytes: number;
  fastSeconds: number;
  fastRate: number;
  /** CPU time (user + system, all threads of this process) per reading of the audit, µs. */
  fastCpuMicros: number;
  /** The same audit on one worker thread. */
  fast1Seconds: number;
  fast1Rate: number;
  fast1CpuMicros: number;
  naiveSeconds: number;
  naiveRate: number;
  /** fastRate / naiveRate. */
  ratio: number;
  /** fast1Rate / naiveRate. */
  ratio1: number;
  /** Set when the worker pool could not start and the audit ran inline. */
  workerFailure?: string;
}

const chainId = 31337;
const anchor: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const t = () => performance.now();

/**
 * Signs a synthetic batch of `n` secp256k1 readings (the naive verifier's recoverTypedDataAddress only
 * knows that scheme), then times this verifier's `auditManifest` on all of it (with `threads`
 * workers, then with one) and the naive verifier on a `naiveN` sample.
 *
 * @example
 * const r = await measureVerifier({ n: 100_000, log: (s) => process.stderr.write(`${s}\n`) });
 * r.fastRate / r.naiveRate; // = r.ratio
 */
export async function measureVerifier(options: VerifierBenchOptions = {}): Promise<VerifierBenchResult> {
  const N = options.n ?? 100_000;
  const NAIVE_N = Math.min(N, options.naiveN ?? 2_000);
  const THREADS = options.threads ?? availableParallelism();
  const DEVICES = options.devices ?? 100;
  const log = options.log ?? (() => undefined);

  log(`verifier: signing ${N} readings of ${DEVICES} secp256k1 devices (native secp256k1: ${SECP256K1_NATIVE})…`);
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
  // The readings of one hour, anchored at its end: all within the anchor's window (maxAnchorDelay, a
  // day) whatever N (one second per reading put 13,600 of 100,000 outside it: INVALID_TIMESTAMP).
  const SPAN_SECONDS = 3600;
  const t0 = t();
  let items = new Array<{ reading: Reading; signature: Uint8Array }>(N);
  for (let i = 0; i < N; i++) {
    const d = privs[i % DEVICES];
    const reading: Reading = {
      device: d.address,
      seq: BigInt(Math.floor(i / DEVICES) + 1),
      timestamp: ts0 + BigInt(Math.floor((i * SPAN_SECONDS) / N)),
      dataHash: bytesToHex(randomBytes(32)),
    };
    items[i] = { reading, signature: signDigest("secp256k1", d.priv, digester.digest(reading)) };
  }
  const batch = buildBatch({ chainId, anchor, items });
  const setupSeconds = (t() - t0) / 1000;
  log(`  made in ${setupSeconds.toFixed(1)} s; manifest ${(batch.manifestBytes.length / 1e6).toFixed(1)} MB`);
  items = [];

  const directory: DeviceDirectory = {
    device: (a) => keys.get(getAddress(a)),
    statusAt: () => 1,
  };
  const anchored = {
    batchId: 1n,
    root: batch.root,
    manifestHash: batch.manifestHash,
    leafCount: batch.leafCount,
    anchoredAt: ts0 + BigInt(SPAN_SECONDS),
    blockNumber: 1n,
  };

  let workerFailure: string | undefined;
  async function fast(threads: number): Promise<{ seconds: number; cpuMicros: number }> {
    const pool = new SignaturePool({ threads });
    // Worker start-up is included (not the steady-state figure).
    const cpu = process.cpuUsage();
    const start = t();
    const { result } = await auditManifest({
      batch: anchored,
      manifestBytes: batch.manifestBytes,
      chainId,
      anchor,
      directory,
      maxAnchorDelay: 86_400n,
      pool,
    });
    const s = (t() - start) / 1000;
    const used = process.cpuUsage(cpu);
    if (pool.failure !== undefined) {
      workerFailure = String(pool.failure);
      log(`  (workers unavailable, ran inline: ${workerFailure})`);
    }
    await pool.close();
    if (!result.ok || result.counts.VERIFIED !== N)
      throw new Error(`fast verifier failed: ${JSON.stringify(result.issues)} ${JSON.stringify(result.counts)}`);
    return { seconds: s, cpuMicros: (used.user + used.system) / N };
  }

  // Naive: JSON.parse, StandardMerkleTree.of, recoverTypedDataAddress per reading.
  async function naive(count: number): Promise<number> {
    let start = t();
    const text = new TextDecoder().decode(batch.manifestBytes);
    const readings = (
      JSON.parse(text).readings as { device: Address; seq: string; timestamp: string; dataHash: Hex; signature: Hex }[]
    ).slice(0, count);
    // Parsing the whole manifest is counted in proportion to the sample (the sample is count/N of it).
    const parseSeconds = ((t() - start) / 1000) * (count / N);
    start = t();
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
    return parseSeconds + (t() - start) / 1000;
  }

  log(`verifier: auditing (this verifier, ${THREADS} threads)…`);
  const { seconds: fastSeconds, cpuMicros: fastCpuMicros } = await fast(THREADS);
  log("verifier: auditing (this verifier, 1 thread)…");
  const { seconds: fast1Seconds, cpuMicros: fast1CpuMicros } = await fast(1);
  log(`verifier: auditing a ${NAIVE_N}-reading sample (naive: @openzeppelin/merkle-tree + viem recoverTypedDataAddress)…`);
  const naiveSeconds = await naive(NAIVE_N);

  const fastRate = N / fastSeconds;
  const fast1Rate = N / fast1Seconds;
  const naiveRate = NAIVE_N / naiveSeconds;
  return {
    n: N,
    naiveN: NAIVE_N,
    devices: DEVICES,
    threads: THREADS,
    cores: availableParallelism(),
    secp256k1Native: SECP256K1_NATIVE,
    setupSeconds,
    manifestBytes: batch.manifestBytes.length,
    fastSeconds,
    fastRate,
    fastCpuMicros,
    fast1Seconds,
    fast1Rate,
    fast1CpuMicros,
    naiveSeconds,
    naiveRate,
    ratio: fastRate / naiveRate,
    ratio1: fast1Rate / naiveRate,
    ...(workerFailure === undefined ? {} : { workerFailure }),
  };
}
