/**
 * The signature pool on real worker_threads, and the pure full-batch audit without a chain.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

import type { Address } from "viem";

import { bytesToHex, randomBytes } from "../../oracle/core/bytes.js";
import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest, type KeyScheme } from "../../oracle/core/keys.js";
import { buildBatch } from "../../oracle/core/manifest.js";
import { ReadingDigester, type Reading } from "../../oracle/core/reading.js";
import { auditManifest } from "../../oracle/verifier/audit.js";
import { repoRoot } from "../helpers/run-script.js";
import { NO_KEY, packedJob, SignaturePool, verifySignaturesInline, type DeviceKey, type SignatureJob } from "../../oracle/verifier/pool.js";

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

  it("packs a job chunk by chunk as it sends it, chunks shrinking to the end, buffers transferred, answers as inline", async () => {
    const n = 20_000;
    const devices = Array.from({ length: 4 }, () => {
      const priv = generatePrivateKey("secp256k1");
      return { priv, publicKey: publicKeyFromPrivate("secp256k1", priv) };
    });
    const digests = Array.from({ length: n }, () => randomBytes(32));
    const signatures = digests.map((d, i) => signDigest("secp256k1", devices[i % 4].priv, d));
    const bad = new Set([0, 8191, 8192, 12_345, n - 1]);
    for (const i of bad) signatures[i] = signDigest("secp256k1", devices[(i + 1) % 4].priv, digests[i]); // another key
    const keyIndex = Uint32Array.from({ length: n }, (_, i) => (i === 777 ? NO_KEY : i % 4));
    const keys: DeviceKey[] = devices.map((d) => ({ scheme: "secp256k1", publicKey: d.publicKey }));
    const inner = packedJob(
      keys,
      keyIndex,
      (i) => digests[i],
      (i) => signatures[i],
    );
    let answered = 0;
    const packed: { start: number; end: number; answeredBefore: number; chunk: ReturnType<SignatureJob["prepare"]> }[] = [];
    const job: SignatureJob = {
      ...inner,
      prepare: (start, end) => {
        const chunk = inner.prepare(start, end);
        packed.push({ start, end, answeredBefore: answered, chunk });
        return chunk;
      },
    };
    const pool = new SignaturePool({ threads: 2 });
    try {
      const ok = await pool.verify(job, (done) => (answered = done));
      assert.equal(pool.failure, undefined, "workers ran");
      assert.deepEqual(ok, verifySignaturesInline(inner));
      for (let i = 0; i < n; i++) assert.equal(ok[i], bad.has(i) || i === 777 ? 0 : 1, `item ${i}`);
      // Each range once, in order, covering the job; more chunks than the first four in flight.
      assert.ok(packed.length > 4, `${packed.length} chunks`);
      packed.forEach((c, k) => assert.equal(c.start, k === 0 ? 0 : packed[k - 1].end));
      assert.equal(packed.at(-1)!.end, n);
      // Lazily: later chunks are packed only after answers came back.
      assert.equal(packed[0].answeredBefore, 0);
      assert.ok(packed.at(-1)!.answeredBefore > 0);
      // Shrinking: never larger than the chunk before, the last ones smaller than the first.
      const sizes = packed.map((c) => c.end - c.start);
      sizes.forEach((size, k) => assert.ok(k === 0 || size <= sizes[k - 1], `sizes ${sizes.join(",")}`));
      assert.ok(sizes.at(-1)! < sizes[0], `sizes ${sizes.join(",")}`);
      // Transferred, not copied: the packed buffers are detached on this side.
      for (const { chunk } of packed) assert.equal(chunk.digests.byteLength + chunk.signatures.byteLength + chunk.keyIndex.byteLength, 0);
    } finally {
      await pool.close();
    }
  });

  it("two jobs at once on one pool (the auditor checks two items at a time): each is checked against its own keys", async () => {
    // Each job's device keys are a table its chunks index into. A worker that kept one table for all jobs
    // checked the first job's later chunks against the second job's keys: valid readings came out
    // BAD_SIGNATURE (the 100,000-device soak with THREADS=2 raised 19,768 false alerts).
    const jobOf = (n: number, bad: number) => {
      const devices = Array.from({ length: 4 }, () => {
        const priv = generatePrivateKey("secp256k1");
        return { priv, publicKey: publicKeyFromPrivate("secp256k1", priv) };
      });
      const digests = Array.from({ length: n }, () => randomBytes(32));
      const signatures = digests.map((d, i) => signDigest("secp256k1", devices[(i === bad ? i + 1 : i) % 4].priv, d));
      return packedJob(
        devices.map((d) => ({ scheme: "secp256k1" as const, publicKey: d.publicKey })),
        Uint32Array.from({ length: n }, (_, i) => i % 4),
        (i) => digests[i],
        (i) => signatures[i],
      );
    };
    const first = jobOf(8000, 4321);
    const second = jobOf(6000, 17);
    const pool = new SignaturePool({ threads: 2 });
    try {
      const [a, b] = await Promise.all([pool.verify(first), pool.verify(second)]);
      assert.equal(pool.failure, undefined, "workers ran");
      assert.deepEqual(
        [...a.keys()].filter((i) => a[i] !== 1),
        [4321],
      );
      assert.deepEqual(
        [...b.keys()].filter((i) => b[i] !== 1),
        [17],
      );
    } finally {
      await pool.close();
    }
  });

  it("closed in the middle of a job: the job still answers, and the next job runs on new workers", async () => {
    // In a child process, so that a job left waiting shows as an exit with the job unsettled (code 13),
    // not as a hung test: before the fix the closed job waited forever on its terminated workers.
    const module = (file: string) => JSON.stringify(pathToFileURL(`${repoRoot}/oracle/${file}`).href);
    const script = `
      import { packedJob, SignaturePool } from ${module("verifier/pool.ts")};
      import { generatePrivateKey, publicKeyFromPrivate, signDigest } from ${module("core/keys.ts")};
      import { randomBytes } from ${module("core/bytes.ts")};
      const jobOf = (n, bad) => {
        const devices = Array.from({ length: 4 }, () => generatePrivateKey("secp256k1"));
        const digests = Array.from({ length: n }, () => randomBytes(32));
        const signatures = digests.map((d, i) => signDigest("secp256k1", devices[(i === bad ? i + 1 : i) % 4], d));
        return packedJob(
          devices.map((priv) => ({ scheme: "secp256k1", publicKey: publicKeyFromPrivate("secp256k1", priv) })),
          Uint32Array.from({ length: n }, (_, i) => i % 4), (i) => digests[i], (i) => signatures[i]);
      };
      const badOf = (ok) => [...ok.keys()].filter((i) => ok[i] !== 1);
      const pool = new SignaturePool({ threads: 2 });
      let closing;
      const first = await pool.verify(jobOf(8000, 4321), () => (closing ??= pool.close()));
      await closing;
      const progress = [];
      const second = await pool.verify(jobOf(6000, 17), (done) => progress.push(done));
      await pool.close();
      console.log(JSON.stringify({ first: badOf(first), second: badOf(second), chunks: progress.length, failure: String(pool.failure) }));
    `;
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "-e", script], { cwd: repoRoot });
    const { chunks, ...answers } = JSON.parse(stdout) as { chunks: number };
    assert.deepEqual(answers, { first: [4321], second: [17], failure: "undefined" });
    assert.ok(chunks > 1, `the second job ran on workers, chunk by chunk (${chunks} answers)`);
  });

  it("rejects with what a job's packing threw, and keeps its workers for the next job", async () => {
    const n = 6000;
    const priv = generatePrivateKey("secp256k1");
    const keys: DeviceKey[] = [{ scheme: "secp256k1", publicKey: publicKeyFromPrivate("secp256k1", priv) }];
    const digests = Array.from({ length: n }, () => randomBytes(32));
    const signatures = digests.map((d) => signDigest("secp256k1", priv, d));
    const good = packedJob(
      keys,
      new Uint32Array(n),
      (i) => digests[i],
      (i) => signatures[i],
    );
    const failure = new Error("cannot pack item 5000");
    const broken: SignatureJob = {
      ...good,
      prepare: (start, end) => {
        if (end > 5000) throw failure;
        return good.prepare(start, end);
      },
    };
    const pool = new SignaturePool({ threads: 2 });
    try {
      await assert.rejects(pool.verify(broken), (e) => e === failure);
      assert.equal(pool.failure, undefined);
      const ok = await pool.verify(good);
      assert.equal(pool.failure, undefined);
      assert.equal(
        ok.reduce((a, b) => a + b, 0),
        n,
      );
    } finally {
      await pool.close();
    }
  });
});
