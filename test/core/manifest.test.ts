import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { keccak256 as viemKeccak, type Address, type Hex } from "viem";

import { bytesToHex } from "../../oracle/core/bytes.js";
import { canonicalize, isCanonical } from "../../oracle/core/canonical.js";
import { InvalidManifestError } from "../../oracle/core/errors.js";
import { generatePrivateKey, publicKeyFromPrivate, signDigest, verifyDeviceSignature, type KeyScheme } from "../../oracle/core/keys.js";
import { buildBatch, parseManifest, type BatchItem } from "../../oracle/core/manifest.js";
import { verifyMerkleProof } from "../../oracle/core/merkle.js";
import { READING_LEAF_ENCODING, ReadingDigester, readingLeaf } from "../../oracle/core/reading.js";
import { assertThrowsTyped, randomReading, readingValue } from "./helpers.js";

const ANCHOR: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const dec = new TextDecoder();
const enc = new TextEncoder();

function randomItems(n: number): BatchItem[] {
  return Array.from({ length: n }, (_, i) => ({
    reading: randomReading(),
    signature: bytesToHex(crypto.getRandomValues(new Uint8Array(i % 2 === 0 ? 65 : 64))),
  }));
}

describe("buildBatch / parseManifest", () => {
  it("builds the StandardMerkleTree root, per-item proofs, and a canonical manifest in leaf order", () => {
    for (const n of [1, 2, 5, 64]) {
      const items = randomItems(n);
      const batch = buildBatch({ chainId: 31337, anchor: ANCHOR, items });
      const oz = StandardMerkleTree.of(
        items.map((it) => readingValue(it.reading)),
        [...READING_LEAF_ENCODING],
      );
      assert.equal(batch.root, oz.root);
      assert.equal(batch.leafCount, n);
      assert.equal(batch.tree.root, batch.root);
      assert.equal(batch.manifestHash, viemKeccak(batch.manifestBytes));
      assert.ok(isCanonical(batch.manifestBytes));
      items.forEach((it, i) => {
        assert.equal(batch.leaves[i], bytesToHex(readingLeaf(it.reading)));
        assert.deepEqual(batch.proofs[i], oz.getProof(i));
        assert.ok(verifyMerkleProof(batch.leaves[i], batch.proofs[i], batch.root));
      });
      // Leaf order: ascending leaf hash; readings[k] sits at tree index 2n − 2 − k.
      const json = JSON.parse(dec.decode(batch.manifestBytes));
      assert.deepEqual(Object.keys(json), ["anchor", "chainId", "readings", "v"]);
      assert.equal(json.v, 1);
      assert.equal(json.chainId, 31337);
      assert.equal(json.anchor, ANCHOR);
      const leafOrder = json.readings.map((r: Record<string, string>) =>
        bytesToHex(
          readingLeaf({ device: r.device as Address, seq: BigInt(r.seq), timestamp: BigInt(r.timestamp), dataHash: r.dataHash as Hex }),
        ),
      );
      leafOrder.forEach((leaf: Hex, k: number) => assert.equal(leaf, batch.tree.nodeHex(2 * n - 2 - k)));
      assert.deepEqual([...leafOrder].sort(), leafOrder);
      for (const r of json.readings) assert.deepEqual(Object.keys(r), ["dataHash", "device", "seq", "signature", "timestamp"]);
      // The parsed manifest rebuilds the same batch.
      const manifest = parseManifest(batch.manifestBytes);
      assert.deepEqual(manifest, batch.manifest);
      const again = buildBatch(manifest);
      assert.equal(again.root, batch.root);
      assert.equal(again.manifestHash, batch.manifestHash);
      assert.deepEqual(again.manifestBytes, batch.manifestBytes);
    }
  });

  it("is independent of input order", () => {
    const items = randomItems(20);
    const a = buildBatch({ chainId: 31337, anchor: ANCHOR, items });
    const b = buildBatch({ chainId: 31337, anchor: ANCHOR.toLowerCase() as Address, items: [...items].reverse() });
    assert.equal(a.root, b.root);
    assert.equal(a.manifestHash, b.manifestHash);
    assert.deepEqual(b.proofs, [...a.proofs].reverse());
  });

  it("carries real signatures that recheck from the parsed manifest", () => {
    const digester = new ReadingDigester(31337, ANCHOR);
    const schemes: KeyScheme[] = ["secp256k1", "p256"];
    const keys = schemes.map((scheme) => {
      const priv = generatePrivateKey(scheme);
      return { scheme, priv, pub: publicKeyFromPrivate(scheme, priv) };
    });
    const items: BatchItem[] = [];
    for (let i = 0; i < 10; i++) {
      const key = keys[i % 2];
      const reading = { ...randomReading(), seq: BigInt(i + 1) };
      items.push({ reading, signature: signDigest(key.scheme, key.priv, digester.digest(reading)) });
    }
    const manifest = parseManifest(buildBatch({ chainId: 31337, anchor: ANCHOR, items }).manifestBytes);
    for (const { reading, signature } of manifest.items) {
      const key = keys[Number(reading.seq - 1n) % 2];
      assert.ok(verifyDeviceSignature({ scheme: key.scheme, publicKey: key.pub, digest: digester.digest(reading), signature }));
    }
  });

  it("rejects bad batch input with typed errors", () => {
    const items = randomItems(2);
    assertThrowsTyped(() => buildBatch({ chainId: 31337, anchor: ANCHOR, items: [] }), "EmptyTreeError");
    assertThrowsTyped(() => buildBatch({ chainId: 0, anchor: ANCHOR, items }), "InvalidManifestError");
    assertThrowsTyped(() => buildBatch({ chainId: 1.5, anchor: ANCHOR, items }), "InvalidManifestError");
    assertThrowsTyped(() => buildBatch({ chainId: 31337, anchor: "0x1234" as Address, items }), "InvalidManifestError");
    assertThrowsTyped(
      () => buildBatch({ chainId: 31337, anchor: ANCHOR, items: [{ ...items[0], signature: "0x1234" }] }),
      "InvalidSignatureError",
      { item: 0 },
    );
    assertThrowsTyped(
      () => buildBatch({ chainId: 31337, anchor: ANCHOR, items: [{ ...items[0], reading: { ...items[0].reading, seq: -1n } }] }),
      "InvalidReadingError",
    );
  });

  it("parseManifest rejects non-canonical or malformed manifests", () => {
    const batch = buildBatch({ chainId: 31337, anchor: ANCHOR, items: randomItems(3) });
    const json = JSON.parse(dec.decode(batch.manifestBytes));
    const text = dec.decode(batch.manifestBytes);
    const r0 = json.readings[0];
    const mutations: [string, unknown][] = [
      ["whitespace", null],
      ["v", { ...json, v: 2 }],
      ["extra key", { ...json, extra: 1 }],
      ["missing key", { anchor: json.anchor, chainId: json.chainId, v: 1 }],
      ["chainId string", { ...json, chainId: "31337" }],
      ["anchor lowercase", { ...json, anchor: ANCHOR.toLowerCase() }],
      ["no readings", { ...json, readings: [] }],
      ["reading extra key", { ...json, readings: [{ ...r0, extra: 1 }] }],
      [
        "reading missing key",
        { ...json, readings: [{ device: r0.device, seq: r0.seq, timestamp: r0.timestamp, signature: r0.signature }] },
      ],
      ["seq number", { ...json, readings: [{ ...r0, seq: 1 }] }],
      ["seq leading zero", { ...json, readings: [{ ...r0, seq: `0${r0.seq}` }] }],
      ["timestamp too big", { ...json, readings: [{ ...r0, timestamp: "18446744073709551616" }] }],
      ["device lowercase", { ...json, readings: [{ ...r0, device: r0.device.toLowerCase() }] }],
      ["dataHash uppercase", { ...json, readings: [{ ...r0, dataHash: r0.dataHash.toUpperCase().replace("0X", "0x") }] }],
      ["signature short", { ...json, readings: [{ ...r0, signature: r0.signature.slice(0, 100) }] }],
      ["signature uppercase", { ...json, readings: [{ ...r0, signature: r0.signature.toUpperCase().replace("0X", "0x") }] }],
    ];
    for (const [what, value] of mutations) {
      const bytes = enc.encode(value === null ? text.replace(',"v":1}', ', "v":1}') : canonicalize(value));
      assert.throws(
        () => parseManifest(bytes),
        (e: unknown) => e instanceof InvalidManifestError && e.code === "INVALID_MANIFEST",
        what,
      );
    }
    assertThrowsTyped(
      () => parseManifest(enc.encode(canonicalize({ ...json, readings: [{ ...r0, seq: "01" }] }))),
      "InvalidManifestError",
      {
        path: "$.readings[0].seq",
      },
    );
  });
});
