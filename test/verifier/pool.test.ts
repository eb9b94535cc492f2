/**
 * The signature pool on real worker_threads, and the pure full-batch audit without a chain.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import type { Address } from "viem";

import { bytesToHex, randomBytes } from "../../oracle/core/bytes.js";
import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest, type KeyScheme } from "../../oracle/core/keys.js";
import { buildBatch } from "../../oracle/core/manifest.js";
import { ReadingDigester, type Reading } from "../../oracle/core/reading.js";
import { auditManifest } from "../../oracle/verifier/audit.js";
import { SignaturePool, type DeviceKey } from "../../oracle/verifier/pool.js";

const anchor: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

describe("verifier: signature pool and manifest audit", { timeout: 120_000 }, () => {
  it("audits 3000 readings of both schemes on 2 worker threads and pins the two bad ones", async () => {
    const digester = new ReadingDigester(31337, anchor);
    const devices = (["secp256k1", "p256", "secp256k1", "p256"] as KeyScheme[]).map((scheme) => {
      const priv = generatePrivateKey(scheme);
      const publicKey = publicKeyFromPrivate(scheme, priv);
      return { scheme, priv, publicKey, address: deviceIdFromPublicKey(publicKey) };
    });
    const items = Array.from({ length: 3000 }, (_, i) => {
      const d = devices[i % 4];
      const reading: Reading = {
        device: d.address,
        seq: BigInt(Math.floor(i / 4) + 1),
        timestamp: 1_700_000_000n + BigInt(i),
        dataHash: bytesToHex(randomBytes(32)),
      };
      const signer = i === 17 ? devices[(i + 2) % 4] : d; // same scheme, wrong key
      let signature = signDigest(signer.scheme, signer.priv, digester.digest(reading));
      if (i === 2500) signature = signature.slice(0, signature.length - 1); // wrong length
      return { reading, signature };
    });
    const batch = buildBatch({ chainId: 31337, anchor, items });
    const keys = new Map<string, DeviceKey>(devices.map((d) => [d.address, { scheme: d.scheme, publicKey: d.publicKey }]));
    const pool = new SignaturePool({ threads: 2 });
    try {
      const { result, authentic } = await auditManifest({
        batch: {
          batchId: 1n,
          root: batch.root,
          manifestHash: batch.manifestHash,
          leafCount: 3000,
          anchoredAt: 1_700_010_000n,
          blockNumber: 1n,
        },
        manifestBytes: batch.manifestBytes,
        chainId: 31337,
        anchor,
        directory: { device: (a) => keys.get(a), statusAt: () => 1 },
        maxAnchorDelay: 86_400n,
        pool,
      });
      assert.equal(pool.failure, undefined, "workers ran");
      assert.equal(authentic, true);
      assert.equal(result.counts.VERIFIED, 2998);
      assert.equal(result.counts.BAD_SIGNATURE, 2);
      const bad = result.readings
        .filter((r) => r.status === "BAD_SIGNATURE")
        .map((r) => `${r.device}:${r.seq}`)
        .sort();
      assert.deepEqual(bad, [items[17], items[2500]].map((x) => `${x.reading.device}:${x.reading.seq}`).sort());
    } finally {
      await pool.close();
    }
  });
});
