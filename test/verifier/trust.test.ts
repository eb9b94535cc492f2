/**
 * TRUST-MODEL §0–§1 in the verifier, against a real chain and platform: the one timestamp rule
 * (future-dated, anchored too late, suspended, revoked at anchoring, compromised since before the
 * anchoring) judged as the contract's `verifyReading` judges it, and a batch whose manifest its
 * relayer's registered URL does not serve → its readings UNAVAILABLE.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";

import { createTestClient, createWalletClient, http as httpTransport } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi, readingAnchorAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import {
  ReceiptDigester,
  ReceiptRootDigester,
  receiptFromJson,
  receiptsUnderRoot,
  receiptTree,
  signReceipt,
  signReceiptRoot,
} from "../../oracle/core/receipt.js";
import { parseReceipts } from "../../oracle/verifier/censorship.js";
import { verifyReadingOnChain } from "../../oracle/verifier/contract-verdict.js";
import { fetchManifest, maxManifestBytes } from "../../oracle/verifier/manifest-fetch.js";
import type { Report } from "../../oracle/verifier/types.js";
import { Verifier } from "../../oracle/verifier/verifier.js";
import { chainTime, registeredDevice, startStack, type SignedPayload, type Stack, type TestDevice } from "./fixtures.js";

type Name = "ok" | "fut" | "sus" | "comp" | "rev" | "una" | "late" | "dir" | "cen";

describe("verifier: the one timestamp rule and unavailable manifests", { timeout: 300_000 }, () => {
  let stack: Stack;
  let verifier: Verifier;
  let report: Report;
  const dev = {} as Record<Name, TestDevice>;
  const sent = {} as Record<string, SignedPayload>;
  const batches: { batchId: number; items: SignedPayload[]; proofs: `0x${string}`[][] }[] = [];
  let unavailableBatch: number;
  let directTx: `0x${string}`;
  const receipts: unknown[] = [];

  const result = (s: SignedPayload) => report.readings.find((r) => r.device === s.reading.device && r.seq === Number(s.reading.seq))!;

  before(async () => {
    stack = await startStack();
    const { chain } = stack;
    // Only direct anchoring with the relayer's key from here: its worker must not race the nonces.
    await stack.relayer.close();
    for (const name of ["ok", "fut", "sus", "comp", "rev", "una", "late", "dir", "cen"] as const)
      dev[name] = await registeredDevice(chain, "secp256k1");
    await chain.mine(1, 5);
    const t0 = await chainTime(chain);
    sent.ok1 = stack.sign(dev.ok, 1, t0);
    sent.fut1 = stack.sign(dev.fut, 1, t0 + 2_000); // beyond MAX_CLOCK_SKEW of any anchoring below
    sent.sus1 = stack.sign(dev.sus, 1, t0);
    sent.comp1 = stack.sign(dev.comp, 1, t0);
    sent.rev1 = stack.sign(dev.rev, 1, t0);
    await chain.mine(1, 5);
    await chain.suspend(dev.sus.address);
    await chain.revoke(dev.rev.address);
    sent.sus2 = stack.sign(dev.sus, 2, (await chainTime(chain)) + 1); // dated in the suspension
    await chain.mine(1, 5);

    const anchor = async (items: SignedPayload[]) => {
      const { batchId, batch } = await stack.anchorDirect(items);
      batches.push({ batchId, items, proofs: batch.proofs });
      return batch.manifestBytes;
    };
    const mirrors = [await anchor([sent.ok1, sent.fut1, sent.sus1, sent.sus2, sent.comp1, sent.rev1])];

    // comp: compromised since t0, declared after its batch was anchored.
    const registrar = createWalletClient({
      account: privateKeyToAccount(chain.keys.registrar),
      chain: rpcChain(chain.chainId, "audit", chain.rpcUrl),
      transport: httpTransport(chain.rpcUrl),
    });
    const hash = await registrar.writeContract({
      address: chain.registry,
      abi: deviceRegistryAbi,
      functionName: "revokeDeviceCompromised",
      args: [dev.comp.address, BigInt(t0)],
    });
    await chain.publicClient.waitForTransactionReceipt({ hash });

    // dir: submitted directly on-chain (the censorship escape), by someone else than the relayer.
    sent.dir1 = stack.sign(dev.dir, 1, await chainTime(chain));
    directTx = await registrar.writeContract({
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "submitReading",
      args: [sent.dir1.reading, sent.dir1.signature],
    });
    await chain.publicClient.waitForTransactionReceipt({ hash: directTx });

    // una: anchored by the registered relayer, whose registered URL does not serve the manifest.
    sent.una1 = stack.sign(dev.una, 1, await chainTime(chain));
    stack.serveManifests = false;
    await anchor([sent.una1]);
    unavailableBatch = batches.at(-1)!.batchId;

    // late: anchored more than maxAnchorDelay (86 400 s in local.json) after its time.
    sent.late1 = stack.sign(dev.late, 1, await chainTime(chain));
    await createTestClient({ mode: "hardhat", transport: httpTransport(chain.rpcUrl) }).increaseTime({ seconds: 90_000 });
    await chain.mine(1);
    mirrors.push(await anchor([sent.late1]));

    // cen: the relayer receipted seq 1 (registered receipt key) and seq 2 (a key no registration names),
    // and anchored neither; the chain then passes both deadlines.
    const t2 = await chainTime(chain);
    sent.cen1 = stack.sign(dev.cen, 1, t2);
    sent.cen2 = stack.sign(dev.cen, 2, t2 + 1);
    const digester = new ReceiptDigester(chain.chainId, chain.anchor);
    const receipt = (s: SignedPayload, key: `0x${string}`) => {
      const r = { device: s.reading.device, seq: s.reading.seq, dataHash: s.reading.dataHash, deadline: BigInt(t2 + 60) };
      const signature = signReceipt(digester, key, r);
      // As the relayer's 202 body carries it.
      return {
        receipt: { ...r, seq: String(r.seq), deadline: String(r.deadline), signature, signer: privateKeyToAccount(key).address },
      };
    };
    receipts.push(receipt(sent.cen1, chain.keys.receipt), receipt(sent.cen2, generatePrivateKey()));
    // seq 3 and 4: receipted by one root (a bulk's answer to Prefer: receipt=root), kept with the readings
    // as the device sent them; seq 5: a lone receipt claiming to be under that root, its proof forged.
    sent.cen3 = stack.sign(dev.cen, 3, t2 + 2);
    sent.cen4 = stack.sign(dev.cen, 4, t2 + 2);
    sent.cen5 = stack.sign(dev.cen, 5, t2 + 2);
    const bulk = [sent.cen3, sent.cen4].map((s) => ({
      ...s.reading,
      seq: String(s.reading.seq),
      timestamp: String(s.reading.timestamp),
      signature: s.signature,
    }));
    const tree = receiptTree(bulk.map((r) => ({ ...receiptFromJson({ ...r, deadline: String(t2 + 60) }) })));
    const root = {
      root: tree.root,
      count: tree.leafCount,
      deadline: String(t2 + 60),
      signature: signReceiptRoot(new ReceiptRootDigester(chain.chainId, chain.anchor), chain.keys.receipt, { root: tree.root, count: 2 }),
      signer: privateKeyToAccount(chain.keys.receipt).address,
    };
    receipts.push({ receipt: root, readings: bulk });
    const forged = { ...receiptsUnderRoot(root, bulk)[0], seq: "5", dataHash: sent.cen5.reading.dataHash };
    receipts.push({ receipt: forged, reading: { timestamp: String(sent.cen5.reading.timestamp), signature: sent.cen5.signature } });
    await createTestClient({ mode: "hardhat", transport: httpTransport(chain.rpcUrl) }).increaseTime({ seconds: 120 });
    await chain.mine(1);

    for (const s of Object.values(sent)) stack.insertRaw(s);
    verifier = await Verifier.create({
      rpc: chain.rpcUrl,
      anchor: chain.anchor,
      platform: { url: stack.platformUrl, apiKey: stack.apiKey },
      manifests: mirrors,
      receipts: parseReceipts(JSON.parse(JSON.stringify(receipts))),
      threads: 1,
    });
    report = await verifier.verifyAll();
  });

  after(async () => {
    await verifier?.close();
    await stack?.close();
  });

  it("attack 2: a future-dated reading is INVALID_TIMESTAMP (FUTURE_TIMESTAMP), an honest one VERIFIED", () => {
    assert.equal(result(sent.ok1).status, "VERIFIED");
    assert.equal(result(sent.fut1).status, "INVALID_TIMESTAMP");
    assert.equal(result(sent.fut1).problems[0].details?.reason, "FUTURE_TIMESTAMP");
  });

  it("attack 3: a reading anchored later than maxAnchorDelayAt(A) is INVALID_TIMESTAMP (ANCHORED_TOO_LATE)", () => {
    assert.equal(result(sent.late1).status, "INVALID_TIMESTAMP");
    assert.equal(result(sent.late1).problems[0].details?.reason, "ANCHORED_TOO_LATE");
  });

  it("attack 3: suspension — dated before it VERIFIED, dated in it DEVICE_NOT_ACTIVE; revoked at anchoring DEVICE_REVOKED", () => {
    assert.equal(result(sent.sus1).status, "VERIFIED");
    assert.equal(result(sent.sus2).status, "DEVICE_NOT_ACTIVE");
    assert.equal(result(sent.rev1).status, "DEVICE_REVOKED");
  });

  it("attack 3: compromise since t0 un-verifies a reading dated ≥ t0 in a batch anchored before the compromise", () => {
    assert.equal(result(sent.comp1).status, "DEVICE_NOT_ACTIVE");
  });

  it("agrees with the contract's verifyReading on every anchored reading", async () => {
    let compared = 0;
    for (const b of batches) {
      if (b.batchId === unavailableBatch) continue;
      const { anchoredAt } = (await verifier.chain.batch(b.batchId))!;
      for (const [i, s] of b.items.entries()) {
        const onChain = await verifyReadingOnChain(stack.chain.publicClient, stack.chain.anchor, {
          batchId: BigInt(b.batchId),
          reading: s.reading,
          signature: s.signature,
          proof: b.proofs[i],
          anchoredAt,
        });
        assert.equal(result(s).status, onChain.status, `${s.reading.device} #${s.reading.seq} (${onChain.error ?? "ok"})`);
        compared++;
      }
    }
    assert.equal(compared, 7);
  });

  it("attack 5: a reading submitted directly (submitReading) is VERIFIED with its tx as evidence, not NOT_ANCHORED", async () => {
    const r = result(sent.dir1);
    assert.equal(r.status, "VERIFIED", JSON.stringify(r.problems));
    assert.equal(r.direct?.txHash, directTx);
    assert.equal(r.anchor, undefined);
    const one = await verifier.verifyReading(dev.dir.address, 1);
    assert.equal(one.status, "VERIFIED");
    assert.equal(one.direct?.txHash, directTx);
  });

  it("attack 6: a binding receipt whose deadline passed unanchored → CENSORED with the receipt and the registration as evidence", () => {
    const r = result(sent.cen1);
    assert.equal(r.status, "CENSORED", JSON.stringify(r.problems));
    const evidence = r.problems[0].details as { signer: string; registration: { receiptSigner: string; txHash: string } };
    assert.equal(evidence.signer, privateKeyToAccount(stack.chain.keys.receipt).address);
    assert.equal(evidence.registration.receiptSigner, evidence.signer);
    assert.match(evidence.registration.txHash, /^0x[0-9a-f]{64}$/);
  });

  it("attack 6: a receipt signed by a key no RelayerRegistered names is not evidence (NOT_ANCHORED)", () => {
    assert.equal(result(sent.cen2).status, "NOT_ANCHORED");
  });

  it("attack 6: readings receipted under one signed root are CENSORED too; a receipt with a forged proof is not evidence", () => {
    for (const s of [sent.cen3, sent.cen4]) {
      const r = result(s);
      assert.equal(r.status, "CENSORED", JSON.stringify(r.problems));
      const evidence = r.problems[0].details as { signer: string; receipt: { root: string; proof: string[] } };
      assert.equal(evidence.signer, privateKeyToAccount(stack.chain.keys.receipt).address);
      assert.equal(evidence.receipt.proof.length, 1);
    }
    assert.equal(result(sent.cen5).status, "NOT_ANCHORED");
  });

  it("§1: a batch whose manifest its relayer's registered URL does not serve → its readings UNAVAILABLE, the batch not ok", async () => {
    assert.equal(result(sent.una1).status, "UNAVAILABLE");
    const audit = await verifier.auditBatch(unavailableBatch);
    assert.equal(audit.ok, false);
    assert.deepEqual(
      audit.issues.map((i) => i.issue),
      ["MANIFEST_MISSING"],
    );
  });
});

describe("verifier: manifest fetch is size-capped and streamed", () => {
  it("aborts a body larger than 1024 + 512·leafCount bytes (TOO_LARGE) and takes one within it", async () => {
    const HUGE_ROOT = `0x${"11".repeat(32)}`;
    const server = http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      // The "huge" route never ends on its own: only the cap stops the read.
      if (req.url!.includes(`/${HUGE_ROOT}/`)) {
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (res.write(chunk));
        };
        res.on("drain", pump);
        pump();
        req.on("close", () => res.destroy());
      } else res.end(Buffer.alloc(maxManifestBytes(2), 0x20));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const huge = await fetchManifest({ manifestUrl: url, root: HUGE_ROOT, leafCount: 2 });
      assert.equal(huge.ok, false);
      assert.equal(!huge.ok && huge.reason, "TOO_LARGE");
      const fits = await fetchManifest({ manifestUrl: url, root: `0x${"22".repeat(32)}`, leafCount: 2 });
      assert.equal(fits.ok && fits.bytes.length, maxManifestBytes(2));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
