/**
 * Merkle trees byte-identical to `@openzeppelin/merkle-tree`'s
 * `StandardMerkleTree.of(values, encoding)` (default `sortLeaves: true`) and
 * checkable with OpenZeppelin's `MerkleProof.sol`, built fast:
 *
 * - all nodes live in one `Uint8Array` of `(2n − 1) × 32` bytes, in OZ's
 *   array layout (root at 0, children of `i` at `2i + 1` and `2i + 2`,
 *   sorted leaf `k` at `2n − 2 − k`);
 * - leaves are sorted by a stable LSD radix sort on their first 32 bits,
 *   ties settled by a full byte comparison (so duplicates keep input order,
 *   as OZ's stable `Array#sort` does);
 * - pairs are hashed sorted (`keccak256(min ‖ max)`) with the WebAssembly
 *   keccak, straight from the node buffer when already in order.
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { bytesToHex, hexToBytes, toBytes, type BytesLike } from "./bytes.js";
import { EmptyTreeError, InvalidArgumentError, InvalidLengthError, InvalidTreeIndexError, LeafNotInTreeError } from "./errors.js";
import { keccak256, keccak256Concat } from "./keccak.js";

/** `StandardMerkleTree#dump()` format of `@openzeppelin/merkle-tree` (`StandardMerkleTree.load` reads it). */
export type StandardMerkleTreeData<T> = {
  format: "standard-v1";
  leafEncoding: string[];
  tree: Hex[];
  values: { value: T; treeIndex: number }[];
};

const RADIX_MIN = 256;

/** Is node `a` (at byte offset `ao` of `buf`) greater than node `b` (at `bo`)? */
function greater(buf: Uint8Array, ao: number, bo: number): boolean {
  for (let k = 0; k < 32; k++) {
    const d = buf[ao + k] - buf[bo + k];
    if (d !== 0) return d > 0;
  }
  return false;
}

/** Compares leaf `a` with leaf `b` of the packed leaves, ties broken by index (stable). */
function compareLeaves(leaves: Uint8Array, a: number, b: number): number {
  const ao = a * 32;
  const bo = b * 32;
  for (let k = 0; k < 32; k++) {
    const d = leaves[ao + k] - leaves[bo + k];
    if (d !== 0) return d;
  }
  return a - b;
}

/** Stable ascending order of the packed 32-byte leaves: `order[k]` is the input index of the k-th smallest. */
function sortOrder(leaves: Uint8Array, n: number): Uint32Array {
  if (n < RADIX_MIN) {
    const order = Uint32Array.from({ length: n }, (_, i) => i);
    return order.sort((a, b) => compareLeaves(leaves, a, b));
  }
  // Key: first 4 bytes, big-endian. Two stable counting passes of 16 bits (low half, then high half).
  const keys = new Uint32Array(n);
  for (let i = 0, o = 0; i < n; i++, o += 32)
    keys[i] = ((leaves[o] << 24) | (leaves[o + 1] << 16) | (leaves[o + 2] << 8) | leaves[o + 3]) >>> 0;
  const counts = new Uint32Array(65537);
  let src = new Uint32Array(n);
  let dst = new Uint32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  for (const shift of [0, 16]) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[((keys[i] >>> shift) & 0xffff) + 1]++;
    for (let d = 1; d < 65537; d++) counts[d] += counts[d - 1];
    for (let i = 0; i < n; i++) {
      const idx = src[i];
      dst[counts[(keys[idx] >>> shift) & 0xffff]++] = idx;
    }
    [src, dst] = [dst, src];
  }
  // Runs with equal first 32 bits: finish with a full (stable) comparison. Rare for hashes.
  for (let start = 0; start < n;) {
    const key = keys[src[start]];
    let end = start + 1;
    while (end < n && keys[src[end]] === key) end++;
    if (end - start > 1) src.subarray(start, end).sort((a, b) => compareLeaves(leaves, a, b));
    start = end;
  }
  return src;
}

/**
 * `keccak256(sort(a, b))`: the node hash of OZ's StandardMerkleTree and `MerkleProof.sol`.
 *
 * @throws {InvalidHexError | InvalidLengthError} if either side is not 32 bytes.
 * @example
 * ```ts
 * const a = new Uint8Array(32).fill(1), b = new Uint8Array(32).fill(2);
 * hashPair(a, b); // equals hashPair(b, a)
 * ```
 */
export function hashPair(a: BytesLike, b: BytesLike): Uint8Array {
  const x = toBytes(a, 32, "Merkle node");
  const y = toBytes(b, 32, "Merkle node");
  let xGreater = false;
  for (let k = 0; k < 32; k++) {
    if (x[k] !== y[k]) {
      xGreater = x[k] > y[k];
      break;
    }
  }
  return xGreater ? keccak256Concat(y, x) : keccak256Concat(x, y);
}

/**
 * Checks a Merkle proof (sorted-pair hashing, as `MerkleProof.verify`).
 * Malformed input (a node that is not 32 bytes) gives `false`.
 *
 * @example
 * ```ts
 * const leaves = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
 * const tree = MerkleTree.fromLeaves(leaves);
 * verifyMerkleProof(leaves[0], tree.getProof(leaves[0]), tree.root); // true
 * ```
 */
export function verifyMerkleProof(leaf: BytesLike, proof: readonly BytesLike[], root: BytesLike): boolean {
  try {
    let node = toBytes(leaf, 32, "Merkle leaf");
    for (const sibling of proof) node = hashPair(node, sibling);
    const r = toBytes(root, 32, "Merkle root");
    for (let k = 0; k < 32; k++) if (node[k] !== r[k]) return false;
    return true;
  } catch {
    return false;
  }
}

/**
 * A Merkle tree over 32-byte leaf hashes, laid out exactly as
 * `@openzeppelin/merkle-tree` lays out `StandardMerkleTree.of(values, encoding)`
 * when each leaf hash is `standardLeafHash(encoding, value)`.
 *
 * Tree indices are positions in OZ's `tree` array. Leaves occupy the last
 * `leafCount` positions; {@link MerkleTree.treeIndexOf} maps an input position
 * to its tree index, as OZ's `values[i].treeIndex`.
 *
 * @example
 * ```ts
 * import { readingLeaf, type Reading } from "./reading.js";
 * const readings: Reading[] = [1n, 2n, 3n].map((seq) => ({
 *   device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq, timestamp: 1_700_000_000n + seq,
 *   dataHash: `0x${"11".repeat(32)}`,
 * }));
 * const tree = MerkleTree.fromLeaves(readings.map(readingLeaf));
 * tree.root; // "0x…", the same as StandardMerkleTree.of(values, ["address","uint64","uint64","bytes32"]).root
 * tree.getProof(tree.treeIndexOf(0)); // proof of readings[0]
 * ```
 */
export class MerkleTree {
  /** All nodes, 32 bytes each, in OZ's tree-array order. Do not modify. */
  readonly nodes: Uint8Array;
  /** Number of leaves (values). */
  readonly leafCount: number;
  /** Number of nodes, `2 × leafCount − 1`. */
  readonly nodeCount: number;
  /** Root, as hex. */
  readonly root: Hex;
  readonly #treeIndexOfInput: Uint32Array;

  private constructor(nodes: Uint8Array, leafCount: number, treeIndexOfInput: Uint32Array) {
    this.nodes = nodes;
    this.leafCount = leafCount;
    this.nodeCount = 2 * leafCount - 1;
    this.#treeIndexOfInput = treeIndexOfInput;
    this.root = bytesToHex(nodes.subarray(0, 32));
  }

  /**
   * Builds the tree over `leafHashes` (each 32 bytes, bytes or hex), sorting
   * them as StandardMerkleTree does. Duplicates are allowed (as in OZ).
   *
   * @throws {EmptyTreeError} if there is no leaf.
   * @throws {InvalidHexError | InvalidLengthError} if a leaf is not 32 bytes.
   * @example
   * ```ts
   * const tree = MerkleTree.fromLeaves([new Uint8Array(32).fill(7)]);
   * tree.root; // the leaf itself: "0x0707…07"
   * ```
   */
  static fromLeaves(leafHashes: readonly BytesLike[]): MerkleTree {
    const n = leafHashes.length;
    if (n === 0) throw new EmptyTreeError();
    const packed = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) {
      const leaf = leafHashes[i];
      if (leaf instanceof Uint8Array) {
        if (leaf.length !== 32) throw new InvalidLengthError("Merkle leaf", 32, leaf.length);
        packed.set(leaf, i * 32);
      } else packed.set(hexToBytes(leaf, 32), i * 32);
    }
    return MerkleTree.#build(packed, n);
  }

  /**
   * Builds the tree from leaf hashes packed back to back in one array
   * (`32 × n` bytes; leaf `i` at bytes `32i…32i+31`). Fastest input form.
   *
   * @throws {EmptyTreeError | InvalidLengthError}
   * @example
   * ```ts
   * const packed = new Uint8Array(64).fill(1, 0, 32).fill(2, 32, 64); // two leaves
   * MerkleTree.fromPackedLeaves(packed).leafCount; // 2
   * ```
   */
  static fromPackedLeaves(packed: Uint8Array): MerkleTree {
    if (packed.length % 32 !== 0) throw new InvalidLengthError("packed leaves", packed.length - (packed.length % 32), packed.length);
    const n = packed.length / 32;
    if (n === 0) throw new EmptyTreeError();
    return MerkleTree.#build(packed, n);
  }

  static #build(packed: Uint8Array, n: number): MerkleTree {
    const order = sortOrder(packed, n);
    const total = 2 * n - 1;
    const nodes = new Uint8Array(total * 32);
    const treeIndexOfInput = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const input = order[k];
      const t = total - 1 - k;
      treeIndexOfInput[input] = t;
      nodes.set(packed.subarray(input * 32, input * 32 + 32), t * 32);
    }
    for (let i = n - 2; i >= 0; i--) {
      const l = (2 * i + 1) * 32;
      const r = l + 32;
      const h = greater(nodes, l, r)
        ? keccak256Concat(nodes.subarray(r, r + 32), nodes.subarray(l, l + 32))
        : keccak256(nodes.subarray(l, l + 64));
      nodes.set(h, i * 32);
    }
    return new MerkleTree(nodes, n, treeIndexOfInput);
  }

  /**
   * Node `index` of the tree array, as a fresh 32-byte array.
   *
   * @example
   * ```ts
   * const tree = MerkleTree.fromLeaves([new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]);
   * tree.node(0); // root bytes
   * ```
   */
  node(index: number): Uint8Array {
    this.#checkNode(index);
    return this.nodes.slice(index * 32, index * 32 + 32);
  }

  /**
   * Node `index` of the tree array, as hex (OZ's `tree[index]`).
   *
   * @example
   * ```ts
   * const tree = MerkleTree.fromLeaves([new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]);
   * tree.nodeHex(0) === tree.root; // true
   * ```
   */
  nodeHex(index: number): Hex {
    this.#checkNode(index);
    return bytesToHex(this.nodes.subarray(index * 32, index * 32 + 32));
  }

  /**
   * The whole tree array as hex strings: OZ's `StandardMerkleTree#dump().tree`.
   *
   * @example
   * ```ts
   * const tree = MerkleTree.fromLeaves([new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]);
   * tree.toHexArray(); // [root, leaf 2 (larger), leaf 1], as OZ's dump().tree
   * ```
   */
  toHexArray(): Hex[] {
    const out = new Array<Hex>(this.nodeCount);
    for (let i = 0; i < this.nodeCount; i++) out[i] = bytesToHex(this.nodes.subarray(i * 32, i * 32 + 32));
    return out;
  }

  /**
   * Tree index of the leaf given at position `inputIndex` to `fromLeaves` (OZ's `values[inputIndex].treeIndex`).
   *
   * @throws {InvalidTreeIndexError} if there is no such input.
   * @example
   * ```ts
   * const tree = MerkleTree.fromLeaves([new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]);
   * tree.treeIndexOf(0); // 2: the smaller leaf is sorted first, at the end of the array
   * tree.getProof(tree.treeIndexOf(0)); // proof of the first input leaf
   * ```
   */
  treeIndexOf(inputIndex: number): number {
    if (!Number.isInteger(inputIndex) || inputIndex < 0 || inputIndex >= this.leafCount)
      throw new InvalidTreeIndexError(inputIndex, this.nodeCount);
    return this.#treeIndexOfInput[inputIndex];
  }

  /**
   * Tree index of `leaf`, or −1 if it is not a leaf of the tree. O(log n), no
   * lookup table. With duplicate leaves, the position OZ's `getProof(value)`
   * would use (that of the last such input).
   *
   * @example
   * ```ts
   * const leaf = new Uint8Array(32).fill(1);
   * MerkleTree.fromLeaves([leaf]).leafIndex(leaf); // 0
   * ```
   */
  leafIndex(leaf: BytesLike): number {
    const x = toBytes(leaf, 32, "Merkle leaf");
    const total = this.nodeCount;
    // Sorted leaf k lives at tree index total − 1 − k; find the last k with leaf_k <= x.
    let lo = 0;
    let hi = this.leafCount; // first k with leaf_k > x
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const off = (total - 1 - mid) * 32;
      let cmp = 0;
      for (let j = 0; j < 32; j++) {
        const d = this.nodes[off + j] - x[j];
        if (d !== 0) {
          cmp = d;
          break;
        }
      }
      if (cmp <= 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) return -1;
    const t = total - lo;
    const off = t * 32;
    for (let j = 0; j < 32; j++) if (this.nodes[off + j] !== x[j]) return -1;
    return t;
  }

  /**
   * Merkle proof (siblings from the leaf up) for the leaf at a tree index,
   * or for a leaf hash; the same array OZ's `getProof` returns.
   *
   * @throws {InvalidTreeIndexError} if the index is not a leaf.
   * @throws {LeafNotInTreeError} if the leaf hash is not in the tree.
   * @example
   * ```ts
   * const leaves = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), new Uint8Array(32).fill(3)];
   * const tree = MerkleTree.fromLeaves(leaves);
   * const proof = tree.getProof(tree.treeIndexOf(0)); // by tree index
   * verifyMerkleProof(leaves[0], proof, tree.root); // true
   * tree.getProof(leaves[0]); // by leaf hash: the same proof
   * ```
   */
  getProof(treeIndexOrLeaf: number | BytesLike): Hex[] {
    let index: number;
    if (typeof treeIndexOrLeaf === "number") {
      index = treeIndexOrLeaf;
      if (!Number.isInteger(index) || index < this.leafCount - 1 || index >= this.nodeCount)
        throw new InvalidTreeIndexError(index, this.nodeCount);
    } else {
      index = this.leafIndex(treeIndexOrLeaf);
      if (index < 0) throw new LeafNotInTreeError(typeof treeIndexOrLeaf === "string" ? treeIndexOrLeaf : bytesToHex(treeIndexOrLeaf));
    }
    const proof: Hex[] = [];
    while (index > 0) {
      const sibling = index % 2 === 1 ? index + 1 : index - 1;
      proof.push(bytesToHex(this.nodes.subarray(sibling * 32, sibling * 32 + 32)));
      index = (index - 1) >>> 1;
    }
    return proof;
  }

  /**
   * OZ's `StandardMerkleTree#dump()` for this tree, given the values the
   * leaves were hashed from (in input order) and their leaf encoding, so that
   * `StandardMerkleTree.load(tree.dump(values, encoding))` works. The values
   * are put in as given: keep them JSON-safe (e.g. uint64 as decimal strings)
   * if the dump is to be stored as JSON.
   *
   * @throws {InvalidLengthError} if `values.length !== leafCount`.
   * @example
   * ```ts
   * import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
   * const token = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
   * const values = [["0x70997970C51812dc3A010C7d01b50e0d17dc79C8", token, "5"]];
   * const tree = MerkleTree.fromLeaves([rewardLeaf("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", token, 5n)]);
   * StandardMerkleTree.load(tree.dump(values, ["address", "address", "uint256"])).root === tree.root; // true
   * ```
   */
  dump<T>(values: readonly T[], leafEncoding: readonly string[]): StandardMerkleTreeData<T> {
    if (values.length !== this.leafCount) throw new InvalidLengthError("values", this.leafCount, values.length);
    return {
      format: "standard-v1",
      leafEncoding: [...leafEncoding],
      tree: this.toHexArray(),
      values: values.map((value, i) => ({ value, treeIndex: this.#treeIndexOfInput[i] })),
    };
  }

  #checkNode(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.nodeCount) throw new InvalidTreeIndexError(index, this.nodeCount);
  }
}

const rewardScratch = new Uint8Array(96);
const rewardView = new DataView(rewardScratch.buffer);
const UINT256_MAX = (1n << 256n) - 1n;

/**
 * Reward leaf: StandardMerkleTree leaf over `["address","address","uint256"]` =
 * `(account, token, cumulative amount)`, i.e. `keccak256(keccak256(abi.encode(account, token, cumulative)))`
 * (docs/MARKET.md §5: one leaf per account and token; the reward token is a token like any other).
 *
 * @throws {InvalidHexError} on a bad address; {@link InvalidArgumentError} if `cumulative` is not a uint256.
 * @example
 * ```ts
 * rewardLeaf("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x5FbDB2315678afecb367f032d93F642f64180aa3", 10n ** 18n); // 32 bytes
 * ```
 */
export function rewardLeaf(account: Address, token: Address, cumulative: bigint): Uint8Array {
  if (typeof cumulative !== "bigint" || cumulative < 0n || cumulative > UINT256_MAX)
    throw new InvalidArgumentError("cumulative", "must be a uint256 bigint");
  rewardScratch.fill(0, 0, 12);
  rewardScratch.set(hexToBytes(account, 20), 12);
  rewardScratch.fill(0, 32, 44);
  rewardScratch.set(hexToBytes(token, 20), 44);
  let x = cumulative;
  for (let w = 88; w >= 64; w -= 8, x >>= 64n) rewardView.setBigUint64(w, x & 0xffffffffffffffffn);
  return keccak256(keccak256(rewardScratch));
}
