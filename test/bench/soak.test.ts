/**
 * The soak run (scripts/soak.ts) with tiny numbers, as `npm run soak` runs it: 600 devices × 1
 * reading/min (10 readings/s) for 9 s through the platform, the relayer, the auditor and a 2-member
 * committee, all real processes on real local chains. Its summary (latest.json) must account for
 * every reading: none lost, none anchored twice, every anchored one verified by the auditor, judged by
 * the committee, and every process measured. Also the Prometheus text parsing the soak reads RSS and
 * CPU with, and /proc read for this very process.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";

import { runHardhatScript } from "../helpers/run-script.js";
import { metricByLabel, metricSum, procProbe, UsageTracker } from "../../scripts/lib/bench/process-usage.js";

describe("soak run (scripts/soak.ts, tiny numbers)", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("accounts for every reading through platform, relayer, auditor and committee", { timeout: 240_000 }, async () => {
    const data = await mkdtemp(path.join(tmpdir(), "soak-"));
    dirs.push(data);
    const { code, output } = await runHardhatScript("scripts/soak.ts", {
      SENSORSEAL_DATA_DIR: data,
      SOAK_DEVICES: "600",
      SOAK_MINUTES: "0.15",
      SOAK_KEYS: "5",
      SOAK_ORACLES: "2",
      SOAK_EPOCH_BLOCKS: "5",
      SOAK_DRAIN_SECONDS: "120",
    });
    assert.equal(code, 0, output.slice(-3000));

    const s = JSON.parse(await readFile(path.join(data, "soak", "latest.json"), "utf8")) as {
      held: boolean;
      offered: number;
      run: { caughtUp: boolean };
      platform: { stored: number; lost: number; duplicates: number };
      relayer: { stored: number; lost: number; anchoredLeaves: number; anchoredTwice: number; auditChainTxs: number };
      auditor: { atEnd: { anchored: number; verified: number }; lag: number; failures: Record<string, number> };
      committee: { rootsPosted: number; coversAnchored: boolean; oracle0: { judged: number } };
      processes: { process: string; peakRssMiB: number; cpuShare: number; heapFloorEndMiB: number | null }[];
    };
    assert.ok(s.offered >= 80, `offered ${s.offered}`);
    assert.equal(s.run.caughtUp, true);
    assert.equal(s.held, true);
    assert.deepEqual([s.platform.stored, s.platform.lost, s.platform.duplicates], [s.offered, 0, 0]);
    assert.deepEqual([s.relayer.stored, s.relayer.anchoredLeaves, s.relayer.lost, s.relayer.anchoredTwice], [s.offered, s.offered, 0, 0]);
    assert.ok(s.relayer.auditChainTxs >= 1);
    assert.deepEqual([s.auditor.atEnd.verified, s.auditor.lag], [s.offered, 0]);
    assert.deepEqual(s.auditor.failures, { notVerified: 0, alerts: 0, uncheckedItems: 0 });
    assert.equal(s.committee.coversAnchored, true);
    assert.equal(s.committee.oracle0.judged, s.offered);
    assert.ok(s.committee.rootsPosted >= 1);
    assert.deepEqual(
      s.processes.map((p) => p.process),
      ["platform", "relayer", "auditor", "oracle-0", "oracle-1", "soak (load + chains)"],
    );
    for (const p of s.processes) {
      assert.ok(p.peakRssMiB > 20, `${p.process} peak RSS ${p.peakRssMiB}`);
      assert.ok(Number.isFinite(p.cpuShare) && p.cpuShare >= 0, `${p.process} CPU ${p.cpuShare}`);
    }
    // The services and the soak process report their JS heap (a floor of a few MiB at least); /proc-only processes do not (JSON null).
    assert.deepEqual(
      s.processes.map((p) => (p.heapFloorEndMiB === null ? "none" : p.heapFloorEndMiB > 5 ? "heap" : `bad ${p.heapFloorEndMiB}`)),
      ["heap", "heap", "none", "none", "none", "heap"],
    );
  });

  it("tells a JS heap that keeps its floor from one whose floor rises", async () => {
    const run = async (heapMiB: readonly number[]) => {
      let i = 0;
      const tracker = new UsageTracker("p", async () => ({
        rssBytes: 100 * 2 ** 20,
        cpuSeconds: i,
        heapUsedBytes: heapMiB[i++] * 2 ** 20,
      }));
      for (const _ of heapMiB) await tracker.sample();
      return tracker.summary();
    };
    // Saw-tooth with a flat floor: peaks do not count, only what stays after collection.
    const flat = await run([50, 90, 40, 95, 41, 99, 40, 97, 42]);
    assert.deepEqual([flat.heapFloorMiddleMiB, flat.heapFloorEndMiB, flat.heapGrows], [41, 40, false]);
    const rising = await run([50, 90, 40, 95, 45, 99, 60, 97, 62]);
    assert.deepEqual([rising.heapFloorMiddleMiB, rising.heapFloorEndMiB, rising.heapGrows], [45, 60, true]);
    const unreportedTracker = new UsageTracker("q", async () => ({ rssBytes: 1, cpuSeconds: 0 }));
    for (let k = 0; k < 3; k++) await unreportedTracker.sample();
    const unreported = unreportedTracker.summary();
    assert.ok(Number.isNaN(unreported.heapFloorEndMiB) && !unreported.heapGrows);
  });

  it("sums Prometheus samples over label sets and reads /proc", async () => {
    const text = 'a_total{result="rewarded"} 2\na_total{result="rejected",reason="SAME_MINUTE"} 3\nb 1.5e3\n';
    assert.equal(metricSum(text, "a_total"), 5);
    assert.equal(metricSum(text, "a_total", { result: "rejected" }), 3);
    assert.equal(metricSum(text, "b"), 1500);
    assert.ok(Number.isNaN(metricSum(text, "c")));
    assert.deepEqual(metricByLabel(text, "a_total", "reason"), { "": 2, SAME_MINUTE: 3 });
    const usage = await procProbe(process.pid)();
    assert.ok(usage.rssBytes > 10 * 2 ** 20 && usage.peakRssBytes! >= usage.rssBytes, JSON.stringify(usage));
    assert.ok(usage.cpuSeconds > 0);
  });
});
