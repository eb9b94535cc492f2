/**
 * Batch records built on a worker thread (oracle/relayer/batch-builder.ts): the same bytes as the
 * core's buildBatch on the calling thread, errors carried back, the event loop free meanwhile.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Address, Hex } from "viem";

import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest } from "../../oracle/core/keys.js";
import { ReadingDigester } from "../../oracle/core/reading.js";
import { BatchBuilder, buildBatchRecord } from "../../oracle/relayer/batch-builder.js";
import type { Candidate } from "../../oracle/relayer/store.js";

const domain = { chainId: 31337, anchor: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" as Address };

function candidates(n: number): Candidate[] {
  const priv = generatePrivateKey("secp256k1");
  const device = deviceIdFromPublicKey(publicKeyFromPrivate("secp256k1", priv));
  const digester = new ReadingDigester(domain.chainId, domain.anchor);
  return Array.from({ length: n }, (_, i) => {
    const reading = {
      device,
      seq: BigInt(i + 1),
      timestamp: 1_700_000_000n + BigInt(i),
      dataHash: `0x${(i + 7).toString(16).padStart(64, "0")}` as Hex,
    };
    const signature = Buffer.from(signDigest("secp256k1", priv, digester.digest(reading))).toString("hex");
    return { device, seq: i + 1, timestamp: 1_700_000_000 + i, dataHash: reading.dataHash, signature: `0x${signature}` as Hex };
  });
}

describe("relayer: batch records built on a worker thread", { timeout: 60_000 }, () => {
  it("builds exactly the record the core builds here (root, leaf count, manifest hash and bytes), and leaves the event loop free", async () => {
    const builder = new BatchBuilder(domain);
    try {
      const readings = candidates(3000);
      let turned = false;
      setImmediate(() => (turned = true));
      const record = await builder.build(readings);
      assert.equal(turned, true, "the event loop ran while the batch was built (not built on this thread)");
      const here = buildBatchRecord(domain, readings);
      assert.equal(record.root, here.root);
      assert.equal(record.leafCount, 3000);
      assert.equal(record.manifestHash, here.manifestHash);
      assert.deepEqual(Buffer.from(record.manifestBytes), Buffer.from(here.manifestBytes));
      // Several at once: each answered with its own record.
      const [a, b] = await Promise.all([builder.build(readings.slice(0, 10)), builder.build(readings.slice(10, 30))]);
      assert.deepEqual([a.leafCount, b.leafCount], [10, 20]);
      assert.equal(a.root, buildBatchRecord(domain, readings.slice(0, 10)).root);
    } finally {
      await builder.close();
    }
  });

  it("carries the build's error back (a malformed signature), and builds on this thread once closed", async () => {
    const builder = new BatchBuilder(domain);
    const readings = candidates(3);
    try {
      await assert.rejects(builder.build([{ ...readings[0]!, signature: "0x1234" }]), (error: Error) => {
        assert.equal(error.name, "BatchBuildError");
        assert.match(error.message, /InvalidSignatureError/);
        return true;
      });
    } finally {
      await builder.close();
    }
    assert.equal((await builder.build(readings)).root, buildBatchRecord(domain, readings).root);
  });
});
