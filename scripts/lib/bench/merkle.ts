/**
 * Merkle tree build benchmark: this core's MerkleTree vs @openzeppelin/merkle-tree's
 * StandardMerkleTree over the same random reading leaves, measured in the same run. The one
 * implementation behind scripts/bench-merkle.ts and scripts/bench.ts.
 *
 * @module
 */
import { randomBytes } from "node:crypto";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Address, Hex } from "viem";

import { MerkleTree } from "../../../oracle/core/merkle.js";
import { READING_LEAF_ENCODING, readingLeaf, type Reading } from "../../../oracle/core/reading.js";

/** One tree size's figures (milliseconds, one run each unless `repeats` > 1: then the median). */
export interface MerkleBenchResult {
  leaves: number;
  /** Leaf hashing from readings + tree build: what is compared with OZ. */
  coreMs: number;
  /** Of which: `readingLeaf` for every reading. */
  leafMs: number;
  /** Of which: `MerkleTree.fromPackedLeaves`. */
  treeMs: number;
  /** `StandardMerkleTree.of(values, encoding)` (leaf hashing included); undefined when not measured. */
  ozMs?: number;
  /** OZ time / core time (how many times faster the core is); undefined when OZ was not measured. */
  speedup?: number;
  /** `MerkleTree.fromLeaves(Uint8Array[])`, tree only (with `extras`). */
  fromLeavesMs?: number;
  /** `getProof` for every leaf (with `extras`). */
  allProofsMs?: number;
  /** Runs the medians are taken over (this core, OZ). */
  repeats: number;
  ozRepeats?: number;
}

export interface MerkleBenchOptions {
  /** Tree sizes, e.g. [100_000, 1_000_000]. */
  sizes: readonly number[];
  /** Sizes at which OZ is also measured (others report `ozMs: undefined`, never an extrapolation). */
  ozSizes: readonly number[];
  /** Also time `fromLeaves(Uint8Array[])` and `getProof` for every leaf. */
  extras?: boolean;
  /** Runs per size of this core (median reported); default 1. */
  repeats?: number;
  /** Runs per size of OZ (median reported); default `repeats`. */
  ozRepeats?: number;
  /** Progress lines (e.g. to stderr). */
  log?: (line: string) => void;
}

const since = (t0: number) => performance.now() - t0;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** `n` random readings (random devices, seqs, timestamps and data hashes). */
export function randomReadings(n: number): Reading[] {
  const raw = randomBytes(n * 68);
  const out = new Array<Reading>(n);
  for (let i = 0; i < n; i++) {
    const o = i * 68;
    out[i] = {
      device: `0x${raw.toString("hex", o, o + 20)}` as Address,
      seq: BigInt(raw.readUint32BE(o + 20)),
      timestamp: BigInt(1_700_000_000 + raw.readUint16BE(o + 24)),
      dataHash: `0x${raw.toString("hex", o + 36, o + 68)}` as Hex,
    };
  }
  return out;
}

/**
 * Builds, for each size, the tree of `n` random readings with this core (leaves from readings, then
 * the tree) and, at the sizes in `ozSizes`, with `StandardMerkleTree.of`; checks both roots agree.
 *
 * @example
 * const [r] = measureMerkle({ sizes: [100_000], ozSizes: [100_000] });
 * r.speedup; // e.g. 40
 */
export function measureMerkle(options: MerkleBenchOptions): MerkleBenchResult[] {
  const repeats = Math.max(1, options.repeats ?? 1);
  const ozRepeats = Math.max(1, options.ozRepeats ?? repeats);
  const results: MerkleBenchResult[] = [];
  for (const n of options.sizes) {
    const readings = randomReadings(n);
    const leafRuns: number[] = [];
    const treeRuns: number[] = [];
    const coreRuns: number[] = [];
    let packed = new Uint8Array(0);
    let tree: MerkleTree | undefined;
    for (let r = 0; r < repeats; r++) {
      options.log?.(`merkle: ${n.toLocaleString("en")} leaves, this core (run ${r + 1}/${repeats})…`);
      let t0 = performance.now();
      packed = new Uint8Array(n * 32);
      for (let i = 0; i < n; i++) packed.set(readingLeaf(readings[i]), i * 32);
      const leafMs = since(t0);
      t0 = performance.now();
      tree = MerkleTree.fromPackedLeaves(packed);
      const treeMs = since(t0);
      leafRuns.push(leafMs);
      treeRuns.push(treeMs);
      coreRuns.push(leafMs + treeMs);
    }
    const result: MerkleBenchResult = { leaves: n, coreMs: median(coreRuns), leafMs: median(leafRuns), treeMs: median(treeRuns), repeats };
    if (options.ozSizes.includes(n)) {
      const values = readings.map((r) => [r.device, r.seq, r.timestamp, r.dataHash]);
      const ozRuns: number[] = [];
      for (let r = 0; r < ozRepeats; r++) {
        options.log?.(`merkle: ${n.toLocaleString("en")} leaves, @openzeppelin/merkle-tree (run ${r + 1}/${ozRepeats})…`);
        const t0 = performance.now();
        const oz = StandardMerkleTree.of(values, [...READING_LEAF_ENCODING]);
        ozRuns.push(since(t0));
        if (oz.root !== tree?.root) throw new Error(`merkle bench: root mismatch at ${n} leaves (core ${tree?.root}, OZ ${oz.root})`);
      }
      result.ozMs = median(ozRuns);
      result.ozRepeats = ozRepeats;
      result.speedup = result.ozMs / result.coreMs;
    }
    if (options.extras === true && tree !== undefined) {
      const leafArray = Array.from({ length: n }, (_, i) => packed.subarray(i * 32, i * 32 + 32));
      let t0 = performance.now();
      MerkleTree.fromLeaves(leafArray);
      result.fromLeavesMs = since(t0);
      t0 = performance.now();
      for (let i = 0; i < n; i++) tree.getProof(tree.treeIndexOf(i));
      result.allProofsMs = since(t0);
    }
    results.push(result);
  }
  return results;
}
