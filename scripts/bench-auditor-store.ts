/**
 * Size of the auditor's verdict store: writes N realistic VERIFIED verdict rows (with sensor values and
 * location) through AuditorStore into a fresh SQLite file, closes it (checkpointing the WAL) and
 * reports bytes per verdict and the extrapolation to one million, and how long the status endpoint's
 * counts (`summary()`) take at that size.
 *
 *   npx tsx scripts/bench-auditor-store.ts [N=100000]
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { AuditorStore, type VerdictRow } from "../oracle/auditor/store.js";
import { openDatabase } from "../oracle/store/sql.js";

const n = Number(process.argv[2] ?? 100_000);
const dir = await mkdtemp(path.join(tmpdir(), "auditor-size-"));
const file = path.join(dir, "auditor.sqlite");
const store = await AuditorStore.open(await openDatabase(file));
const devices = Array.from({ length: 100 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}`);
const started = Date.now();
for (let done = 0; done < n; done += 1000) {
  const rows: VerdictRow[] = [];
  for (let i = done; i < Math.min(n, done + 1000); i++)
    rows.push({
      device: devices[i % 100],
      seq: Math.floor(i / 100) + 1,
      source: `batch:${Math.floor(i / 500) + 1}`,
      ts: 1_700_000_000 + i * 0.6,
      status: "VERIFIED",
      problems: null,
      batchId: Math.floor(i / 500) + 1,
      blockNumber: Math.floor(i / 500) + 1,
      dataHash: `0x${(i * 2654435761).toString(16).padStart(64, "a").slice(0, 64)}`,
      pm25: 5 + (i % 37) / 10,
      pm10: 9 + (i % 53) / 10,
      temperature: 12.3,
      humidity: 71.5,
      lat: 57.1 + (i % 100) / 1000,
      lon: -2.1 + (i % 100) / 1000,
      checkedAt: 1_700_000_000 + i,
    });
  await store.complete({ kind: "batch", ref: "bench" }, rows, []);
}
const seconds = (Date.now() - started) / 1000;
// The status endpoint's counts (kept per status by every write, never counted from the verdicts).
const summaryStarted = performance.now();
const { verdicts } = await store.summary();
const summaryMs = performance.now() - summaryStarted;
if (verdicts.VERIFIED !== n) throw new Error(`summary() counts ${JSON.stringify(verdicts)}, not ${n} VERIFIED`);
await store.close();
const bytes = (await stat(file)).size;
console.log(
  `${n} verdicts: ${bytes} bytes (${(bytes / n).toFixed(0)} B/verdict) → ${(((bytes / n) * 1e6) / 2 ** 20).toFixed(0)} MiB per million (extrapolated); written at ${(n / seconds).toFixed(0)} verdicts/s; summary() (the status endpoint's counts) ${summaryMs.toFixed(2)} ms`,
);
await rm(dir, { recursive: true, force: true });
