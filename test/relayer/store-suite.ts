/**
 * The relayer store's suite, run once per backend by store-sqlite.test.ts and store-postgres.test.ts.
 * Importing this file does nothing: it only exports {@link relayerStoreSuite}.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";

import type { Address, Hex } from "viem";

import { bytesToHex } from "../../oracle/core/bytes.js";
import { IntakeWriter } from "../../oracle/relayer/intake.js";
import { RelayerStore, type BatchRow, type Candidate, type StoredReceipt } from "../../oracle/relayer/store.js";
import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";

export interface StoreBackend {
  name: string;
  skip?: string | undefined;
  /** A fresh, empty database each call. */
  fresh(): Promise<{ url: string; drop(): Promise<void> }>;
}

const ANCHOR: Address = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const DEV_A: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const DEV_B: Address = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;
const sig = (n: number): Hex => `0x${n.toString(16).padStart(130, "0")}`;
const candidate = (device: Address, seq: number, content = seq): Candidate => ({
  device,
  seq,
  timestamp: 1_700_000_000 + seq,
  dataHash: hash(content),
  signature: sig(content),
});

function signer() {
  let calls = 0;
  const one = (c: Candidate): StoredReceipt => {
    calls++;
    return { deadline: 1_800_000_000 + c.seq, signature: sig(1000 + calls) };
  };
  const sign = (fresh: readonly Candidate[]): StoredReceipt[] => fresh.map(one);
  return { sign, calls: () => calls };
}

const build = (readings: Candidate[]) => ({
  root: hash(0xabc000 + readings[0].seq),
  leafCount: readings.length,
  manifestHash: hash(0xdef000 + readings.length),
  manifestBytes: new TextEncoder().encode(JSON.stringify(readings.map((r) => [r.device, r.seq]))),
});

export function relayerStoreSuite(backend: StoreBackend): void {
  describe(`relayer store (${backend.name})`, { skip: backend.skip ?? false }, () => {
    const cleanups: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanups.reverse()) await c();
    });

    async function fresh(): Promise<{ store: RelayerStore; db: SqlDatabase; url: string }> {
      const { url, drop } = await backend.fresh();
      const db = await openDatabase(url);
      cleanups.push(drop);
      cleanups.push(async () => {
        await db.close().catch(() => undefined);
      });
      const store = await RelayerStore.open(db);
      await store.bindChain(31337, ANCHOR);
      return { store, db, url };
    }

    it("binds to one chain and anchor and refuses another", async () => {
      const { store } = await fresh();
      await store.bindChain(31337, ANCHOR.toLowerCase() as Address);
      await assert.rejects(store.bindChain(31338, ANCHOR), { code: "STORE_MISMATCH" });
      await assert.rejects(store.bindChain(31337, DEV_A), { code: "STORE_MISMATCH" });
    });

    it("accepts increasing seqs (gaps allowed), answers duplicates with the stored receipt, refuses conflicts; a lower seq not seen before is accepted (each (device, seq) once, any order)", async () => {
      const { store } = await fresh();
      const s = signer();
      const first = await store.acceptReadings(
        [candidate(DEV_A, 1), candidate(DEV_A, 2), candidate(DEV_B, 7), candidate(DEV_A, 5)],
        s.sign,
        1000,
      );
      assert.deepEqual(
        first.map((o) => o.kind),
        ["accepted", "accepted", "accepted", "accepted"],
      );
      assert.equal(s.calls(), 4);
      assert.equal(store.queueDepth, 4);

      const second = await store.acceptReadings(
        [
          candidate(DEV_A, 2), // identical resend
          candidate(DEV_A, 2, 99), // same seq, other content
          candidate(DEV_A, 3), // below the last accepted (5), never seen: accepted (TRUST-MODEL §7)
          candidate(DEV_A, 6),
          candidate(DEV_A, 6), // resend within the same group
        ],
        s.sign,
        2000,
      );
      assert.deepEqual(second[0], { kind: "duplicate", receipt: { deadline: 1_800_000_002, signature: sig(1002) } });
      assert.deepEqual(second[1], { kind: "conflict", existing: { timestamp: 1_700_000_002, dataHash: hash(2) } });
      assert.equal(second[2].kind, "accepted");
      assert.equal(second[3].kind, "accepted");
      assert.equal(second[4].kind, "duplicate");
      assert.equal(s.calls(), 6, "only the new readings were signed");
      assert.equal(store.queueDepth, 6);
      assert.deepEqual(await store.rowCounts(), { readings: 6, batches: 0, txs: 0 });

      const row = await store.reading(DEV_A, 6);
      assert.deepEqual(row, {
        id: row?.id,
        device: DEV_A,
        seq: 6,
        timestamp: 1_700_000_006,
        dataHash: hash(6),
        signature: sig(6),
        receivedAt: 2000,
        receipt: { deadline: 1_800_000_006, signature: sig(1006) },
        batchId: null,
      });
      assert.equal((await store.reading(DEV_A, 3))?.seq, 3);
    });

    it("readings whose receipts were signed at check time: the same answers, straight to the insert, nothing signed at commit", async () => {
      const { store } = await fresh();
      const s = signer();
      const presigned = (c: Candidate, n: number): Candidate => ({
        ...c,
        receipt: { deadline: 1_900_000_000 + n, signature: sig(2000 + n) },
      });
      const first = await store.acceptReadings([presigned(candidate(DEV_A, 1), 1), presigned(candidate(DEV_A, 2), 2)], s.sign, 1000);
      assert.deepEqual(first, [
        { kind: "accepted", receipt: { deadline: 1_900_000_001, signature: sig(2001) } },
        { kind: "accepted", receipt: { deadline: 1_900_000_002, signature: sig(2002) } },
      ]);
      const second = await store.acceptReadings(
        [
          presigned(candidate(DEV_A, 2), 3), // identical resend: the stored receipt, not its new one
          presigned(candidate(DEV_A, 2, 99), 4), // same seq, other content
          presigned(candidate(DEV_A, 6), 5),
          presigned(candidate(DEV_A, 6), 6), // resend within the same group
        ],
        s.sign,
        2000,
      );
      assert.deepEqual(second, [
        { kind: "duplicate", receipt: { deadline: 1_900_000_002, signature: sig(2002) } },
        { kind: "conflict", existing: { timestamp: 1_700_000_002, dataHash: hash(2) } },
        { kind: "accepted", receipt: { deadline: 1_900_000_005, signature: sig(2005) } },
        { kind: "duplicate", receipt: { deadline: 1_900_000_005, signature: sig(2005) } },
      ]);
      assert.equal(s.calls(), 0, "nothing signed at commit");
      assert.equal(store.queueDepth, 3);
      assert.deepEqual(await store.rowCounts(), { readings: 3, batches: 0, txs: 0 });
      assert.deepEqual((await store.reading(DEV_A, 2))?.receipt, { deadline: 1_900_000_002, signature: sig(2002) });
    });

    it("group-commits concurrent submissions without losing or doubling a reading", async () => {
      const { store } = await fresh();
      const s = signer();
      const writer = new IntakeWriter(store, s.sign);
      const devices = Array.from({ length: 8 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}` as Address);
      const jobs: Promise<unknown>[] = [];
      for (let seq = 1; seq <= 25; seq++) for (const d of devices) jobs.push(writer.submit([candidate(d, seq)]));
      // The same readings again, concurrently: all duplicates.
      const results = (await Promise.all(jobs)) as { kind: string }[][];
      assert.ok(results.every((r) => r[0].kind === "accepted"));
      const again = (await Promise.all(devices.map((d) => writer.submit([candidate(d, 25), candidate(d, 24)])))).flat();
      assert.ok(again.every((o) => o.kind === "duplicate"));
      await writer.idle();
      assert.equal(store.queueDepth, 200);
      assert.deepEqual(await store.rowCounts(), { readings: 200, batches: 0, txs: 0 });
    });

    it("cuts a batch atomically: oldest first, readings tied to it, manifest bytes kept exactly; a failing build changes nothing", async () => {
      const { store } = await fresh();
      const s = signer();
      await store.acceptReadings(
        [1, 2, 3, 4, 5].map((n) => candidate(DEV_A, n)),
        s.sign,
      );
      await assert.rejects(
        store.createBatch(3, () => {
          throw new Error("build failed");
        }),
        /build failed/,
      );
      assert.equal(store.queueDepth, 5);
      assert.deepEqual(await store.rowCounts(), { readings: 5, batches: 0, txs: 0 });

      const batch = await store.createBatch(3, build, 5000);
      assert.ok(batch);
      assert.equal(batch.status, "queued");
      assert.equal(batch.leafCount, 3);
      assert.equal(batch.root, hash(0xabc001));
      assert.equal(store.queueDepth, 2);
      assert.equal((await store.reading(DEV_A, 1))?.batchId, batch.id);
      assert.equal((await store.reading(DEV_A, 3))?.batchId, batch.id);
      assert.equal((await store.reading(DEV_A, 4))?.batchId, null);
      assert.equal((await store.oldestQueuedAt()) !== undefined, true);
      const bytes = await store.manifest(batch.id);
      assert.equal(
        new TextDecoder().decode(bytes),
        JSON.stringify([
          [DEV_A, 1],
          [DEV_A, 2],
          [DEV_A, 3],
        ]),
      );
      assert.deepEqual(await store.batchByRoot(batch.root.toUpperCase().replace("0X", "0x") as Hex), batch);

      const rest = await store.createBatch(3, build);
      assert.equal(rest?.leafCount, 2);
      assert.equal(await store.createBatch(3, build), undefined);
      assert.equal(store.queueDepth, 0);
      assert.equal(await store.oldestQueuedAt(), undefined);
    });

    it("keeps the anchoring lifecycle: persisted txs, mined, reorged back to sent, dropped and requeued, confirmed", async () => {
      const { store } = await fresh();
      await store.acceptReadings([candidate(DEV_A, 1), candidate(DEV_A, 2)], signer().sign);
      const batch = (await store.createBatch(10, build))!;
      assert.equal(await store.maxPendingNonce(), undefined);

      const tx1 = await store.recordTx(
        batch.id,
        {
          kind: "initial",
          nonce: 7,
          hash: hash(0x71),
          raw: "0x02f8aa",
          gas: 90_000n,
          maxFeePerGas: 2_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
        },
        10_000,
      );
      assert.deepEqual(
        { ...tx1, id: 0 },
        {
          id: 0,
          batchId: batch.id,
          kind: "initial",
          status: "pending",
          nonce: 7,
          hash: hash(0x71),
          raw: "0x02f8aa",
          gas: 90_000n,
          maxFeePerGas: 2_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
          createdAt: 10_000,
          sentAt: 10_000,
        },
      );
      assert.equal((await store.batch(batch.id))?.status, "sent");
      const big = (1n << 70n) + 12345n; // fees above 2^64 survive
      await store.recordTx(
        batch.id,
        { kind: "bump", nonce: 7, hash: hash(0x72), raw: "0x02f8bb", gas: 90_000n, maxFeePerGas: big, maxPriorityFeePerGas: big },
        11_000,
      );
      assert.equal(await store.maxPendingNonce(), 7);
      assert.equal((await store.txs(batch.id))[1].maxFeePerGas, big);

      await store.markMined(
        batch.id,
        { anchorBatchId: 3, txHash: hash(0x72), blockNumber: 40, blockHash: hash(0x40), gasUsed: 70_000n },
        12_000,
      );
      let b = (await store.batch(batch.id))!;
      assert.equal(b.status, "mined");
      assert.equal(b.anchorBatchId, 3);
      assert.equal(b.txHash, hash(0x72));
      assert.equal(b.blockNumber, 40);
      assert.equal(b.gasUsed, 70_000n);
      assert.deepEqual(
        (await store.txs(batch.id)).map((t) => t.status),
        ["replaced", "mined"],
      );
      assert.deepEqual(await store.batchByAnchorId(3), b);
      assert.equal(await store.maxPendingNonce(), undefined);

      await store.markReorged(batch.id, 13_000);
      b = (await store.batch(batch.id))!;
      assert.equal(b.status, "sent");
      assert.equal(b.reorgs, 1);
      assert.equal(b.blockHash, null);
      assert.equal(b.anchorBatchId, null);
      assert.equal(await store.batchByAnchorId(3), undefined);
      const txs = await store.txs(batch.id);
      assert.deepEqual(
        txs.map((t) => t.status),
        ["replaced", "pending"],
      );
      assert.equal(txs[1].sentAt, 13_000);

      await store.requeueBatch(batch.id, "dropped", "nonce 7 used by another transaction", 14_000);
      b = (await store.batch(batch.id))!;
      assert.equal(b.status, "queued");
      assert.equal(b.lastError, "nonce 7 used by another transaction");
      assert.equal(b.nextAttemptAt, 14_000);
      assert.deepEqual(
        (await store.txs(batch.id)).map((t) => t.status),
        ["replaced", "dropped"],
      );

      await store.recordTx(batch.id, {
        kind: "resign",
        nonce: 8,
        hash: hash(0x81),
        raw: "0x02f8cc",
        gas: 90_000n,
        maxFeePerGas: 1n,
        maxPriorityFeePerGas: 1n,
      });
      await store.markMined(batch.id, { anchorBatchId: 4, txHash: hash(0x81), blockNumber: 41, blockHash: hash(0x41), gasUsed: null });
      await store.markConfirmed(batch.id, 15_000);
      b = (await store.batch(batch.id))!;
      assert.equal(b.status, "confirmed");
      assert.equal(b.confirmedAt, 15_000);
      assert.equal(b.attempts, 3);
      assert.deepEqual(await store.batchCounts(), { queued: 0, sent: 0, mined: 0, confirmed: 1, failed: 0 });
      assert.deepEqual(await store.activeBatches(), []);

      await store.markFailed(batch.id, "operator test");
      assert.equal((await store.batch(batch.id))?.status, "failed");
    });

    it("survives a reopen: queue depth and sequences come back from the store", async () => {
      const { store, db, url } = await fresh();
      await store.acceptReadings([candidate(DEV_A, 1), candidate(DEV_A, 2), candidate(DEV_B, 1)], signer().sign);
      await store.createBatch(1, build);
      await db.close();

      const db2 = await openDatabase(url);
      cleanups.push(async () => {
        await db2.close().catch(() => undefined);
      });
      const reopened = await RelayerStore.open(db2);
      await reopened.bindChain(31337, ANCHOR);
      assert.equal(reopened.queueDepth, 2);
      const outcomes = await reopened.acceptReadings(
        [candidate(DEV_A, 2), candidate(DEV_A, 1, 77), candidate(DEV_B, 1), candidate(DEV_A, 3)],
        signer().sign,
      );
      assert.deepEqual(
        outcomes.map((o) => o.kind),
        ["duplicate", "conflict", "duplicate", "accepted"],
      );
      assert.equal(reopened.queueDepth, 3);
      const bytes = await reopened.manifest(1);
      assert.ok(bytes && bytes.length > 0);
      assert.equal(bytesToHex(bytes).length > 2, true);
    });

    it(
      "two instances on one store: each (device, seq) accepted once, the loser answered from the winner's row; no reading in two batches",
      {
        skip: backend.name === "sqlite" ? "one process writes a SQLite store; several instances share PostgreSQL" : false,
      },
      async () => {
        const { store: a, url } = await fresh();
        const db2 = await openDatabase(url);
        cleanups.push(async () => {
          await db2.close().catch(() => undefined);
        });
        const b = await RelayerStore.open(db2);
        const devices = Array.from({ length: 6 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}` as Address);
        const all = devices.flatMap((d) => Array.from({ length: 40 }, (_, k) => candidate(d, k + 1)));
        const sa = signer();
        const sb = signer();
        // The same readings through both instances at once, in chunks so their transactions interleave.
        const chunks = (list: Candidate[]) => Array.from({ length: 8 }, (_, i) => list.slice(i * 30, i * 30 + 30));
        const [fromA, fromB] = await Promise.all([
          Promise.all(chunks(all).map((c) => a.acceptReadings(c, sa.sign))),
          Promise.all(chunks([...all].reverse()).map((c) => b.acceptReadings(c, sb.sign))),
        ]);
        const outA = fromA.flat();
        const outB = fromB.flat().reverse();
        for (let i = 0; i < all.length; i++) {
          const kinds = [outA[i].kind, outB[i].kind].sort();
          assert.deepEqual(kinds, ["accepted", "duplicate"], `reading ${i} accepted exactly once`);
          const receiptA = (outA[i] as { receipt: StoredReceipt }).receipt;
          const receiptB = (outB[i] as { receipt: StoredReceipt }).receipt;
          assert.deepEqual(receiptA, receiptB, "the duplicate carries the winner's receipt");
        }
        assert.deepEqual(await a.rowCounts(), { readings: all.length, batches: 0, txs: 0 });
        assert.equal(await b.countQueued(), all.length);

        const cut = await Promise.all([a, b, a, b].map((s) => s.createBatch(50, build).catch((e: unknown) => e)));
        const batches = cut.filter((x): x is BatchRow => x !== undefined && !(x instanceof Error));
        const leaves = batches.reduce((n, x) => n + x.leafCount, 0);
        const taken = await a.db.query<{ n: number }>("SELECT COUNT(*) AS n FROM relayer_readings WHERE batch_id IS NOT NULL");
        assert.equal(Number(taken[0].n), leaves, "every batched reading in exactly one batch");
        assert.ok(leaves >= 50 && leaves <= 200);
      },
    );

    it("anchoring lease: one holder at a time, renewed by its holder, taken over once expired, released on stop; a lost lease fences recordTx", async () => {
      const { store } = await fresh();
      assert.equal(await store.acquireLease("anchorer:x", "p1", 1000, 10_000), true);
      assert.equal(await store.acquireLease("anchorer:x", "p2", 1000, 10_500), false, "held by p1");
      assert.equal(await store.acquireLease("anchorer:x", "p1", 1000, 10_900), true, "renewed");
      assert.deepEqual(await store.lease("anchorer:x"), { holder: "p1", expiresAt: 11_900 });
      assert.equal(await store.acquireLease("anchorer:x", "p2", 1000, 12_000), true, "expired: taken over");
      await store.acceptReadings([candidate(DEV_A, 1)], signer().sign);
      const batch = (await store.createBatch(10, build))!;
      const tx = {
        kind: "initial" as const,
        nonce: 1,
        hash: hash(0x91),
        raw: "0x02" as Hex,
        gas: 1n,
        maxFeePerGas: 1n,
        maxPriorityFeePerGas: 1n,
      };
      await assert.rejects(store.recordTx(batch.id, tx, 12_100, { name: "anchorer:x", holder: "p1", ttlMs: 1000 }), {
        code: "ANCHOR_LEASE_LOST",
      });
      assert.deepEqual(await store.txs(batch.id), [], "nothing recorded by the old holder");
      await store.recordTx(batch.id, tx, 12_100, { name: "anchorer:x", holder: "p2", ttlMs: 1000 });
      assert.deepEqual(await store.lease("anchorer:x"), { holder: "p2", expiresAt: 13_100 }, "recording renews the lease");
      await store.releaseLease("anchorer:x", "p2");
      assert.equal(await store.acquireLease("anchorer:x", "p1", 1000, 12_200), true, "released: taken at once");
    });
  });
}
