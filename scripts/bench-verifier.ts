/**
 * Verifier benchmark: full-batch audit of a synthetic manifest of N readings (rebuild the tree from
 * the manifest, compare root and manifest hash, recheck every signature and device status) by this
 * verifier (core + worker_threads) vs a naive verifier built from @openzeppelin/merkle-tree and
 * viem's recoverTypedDataAddress (on a smaller sample; readings/s compared). The measurement is
 * scripts/lib/bench/verifier.ts, shared with scripts/bench.ts.
 *
 *   npx tsx scripts/bench-verifier.ts                      # N = 100,000
 *   BENCH_N=1000000 npx tsx scripts/bench-verifier.ts      # 1e6 (signing the synthetic batch takes ~1 min; needs ~4 GB:
 *   NODE_OPTIONS=--max-old-space-size=6144 BENCH_N=1000000 npx tsx scripts/bench-verifier.ts)
 *   BENCH_NAIVE_N=5000 BENCH_THREADS=2 BENCH_DEVICES=100 …
 */
import { availableParallelism } from "node:os";

import { measureVerifier } from "./lib/bench/verifier.js";

const env = process.env;
const r = await measureVerifier({
  n: Number(env.BENCH_N ?? 100_000),
  naiveN: Number(env.BENCH_NAIVE_N ?? 2_000),
  threads: Number(env.BENCH_THREADS ?? availableParallelism()),
  devices: Number(env.BENCH_DEVICES ?? 100),
  log: (s) => process.stderr.write(`${s}\n`),
});

const rate = (x: number) => Math.round(x);
console.log(`readings: ${r.n} (secp256k1, ${r.devices} devices), cores: ${r.cores}`);
const cpu = (micros: number) => `CPU ${micros.toFixed(1)} µs/reading (all threads)`;
console.log(`this verifier, ${r.threads} threads: ${r.fastSeconds.toFixed(2)} s, ${rate(r.fastRate)} readings/s, ${cpu(r.fastCpuMicros)}`);
console.log(`this verifier, 1 thread:  ${r.fast1Seconds.toFixed(2)} s, ${rate(r.fast1Rate)} readings/s, ${cpu(r.fast1CpuMicros)}`);
console.log(`naive verifier (${r.naiveN} sample): ${r.naiveSeconds.toFixed(2)} s, ${rate(r.naiveRate)} readings/s`);
console.log(`ratio: ${r.ratio.toFixed(1)}× (${r.threads} threads), ${r.ratio1.toFixed(1)}× (1 thread)`);
