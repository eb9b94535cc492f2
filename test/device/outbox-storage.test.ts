/**
 * The outbox's storage adapters behave alike: node:sqlite (the default on Node ≥ 22.13), the journal
 * (the default where Node has no node:sqlite) and better-sqlite3 (an option). Real files, reopened.
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, it } from "node:test";

import { DeliveryState, Outbox, type OutboxEntry } from "../../oracle/device/outbox.js";
import { sqlDriverAvailable } from "../../oracle/device/outbox-sql-driver.js";

const DEVICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const entry = (device: typeof DEVICE | typeof OTHER, seq: number): OutboxEntry => ({
  device,
  seq,
  ts: 1_700_000_000 + seq,
  payload: `{"seq":${seq}}`,
  dataHash: `0x${"11".repeat(32)}`,
  signature: `0x${"22".repeat(64)}`,
});

const dir = () => mkdtempSync(path.join(tmpdir(), "sensorseal-outbox-storage-"));
const STORAGES = ["node:sqlite", "journal", "better-sqlite3"] as const;

/** One scenario; answers what each step showed, so the storages can be compared. */
function scenario(storage: (typeof STORAGES)[number], file: string): unknown[] {
  const seen: unknown[] = [];
  let outbox = Outbox.open(file, { storage, now: () => 1000 });
  seen.push(outbox.storage);
  outbox.appendMany([entry(DEVICE, 1), entry(DEVICE, 2), entry(OTHER, 1)]);
  seen.push(outbox.pendingCount(), outbox.headAfter("relayer", "")?.device, outbox.headAfter("relayer", OTHER)?.device);
  seen.push(outbox.markDelivered(DEVICE, 1, "relayer", { httpStatus: 202, response: "{}" }), outbox.markDelivered(DEVICE, 1, "relayer"));
  seen.push(outbox.markRejected(OTHER, 1, "platform", { httpStatus: 400, code: "INVALID_SIGNATURE" }));
  seen.push(outbox.markRetry(DEVICE, 2, "relayer", { nextAttemptAt: 5000, code: "HTTP_503" }), outbox.retryNow());
  assert.throws(() => outbox.append(entry(DEVICE, 7)), { code: "OUTBOX_SEQUENCE_CONFLICT" });
  outbox.close();
  // Reopened: everything above is still there.
  outbox = Outbox.open(file, { storage, now: () => 2000 });
  seen.push(outbox.nextSeq(DEVICE), outbox.nextSeq(OTHER), outbox.pendingCount("relayer"), outbox.counts());
  seen.push(outbox.list(DEVICE).map((i) => [i.seq, i.deliveries.map((d) => `${d.target}:${d.state}:${d.attempts}:${d.nextAttemptAt}`)]));
  outbox.markDelivered(DEVICE, 1, "platform");
  seen.push(
    outbox.prune(1500),
    outbox.prune(3000),
    outbox.nextSeq(DEVICE),
    outbox.list(DEVICE).map((i) => i.seq),
  );
  outbox.close();
  return seen;
}

describe("outbox storage adapters", () => {
  it("node:sqlite, the journal and better-sqlite3 answer the same through a reopen", () => {
    const results = STORAGES.filter((s) => s === "journal" || sqlDriverAvailable(s)).map((s) => scenario(s, path.join(dir(), "outbox")));
    assert.ok(results.length >= 2, "node:sqlite and the journal at least");
    const [first, ...rest] = results.map(([, ...r]) => r);
    assert.deepEqual(first!.slice(0, 3), [6, OTHER, DEVICE]);
    for (const r of rest) assert.deepEqual(r, first);
    assert.deepEqual(first!.at(-1), [2]);
  });

  it("auto keeps an existing file's format, and a SQLite file moves between the two drivers", () => {
    const d = dir();
    const sqlite = path.join(d, "outbox.sqlite");
    const written = Outbox.open(sqlite, { storage: "node:sqlite" });
    written.append(entry(DEVICE, 1));
    written.close();
    const auto = Outbox.open(sqlite);
    assert.equal(auto.storage, "node:sqlite");
    auto.close();
    if (sqlDriverAvailable("better-sqlite3")) {
      const other = Outbox.open(sqlite, { storage: "better-sqlite3" });
      assert.deepEqual([other.nextSeq(DEVICE), other.pendingCount()], [2, 2]);
      other.close();
    }
    const journal = path.join(d, "outbox.journal");
    Outbox.open(journal, { storage: "journal" }).close();
    const reopened = Outbox.open(journal);
    assert.equal(reopened.storage, "journal");
    reopened.close();
  });

  it("the journal drops a line torn by a crash, and names the file and line of a damaged one", () => {
    const file = path.join(dir(), "outbox");
    const outbox = Outbox.open(file, { storage: "journal" });
    outbox.appendMany([entry(DEVICE, 1), entry(DEVICE, 2)]);
    outbox.close();
    appendFileSync(file, '{"op":"finish","device":"0x7099'); // a write cut short
    const reopened = Outbox.open(file, { storage: "journal" });
    assert.deepEqual([reopened.nextSeq(DEVICE), reopened.pendingCount()], [3, 4]);
    assert.equal(reopened.list(DEVICE)[0]!.deliveries[0]!.state, DeliveryState.Pending);
    reopened.close();
    const lines = readFileSync(file, "utf8").split("\n");
    writeFileSync(file, [lines[0], "not json", ...lines.slice(1)].join("\n"));
    assert.throws(
      () => Outbox.open(file, { storage: "journal" }),
      (e: Error & { code: string; details: { line: number } }) => {
        assert.equal(e.code, "OUTBOX_CORRUPT");
        assert.equal(e.details.line, 2);
        assert.ok(e.message.includes(`${file}:2`));
        return true;
      },
    );
  });
});
