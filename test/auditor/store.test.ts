/**
 * The auditor's store in both dialects (SQLite file; PostgreSQL when SENSORSEAL_TEST_PG_URL or a local
 * server is available): queueing with the cursor, idempotent verdicts and alerts, retries, rewind,
 * aggregates, and each device's latest verified reading and the counts per status kept equal to a full
 * recount.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, it } from "node:test";

import { AuditorStore, type VerdictRow } from "../../oracle/auditor/store.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { freshTestDatabase, pgSkipReason, type TestDatabase } from "../helpers/postgres.js";
import { tempDir } from "../relayer/fixtures.js";

const row = (seq: number, over: Partial<VerdictRow> = {}): VerdictRow => ({
  device: "0x00000000000000000000000000000000000000aa",
  seq,
  source: "batch:1",
  ts: 1_700_000_000 + seq * 60,
  status: "VERIFIED",
  problems: null,
  batchId: 1,
  blockNumber: 10,
  dataHash: null,
  pm25: 10 + seq,
  pm10: 20,
  temperature: 15,
  humidity: 50,
  lat: 57.1,
  lon: -2.1,
  checkedAt: 1,
  ...over,
});

function suite(name: string, open: () => Promise<{ url: string; cleanup(): Promise<void> }>, skip?: () => Promise<string | undefined>) {
  describe(`auditor store (${name})`, () => {
    it("queues work with the cursor, records verdicts and alerts once, retries, rewinds, aggregates", async (t) => {
      const reason = await skip?.();
      if (reason !== undefined) return t.skip(reason);
      const target = await open();
      const store = await AuditorStore.open(await openDatabase(target.url));
      try {
        await store.advance([{ kind: "batch", ref: "1", blockNumber: 10, blockHash: "0x01", detail: null }], {
          block: 12,
          blockHash: "0x12",
        });
        await store.advance([{ kind: "batch", ref: "1", blockNumber: 10, blockHash: "0x01", detail: null }], {
          block: 12,
          blockHash: "0x12",
        });
        assert.deepEqual(await store.cursor(), { block: 12, blockHash: "0x12" });
        const [item] = await store.dueWork(Date.now(), 10);
        assert.equal(item.ref, "1");
        await store.complete(item, [], [], { nextAt: Date.now() + 60_000, reason: "SERVICE_UNREACHABLE: platform" });
        assert.equal((await store.dueWork(Date.now(), 10)).length, 0, "not due before its retry time");
        assert.equal((await store.summary()).unchecked[0].reason, "SERVICE_UNREACHABLE: platform");
        const alert = { key: "TAMPERED:a:2", kind: "TAMPERED", device: "0xAA", seq: 2, message: "tampered" };
        assert.deepEqual(await store.complete(item, [row(1), row(2, { status: "TAMPERED" })], [alert]), ["TAMPERED"]);
        assert.deepEqual(await store.complete(item, [row(1), row(2, { status: "TAMPERED" })], [alert]), [], "a redo raises nothing new");
        const s = await store.summary();
        assert.deepEqual(s.verdicts, { VERIFIED: 1, TAMPERED: 1 });
        assert.deepEqual(s.work, { done: 1 });
        assert.equal((await store.verdicts({ status: "VERIFIED", limit: 10 })).length, 1);
        const [agg] = await store.aggregates({ bucket: 3600, limit: 10 });
        assert.equal(agg.n, 1);
        assert.equal(Number(agg.pm25), 11);
        assert.equal((await store.dueAlerts(Date.now(), 10)).length, 1);
        assert.deepEqual(await store.rewind(9, "0x09"), { work: 1, verdicts: 2 });
        assert.deepEqual(await store.cursor(), { block: 9, blockHash: "0x09" });
      } finally {
        await store.close();
        await target.cleanup();
      }
    });

    it("keeps each device's latest verified reading, its counts and the counts per status equal to a full recount through redo, re-verification, rewind, reopen", async (t) => {
      const reason = await skip?.();
      if (reason !== undefined) return t.skip(reason);
      const target = await open();
      let store = await AuditorStore.open(await openDatabase(target.url));
      const a = "0x00000000000000000000000000000000000000aa";
      const b = "0x00000000000000000000000000000000000000bb";
      const at = (block: number) => ({ blockNumber: block, batchId: block, source: `batch:${block}` });
      // The query the auditor ran on every poll before the per-device table: the oracle here.
      const recount = async () =>
        (
          await store.db.query<Record<string, unknown>>(
            `SELECT v.device, v.ts, v.seq, v.pm25, v.pm10, v.lat, v.lon, s.bad, s.total FROM auditor_verdicts v
             JOIN (SELECT device, MAX(CASE WHEN status = 'VERIFIED' THEN seq END) AS seq,
                          SUM(CASE WHEN status = 'VERIFIED' THEN 0 ELSE 1 END) AS bad, COUNT(*) AS total
                   FROM auditor_verdicts GROUP BY device) s ON s.device = v.device AND s.seq = v.seq
             WHERE v.status = 'VERIFIED' ORDER BY v.device`,
          )
        ).map((r) => ({ ...r, ts: Number(r.ts), seq: Number(r.seq), bad: Number(r.bad), total: Number(r.total) }));
      const countsByStatus = async () =>
        Object.fromEntries(
          (await store.db.query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM auditor_verdicts GROUP BY status")).map(
            (r) => [r.status, Number(r.n)],
          ),
        );
      const same = async (expected: { device: string; seq: number; bad: number; total: number }[]) => {
        // The counts per status the status endpoint answers: equal to counting every verdict.
        assert.deepEqual((await store.summary()).verdicts, await countsByStatus());
        const latest = await store.latestByDevice();
        assert.deepEqual(latest, await recount());
        assert.deepEqual(
          latest.map((l) => ({ device: l.device, seq: l.seq, bad: l.bad, total: l.total })),
          expected,
        );
      };
      try {
        const first = [row(1, at(10)), row(2, at(10)), row(3, at(10)), row(1, { ...at(10), device: b, status: "TAMPERED" })];
        await store.complete({ kind: "batch", ref: "10" }, first, []);
        await same([{ device: a, seq: 3, bad: 0, total: 3 }]);
        await store.complete({ kind: "batch", ref: "10" }, first, []);
        await same([{ device: a, seq: 3, bad: 0, total: 3 }]);
        // 250 rows: more than one statement's worth.
        const second = [row(4, at(11)), row(2, { ...at(11), device: b }), ...Array.from({ length: 250 }, (_, i) => row(100 + i, at(11)))];
        await store.complete({ kind: "batch", ref: "11" }, second, []);
        await same([
          { device: a, seq: 349, bad: 0, total: 254 },
          { device: b, seq: 2, bad: 1, total: 2 },
        ]);
        // Re-verification: the latest reading of a is TAMPERED now, b's TAMPERED seq 1 now VERIFIED.
        await store.complete({ kind: "batch", ref: "11" }, [row(349, { ...at(11), status: "TAMPERED" })], []);
        await store.complete({ kind: "batch", ref: "10" }, [row(1, { ...at(10), device: b })], []);
        await same([
          { device: a, seq: 348, bad: 1, total: 254 },
          { device: b, seq: 2, bad: 0, total: 2 },
        ]);
        await store.rewind(10, "0x10");
        await same([
          { device: a, seq: 3, bad: 0, total: 3 },
          { device: b, seq: 1, bad: 0, total: 1 },
        ]);
        assert.deepEqual((await store.summary()).verdicts, { VERIFIED: 4 }, "the rewound TAMPERED verdict is no longer counted");
        // A store written before the tables existed is filled on open.
        await store.db.run("DELETE FROM auditor_device_latest");
        await store.db.run("DELETE FROM auditor_verdict_counts");
        await store.close();
        store = await AuditorStore.open(await openDatabase(target.url));
        await same([
          { device: a, seq: 3, bad: 0, total: 3 },
          { device: b, seq: 1, bad: 0, total: 1 },
        ]);
      } finally {
        await store.close();
        await target.cleanup();
      }
    });
  });
}

const dirs: { remove(): Promise<void> }[] = [];
after(async () => {
  for (const d of dirs) await d.remove();
});

suite("SQLite", async () => {
  const dir = await tempDir();
  dirs.push(dir);
  return { url: path.join(dir.dir, "auditor.sqlite"), cleanup: async () => undefined };
});

suite(
  "PostgreSQL",
  async () => {
    const db: TestDatabase = await freshTestDatabase();
    return { url: db.url, cleanup: () => db.drop() };
  },
  pgSkipReason,
);
