import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import type { Hex } from "viem";

import { bytesToHex, hexToBytes } from "../../oracle/core/bytes.js";
import { MerkleTree, hashPair, rewardLeaf, verifyMerkleProof } from "../../oracle/core/merkle.js";
import { READING_LEAF_ENCODING, readingLeaf, type Reading } from "../../oracle/core/reading.js";
import { assertThrowsTyped, randomAddress, randomReading, readingValue } from "./helpers.js";

const ENCODING = [...READING_LEAF_ENCODING];

/** Asserts our tree over `readings` is byte-identical to StandardMerkleTree.of(values). */
function assertSameAsOz(readings: Reading[]): { tree: MerkleTree; oz: StandardMerkleTree<ReturnType<typeof readingValue>> } {
  const values = readings.map(readingValue);
  const oz = StandardMerkleTree.of(values, ENCODING);
  const tree = MerkleTree.fromLeaves(readings.map(readingLeaf));
  const dump = oz.dump();
  assert.equal(tree.root, oz.root);
  assert.equal(tree.leafCount, values.length);
  assert.equal(tree.nodeCount, dump.tree.length);
  assert.deepEqual(tree.toHexArray(), dump.tree);
  for (let i = 0; i < values.length; i++) {
    const t = tree.treeIndexOf(i);
    assert.equal(t, dump.values[i].treeIndex, `treeIndex of value ${i}`);
    const proof = tree.getProof(t);
    assert.deepEqual(proof, oz.getProof(i), `proof of value ${i}`);
    assert.ok(verifyMerkleProof(tree.node(t), proof, tree.root));
    assert.ok(StandardMerkleTree.verify(tree.root, ENCODING, values[i], proof));
  }
  return { tree, oz };
}

describe("MerkleTree vs @openzeppelin/merkle-tree", () => {
  for (const n of [1, 2, 3, 7, 100, 1000]) {
    it(`is byte-identical for ${n} random readings (root, tree array, proofs)`, () => {
      assertSameAsOz(Array.from({ length: n }, randomReading));
    });
  }

  it("is byte-identical with many leaves sharing their first 32 bits (radix tie-break path)", () => {
    // 400 leaves (radix path) whose hashes share 4-byte prefixes in clusters: build from raw leaf hashes.
    const prefixes = Array.from({ length: 5 }, () => randomBytes(4));
    const leaves = Array.from({ length: 400 }, () => {
      const leaf = new Uint8Array(randomBytes(32));
      leaf.set(prefixes[randomInt(prefixes.length)], 0);
      return leaf;
    });
    leaves.push(leaves[7].slice(), leaves[300].slice()); // and duplicates inside clusters
    const tree = MerkleTree.fromLeaves(leaves);
    // Reference: OZ's own ordering rule (stable sort by hash) and layout, via SimpleMerkleTree-like rebuild.
    const sorted = leaves.map((leaf, i) => ({ hex: bytesToHex(leaf), i })).sort((a, b) => (a.hex < b.hex ? -1 : a.hex > b.hex ? 1 : 0));
    const total = 2 * leaves.length - 1;
    sorted.forEach(({ hex, i }, k) => {
      assert.equal(tree.nodeHex(total - 1 - k), hex);
      assert.equal(tree.treeIndexOf(i), total - 1 - k, `input ${i}`);
    });
    for (let i = 0; i < leaves.length; i++) assert.ok(verifyMerkleProof(leaves[i], tree.getProof(tree.treeIndexOf(i)), tree.root));
  });

  it("handles duplicate leaves exactly as OZ (positions and proofs)", () => {
    const a = randomReading();
    const b = randomReading();
    for (const readings of [
      [a, a],
      [a, b, a],
      [a, a, a, b, b],
      Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? a : i % 3 === 1 ? b : randomReading())),
    ]) {
      const { tree, oz } = assertSameAsOz(readings);
      // Proof by leaf hash picks the position OZ's getProof(value) picks.
      for (const r of readings) assert.deepEqual(tree.getProof(readingLeaf(r)), oz.getProof(readingValue(r)));
    }
  });

  it("single leaf: root is the leaf, proof is empty", () => {
    const r = randomReading();
    const leaf = readingLeaf(r);
    const { tree } = assertSameAsOz([r]);
    assert.equal(tree.root, bytesToHex(leaf));
    assert.deepEqual(tree.getProof(0), []);
    assert.deepEqual(tree.getProof(leaf), []);
    assert.ok(verifyMerkleProof(leaf, [], tree.root));
  });

  it("zero leaves is a typed error", () => {
    assertThrowsTyped(() => MerkleTree.fromLeaves([]), "EmptyTreeError");
    assertThrowsTyped(() => MerkleTree.fromPackedLeaves(new Uint8Array()), "EmptyTreeError");
    assert.throws(() => MerkleTree.fromLeaves([]), { code: "EMPTY_TREE" });
  });

  it("dump() loads in StandardMerkleTree.load", () => {
    const readings = Array.from({ length: 50 }, randomReading);
    const tree = MerkleTree.fromLeaves(readings.map(readingLeaf));
    const values = readings.map((r) => [r.device, r.seq.toString(), r.timestamp.toString(), r.dataHash]);
    const json = JSON.parse(JSON.stringify(tree.dump(values, ENCODING)));
    const loaded = StandardMerkleTree.load(json);
    assert.equal(loaded.root, tree.root);
    assert.deepEqual(loaded.dump(), json);
    for (let i = 0; i < values.length; i++) assert.deepEqual(loaded.getProof(i), tree.getProof(tree.treeIndexOf(i)));
    assertThrowsTyped(() => tree.dump(values.slice(1), ENCODING), "InvalidLengthError");
  });
});

describe("MerkleTree API", () => {
  const leaves = Array.from({ length: 37 }, () => new Uint8Array(randomBytes(32)));
  const tree = MerkleTree.fromLeaves(leaves);

  it("accepts hex leaves and packed leaves with the same result", () => {
    assert.deepEqual(MerkleTree.fromLeaves(leaves.map(bytesToHex)).nodes, tree.nodes);
    const packed = new Uint8Array(leaves.length * 32);
    leaves.forEach((l, i) => packed.set(l, i * 32));
    assert.deepEqual(MerkleTree.fromPackedLeaves(packed).nodes, tree.nodes);
    assertThrowsTyped(() => MerkleTree.fromPackedLeaves(new Uint8Array(33)), "InvalidLengthError");
    assertThrowsTyped(() => MerkleTree.fromLeaves([new Uint8Array(31)]), "InvalidLengthError");
    assertThrowsTyped(() => MerkleTree.fromLeaves(["0x1234"]), "InvalidHexError");
  });

  it("leafIndex finds each leaf and nothing else", () => {
    leaves.forEach((leaf, i) => assert.equal(tree.leafIndex(leaf), tree.treeIndexOf(i)));
    assert.equal(tree.leafIndex(new Uint8Array(32)), -1);
    assert.equal(tree.leafIndex(new Uint8Array(32).fill(255)), -1);
    assert.equal(tree.leafIndex(tree.node(0)), -1); // the root is not a leaf
    assertThrowsTyped(() => tree.getProof(new Uint8Array(32)), "LeafNotInTreeError");
  });

  it("rejects indices that are not leaves", () => {
    for (const bad of [-1, 0, tree.leafCount - 2, tree.nodeCount, 1.5, NaN]) {
      assertThrowsTyped(() => tree.getProof(bad), "InvalidTreeIndexError", {}, String(bad));
    }
    assertThrowsTyped(() => tree.treeIndexOf(tree.leafCount), "InvalidTreeIndexError");
    assertThrowsTyped(() => tree.node(tree.nodeCount), "InvalidTreeIndexError");
  });

  it("verifyMerkleProof rejects tampered proofs, leaves and roots, and malformed input", () => {
    const t = tree.treeIndexOf(5);
    const proof = tree.getProof(t);
    assert.ok(verifyMerkleProof(leaves[5], proof, tree.root));
    assert.equal(verifyMerkleProof(leaves[6], proof, tree.root), false);
    assert.equal(verifyMerkleProof(leaves[5], proof.slice(1), tree.root), false);
    assert.equal(verifyMerkleProof(leaves[5], [...proof].reverse(), tree.root), false);
    const flipped = hexToBytes(proof[0]);
    flipped[31] ^= 1;
    assert.equal(verifyMerkleProof(leaves[5], [flipped, ...proof.slice(1)], tree.root), false);
    assert.equal(verifyMerkleProof(leaves[5], proof, tree.nodeHex(1)), false);
    assert.equal(verifyMerkleProof(leaves[5], ["0x1234" as Hex, ...proof], tree.root), false);
    assert.equal(verifyMerkleProof(leaves[5].subarray(1), proof, tree.root), false);
    assert.equal(verifyMerkleProof(leaves[5], proof, "0xzz" as Hex), false);
  });

  it("hashPair is symmetric and equals OZ's node hash", () => {
    const a = new Uint8Array(randomBytes(32));
    const b = new Uint8Array(randomBytes(32));
    assert.deepEqual(hashPair(a, b), hashPair(b, a));
    const two = MerkleTree.fromLeaves([a, b]);
    assert.equal(bytesToHex(hashPair(a, b)), two.root);
    assert.deepEqual(hashPair(a, a), hashPair(bytesToHex(a), bytesToHex(a)));
  });

  it("rewardLeaf equals StandardMerkleTree leaf over [address, address, uint256]", () => {
    const values: [string, string, bigint][] = [];
    for (let i = 0; i < 50; i++)
      values.push([
        randomAddress(),
        randomAddress(),
        i === 0 ? (1n << 256n) - 1n : i === 1 ? 0n : BigInt(`0x${randomBytes(randomInt(1, 33)).toString("hex")}`),
      ]);
    const oz = StandardMerkleTree.of(values, ["address", "address", "uint256"]);
    const tree = MerkleTree.fromLeaves(values.map(([a, t, c]) => rewardLeaf(a as Hex, t as Hex, c)));
    assert.equal(tree.root, oz.root);
    values.forEach((v) => assert.equal(bytesToHex(rewardLeaf(v[0] as Hex, v[1] as Hex, v[2])), oz.leafHash(v)));
    assertThrowsTyped(() => rewardLeaf(values[0][0] as Hex, values[0][1] as Hex, -1n), "InvalidArgumentError");
    assertThrowsTyped(() => rewardLeaf(values[0][0] as Hex, values[0][1] as Hex, 1n << 256n), "InvalidArgumentError");
  });
});
