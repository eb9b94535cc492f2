/**
 * The auditor's store in both dialects (SQLite file; PostgreSQL when SENSORSEAL_TEST_PG_URL or a local
 * server is available): queueing with the cursor, idempotent verdicts and alerts, retries, rewind,
 * aggregates.
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
