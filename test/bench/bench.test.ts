/**
 * The benchmark (scripts/bench.ts) as `npm run bench` runs it, with tiny numbers and only its ingestion
 * sections (`BENCH_ONLY=ingestion`: the signature-check limit, the HTTP floor, the relayer and the
 * platform, all real processes on a real audit chain), into a fresh data folder: it must finish green,
 * write every row with a measured rate, and leave the full run quoted in docs/bench/latest.json alone.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";

import { repoRoot, runHardhatScript } from "../helpers/run-script.js";

interface Phase {
  readings: number;
  readingsPerSecond: number;
}

describe("bench run (scripts/bench.ts, BENCH_ONLY=ingestion, tiny numbers)", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("runs green on a fresh data folder and measures every ingestion row", { timeout: 240_000 }, async () => {
    const data = await mkdtemp(path.join(tmpdir(), "bench-"));
    dirs.push(data);
    const quoted = await readFile(path.join(repoRoot, "docs/bench/latest.json"), "utf8");
    const { code, output } = await runHardhatScript("scripts/bench.ts", {
      SENSORSEAL_DATA_DIR: data,
      BENCH_ONLY: "ingestion",
      BENCH_DEVICES: "4",
      BENCH_SINGLE_CONCURRENCY: "4",
      BENCH_SINGLE_PER_DEVICE: "10",
      BENCH_OFFERED_PER_DEVICE: "10",
      BENCH_OFFERED_RATE: "400",
      BENCH_BULK_SIZE: "10",
      BENCH_BULK_CONCURRENCY: "2",
      BENCH_BULK_PER_DEVICE: "20",
    });
    assert.equal(code, 0, output.slice(-3000));

    const run = JSON.parse(await readFile(path.join(data, "bench", "latest.json"), "utf8")) as {
      results: {
        ingestion: {
          single: Phase;
          offered: Phase & { offeredPerSecond: number; latencyMs: { p50: number; p95: number; p99: number }; peakInFlight: number };
          bulk: Phase;
          bulkReceiptRoot: Phase;
          httpFloor: { requests: number; requestsPerSecond: number };
        };
        platformIngestion: Phase;
      };
      rows: { section: number; result: string }[];
    };
    const { ingestion, platformIngestion } = run.results;
    assert.deepEqual(
      [
        ingestion.single.readings,
        ingestion.offered.readings,
        ingestion.bulk.readings,
        ingestion.bulkReceiptRoot.readings,
        ingestion.httpFloor.requests,
      ],
      [40, 40, 80, 80, 40],
    );
    // The open loop: offered on its clock (40 readings at 400/s take at least ~100 ms), each answer timed.
    assert.equal(ingestion.offered.offeredPerSecond, 400);
    assert.ok(ingestion.offered.readingsPerSecond <= 400 * 1.1, `answered ${ingestion.offered.readingsPerSecond}/s, above the clock`);
    const { p50, p95, p99 } = ingestion.offered.latencyMs;
    assert.ok(p50 > 0 && p50 <= p95 && p95 <= p99, `latencies ${p50} ${p95} ${p99}`);
    assert.ok(ingestion.offered.peakInFlight >= 1);
    assert.equal(platformIngestion.readings, 80);
    for (const rate of [
      ingestion.single.readingsPerSecond,
      ingestion.offered.readingsPerSecond,
      ingestion.bulk.readingsPerSecond,
      ingestion.bulkReceiptRoot.readingsPerSecond,
      ingestion.httpFloor.requestsPerSecond,
      platformIngestion.readingsPerSecond,
    ])
      assert.ok(Number.isFinite(rate) && rate > 0, `rate ${rate}`);
    assert.deepEqual(
      run.rows.map((r) => r.section),
      [0, 0, 1, 1, 1, 1, 1, 1],
    );
    // A partial run does not replace the full run the README quotes.
    assert.equal(await readFile(path.join(repoRoot, "docs/bench/latest.json"), "utf8"), quoted);
  });
});
