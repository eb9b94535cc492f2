import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";

import { p256 } from "@noble/curves/nist.js";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { hashTypedData, keccak256, recoverAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { hexToBytes } from "../../oracle/core/bytes.js";
import { keySchemeFromId, verifyDeviceSignature } from "../../oracle/core/keys.js";
import { parseManifest } from "../../oracle/core/manifest.js";
import { READING_LEAF_ENCODING, READING_TYPES, readingFromJson } from "../../oracle/core/reading.js";
import { renderReadingVectors } from "../../scripts/lib/vectors.js";

const FILE = new URL("../vectors/readings.json", import.meta.url);

type Vectors = {
  chainId: number;
  anchor: Address;
  domain: { name: string; version: string; chainId: number; verifyingContract: Address };
  domainSeparator: Hex;
  keys: { scheme: string; schemeId: number; privateKey: Hex; publicKey: Hex; device: Address }[];
  readings: {
    key: number;
    payload: string;
    dataHash: Hex;
    reading: { device: Address; seq: string; timestamp: string; dataHash: Hex };
    digest: Hex;
    leaf: Hex;
    signature: Hex;
  }[];
  batch: { root: Hex; leafCount: number; manifestHash: Hex; manifest: string; proofs: Hex[][]; tree: Hex[] };
};

describe("test/vectors/readings.json", () => {
  it("is what scripts/make-vectors.ts generates (run it after a format change)", async () => {
    assert.equal(await readFile(FILE, "utf8"), renderReadingVectors());
  });

  it("checks out against viem, @openzeppelin/merkle-tree and noble, independently of the core", async () => {
    const v = JSON.parse(await readFile(FILE, "utf8")) as Vectors;
    for (const key of v.keys) {
      const pub = hexToBytes(key.publicKey, 64);
      assert.equal(key.device.toLowerCase(), `0x${keccak256(pub).slice(26)}`);
      if (key.scheme === "secp256k1") assert.equal(privateKeyToAccount(key.privateKey).address, key.device);
      else assert.deepEqual(p256.getPublicKey(hexToBytes(key.privateKey), false).slice(1), pub);
      assert.equal(keySchemeFromId(key.schemeId), key.scheme);
    }
    const values = v.readings.map(({ reading }) => [reading.device, reading.seq, reading.timestamp, reading.dataHash]);
    const oz = StandardMerkleTree.of(values, [...READING_LEAF_ENCODING]);
    for (const [i, r] of v.readings.entries()) {
      const key = v.keys[r.key];
      assert.equal(keccak256(new TextEncoder().encode(r.payload)), r.dataHash);
      assert.equal(r.reading.dataHash, r.dataHash);
      assert.equal(r.reading.device, key.device);
      const reading = readingFromJson(r.reading);
      assert.equal(hashTypedData({ domain: v.domain, types: READING_TYPES, primaryType: "Reading", message: reading }), r.digest);
      assert.equal(oz.leafHash(values[i]), r.leaf);
      if (key.scheme === "secp256k1") {
        assert.equal(await recoverAddress({ hash: r.digest, signature: r.signature }), key.device);
      } else {
        const sig = hexToBytes(r.signature, 64);
        assert.ok(p256.verify(sig, hexToBytes(r.digest), hexToBytes(`0x04${key.publicKey.slice(2)}`), { prehash: false }));
      }
      assert.ok(
        verifyDeviceSignature({ scheme: key.scheme as "p256", publicKey: key.publicKey, digest: r.digest, signature: r.signature }),
      );
      assert.deepEqual(v.batch.proofs[i], oz.getProof(i));
      assert.ok(StandardMerkleTree.verify(v.batch.root, [...READING_LEAF_ENCODING], values[i], v.batch.proofs[i]));
    }
    assert.equal(v.batch.root, oz.root);
    assert.deepEqual(v.batch.tree, oz.dump().tree);
    assert.equal(v.batch.leafCount, v.readings.length);
    assert.equal(keccak256(new TextEncoder().encode(v.batch.manifest)), v.batch.manifestHash);
    const manifest = parseManifest(new TextEncoder().encode(v.batch.manifest));
    assert.equal(manifest.items.length, v.readings.length);
  });
});
