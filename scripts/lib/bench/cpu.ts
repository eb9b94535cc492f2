/**
 * Sections 4–5 of the bench: Merkle build vs OpenZeppelin, the verifier vs a naive one.
 *
 * @module
 */
import { measureMerkle, type MerkleBenchResult } from "./merkle.js";
import { CFG, log, rows, results } from "./run.js";
import { fmtMs, fmtNum, fmtRatio } from "./util.js";
import { measureVerifier, type VerifierBenchResult } from "./verifier.js";

// ================================================================================================
export function merkleSection(): void {
  log(
    `4. Merkle build: ${CFG.merkleSizes.map((n) => fmtNum(n)).join(", ")} leaves; OZ at ${CFG.merkleOzSizes.map((n) => fmtNum(n)).join(", ")}…`,
  );
  const merkle: MerkleBenchResult[] = measureMerkle({
    sizes: CFG.merkleSizes,
    ozSizes: CFG.merkleOzSizes,
    repeats: 3,
    ozRepeats: 1,
    log,
  });
  results.merkle = {
    results: merkle,
    note: "this core: median of 3 runs (leaf hashing from readings + tree); OZ StandardMerkleTree.of: one run",
  };
  for (const r of merkle) {
    log(`   ${fmtNum(r.leaves)} leaves: core ${fmtMs(r.coreMs)}, OZ ${r.ozMs === undefined ? "not measured" : fmtMs(r.ozMs)}`);
    rows.push({
      section: 4,
      measurement: `Merkle tree build, ${fmtNum(r.leaves)} reading leaves (leaf hashing included), oracle/core`,
      result: fmtMs(r.coreMs),
      baseline: "@openzeppelin/merkle-tree StandardMerkleTree.of",
      baselineResult: r.ozMs === undefined ? "not measured (BENCH_FULL=1)" : fmtMs(r.ozMs),
      ratio: r.speedup === undefined ? "—" : `${fmtRatio(r.speedup)} (OZ time / core time)`,
    });
  }
}

export async function verifierSection(): Promise<void> {
  log(`5. verifier: ${fmtNum(CFG.verifierN)} readings…`);
  const v: VerifierBenchResult = await measureVerifier({ n: CFG.verifierN, naiveN: CFG.naiveN, log });
  log(`   ${fmtNum(v.fastRate)} readings/s (${v.threads} threads), ${fmtNum(v.fast1Rate)} (1 thread); naive ${fmtNum(v.naiveRate)}`);
  results.verifier = v;
  rows.push(
    {
      section: 5,
      measurement: `Verifier, full-batch audit of ${fmtNum(v.n)} secp256k1 readings, ${v.threads} worker threads`,
      result: `${fmtNum(v.fastRate)} readings/s`,
      baseline: `naive verifier (OZ merkle-tree + viem recoverTypedDataAddress), ${fmtNum(v.naiveN)}-reading sample`,
      baselineResult: `${fmtNum(v.naiveRate)} readings/s`,
      ratio: `${fmtRatio(v.ratio)} (verifier / naive)`,
    },
    {
      section: 5,
      measurement: `Verifier, same audit, 1 worker thread`,
      result: `${fmtNum(v.fast1Rate)} readings/s`,
      baseline: "naive verifier (same run)",
      baselineResult: `${fmtNum(v.naiveRate)} readings/s`,
      ratio: `${fmtRatio(v.ratio1)} (verifier / naive)`,
    },
  );
}
