/**
 * Relayer load: measures its intake capacity, then offers 1×, 2× and 5× that capacity and prints a
 * table: accepted rate, 429s (with Retry-After), 5xx, latency, peak RSS, peak queue depth, drain
 * time, and readings lost after the drain (accepted by the relayer but not anchored: must be 0).
 *
 *   npx hardhat run scripts/battery/load.ts
 *   LOAD_SECONDS=10 LOAD_CAPACITY_READINGS=60000 LOAD_SENDERS=16 npx hardhat run scripts/battery/load.ts
 *
 * Everything runs on this machine (127.0.0.1): an EDR audit chain, scripts/relayer.ts as a child
 * process on a fresh SQLite file per phase, and the senders in this process; client and relayer share
 * the same cores, so the figures are a floor for a relayer on its own machine.
 *
 * Capacity = readings accepted per second by closed-loop senders with every rate limit off. In the
 * overload phases the per-client reading limit is set to that capacity (what an operator would set)
 * and the queue bound to `LOAD_QUEUE_SECONDS` of it: that is the relayer's backpressure.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { parseEventLogs } from "viem";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { startAuditChain, type AuditChain } from "../../test/helpers/audit-chain.js";
import { envInt, registerBatteryRelayer, relayerEnv, spawnRelayer, type RelayerChild } from "../../test/battery/harness.js";
import { chainTime, registeredDevice } from "../../test/relayer/fixtures.js";
import { phaseBulks, rssMiB, runPhase, signBulks, waitDrained, type LoadDevice, type PhaseResult } from "./load-lib.js";

const SECONDS = envInt("LOAD_SECONDS", 6);
const CAPACITY_READINGS = envInt("LOAD_CAPACITY_READINGS", 30_000);
const SENDERS = envInt("LOAD_SENDERS", 128);
const BULK = envInt("LOAD_BULK", 50); // capacity phase; overload phases use smaller bulks (see below)
const QUEUE_SECONDS = envInt("LOAD_QUEUE_SECONDS", 5);
const MULTIPLES = (process.env.LOAD_MULTIPLES ?? "1,2,5").split(",").map(Number);

const NO_LIMITS = {
  RELAYER_IP_REQUESTS_PER_SECOND: "100000000",
  RELAYER_IP_REQUEST_BURST: "100000000",
  RELAYER_IP_READINGS_PER_SECOND: "100000000",
  RELAYER_IP_READING_BURST: "100000000",
  RELAYER_DEVICE_READINGS_PER_MINUTE: "100000000",
  RELAYER_DEVICE_BURST: "100000000",
  RELAYER_MAX_QUEUE_DEPTH: "100000000",
  RELAYER_MAX_BULK: "1000",
  BATCH_MAX_SIZE: "2000",
  BATCH_MAX_AGE_MS: "500",
  ANCHOR_POLL_MS: "100",
  LOG_LEVEL: "warn",
};

async function startRelayer(
  chain: AuditChain,
  dir: string,
  name: string,
  extra: Record<string, string>,
): Promise<{ r: RelayerChild; url: string; db: string }> {
  const db = path.join(dir, `${name}.sqlite`);
  const r = spawnRelayer(relayerEnv(chain, db, { ...NO_LIMITS, ...extra, LOG_LEVEL: "info" }));
  const url = await r.url();
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${url}/readyz`)).status === 200) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return { r, url, db };
}

async function stopRelayer(r: RelayerChild): Promise<void> {
  r.child.kill("SIGTERM");
  await r.exited;
}

/** Accepted readings that are not anchored on the canonical chain after the drain. */
async function lostAfterDrain(
  chain: AuditChain,
  db: string,
  acceptedByClient: number,
): Promise<{ lost: number; stored: number; anchored: number }> {
  const store = await openDatabase(db);
  const [{ n }] = await store.query<{ n: number }>("SELECT COUNT(*) AS n FROM relayer_readings");
  const roots = new Set(
    (await store.query<{ root: string }>("SELECT root FROM relayer_batches WHERE status = 'confirmed'")).map((r) => r.root.toLowerCase()),
  );
  await store.close();
  const logs = await chain.publicClient.getLogs({ address: chain.anchor, fromBlock: 0n, toBlock: "latest" });
  const anchored = parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" })
    .filter((e) => roots.has(e.args.root.toLowerCase()))
    .reduce((s, e) => s + e.args.leafCount, 0);
  return { lost: Math.max(0, acceptedByClient - anchored) + Math.max(0, Number(n) - anchored), stored: Number(n), anchored };
}

const chain = await startAuditChain();
await registerBatteryRelayer(chain);
const dir = await mkdtemp(path.join(tmpdir(), "sensorseal-load-"));
try {
  const devices: LoadDevice[] = [];
  for (let i = 0; i < SENDERS; i++) {
    const d = await registeredDevice(chain, "secp256k1");
    devices.push({ address: d.address, privateKey: d.privateKey, seq: 1 });
  }
  const ts = await chainTime(chain);

  // ---- capacity: closed-loop senders, every limit off ----
  const perSender = Math.ceil(CAPACITY_READINGS / SENDERS / BULK);
  const capBulks = devices.map((d) => signBulks(d, chain, ts, perSender, BULK));
  const cap = await startRelayer(chain, dir, "capacity", {});
  const idleRss = await rssMiB(cap.r.child.pid!);
  const capResult = await runPhase({
    url: cap.url,
    pid: cap.r.child.pid!,
    bulksBySender: capBulks,
    ratePerSecond: 1e9,
    seconds: 0.001,
    drainTimeoutMs: 300_000,
  });
  // Sustainable capacity: accepted and anchored (confirmed), end to end.
  const capSettle = await waitDrained(cap.url, 120_000);
  const intakeRate = Math.floor(capResult.accepted / (capResult.drainSeconds + 0.001));
  const capacity = Math.floor(capResult.accepted / (capResult.drainSeconds + capSettle));
  const capLost = await lostAfterDrain(chain, cap.db, capResult.accepted);
  await stopRelayer(cap.r);
  console.log(
    `capacity: ${capResult.accepted} readings accepted in ${capResult.drainSeconds.toFixed(1)} s (intake ${intakeRate} readings/s), all confirmed ` +
      `${capSettle.toFixed(1)} s later: sustainable ${capacity} readings/s ` +
      `(${SENDERS} closed-loop senders, bulks of ${BULK}, limits off; p50 ${capResult.latencyMs.p50.toFixed(0)} ms, p99 ${capResult.latencyMs.p99.toFixed(0)} ms; ` +
      `idle RSS ${idleRss.toFixed(0)} MiB, peak ${capResult.maxRssMiB.toFixed(0)} MiB; lost ${capLost.lost})`,
  );

  // ---- 1×, 2×, 5× with the relayer's backpressure configured at that capacity ----
  const rows: { multiple: number; result: PhaseResult; lost: number; settleSeconds: number }[] = [];
  for (const multiple of MULTIPLES) {
    const rate = capacity * multiple;
    // About 4 bulks per sender per second, so the schedule can offer `rate` without rounding it up much.
    const bulk = Math.max(1, Math.min(BULK, Math.round(rate / SENDERS / 4)));
    const bulks = phaseBulks(devices, chain, ts, rate, SECONDS, bulk);
    const run = await startRelayer(chain, dir, `x${multiple}`, {
      RELAYER_IP_READINGS_PER_SECOND: String(capacity),
      RELAYER_IP_READING_BURST: String(capacity),
      RELAYER_MAX_QUEUE_DEPTH: String(capacity * QUEUE_SECONDS),
    });
    const result = await runPhase({
      url: run.url,
      pid: run.r.child.pid!,
      bulksBySender: bulks,
      ratePerSecond: rate,
      seconds: SECONDS,
      drainTimeoutMs: 600_000,
    });
    const settleSeconds = await waitDrained(run.url, 120_000);
    const { lost } = await lostAfterDrain(chain, run.db, result.accepted);
    await stopRelayer(run.r);
    rows.push({ multiple, result, lost, settleSeconds });
    console.log(`  ${multiple}× done`);
  }

  const header = [
    "load",
    "offered r/s",
    "accepted r/s",
    "acc/offered",
    "requests",
    "429",
    "429 no Retry-After",
    "5xx",
    "other",
    "p50 ms",
    "p99 ms",
    "peak RSS MiB",
    "peak queue",
    "drain s",
    "lost",
  ];
  const lines = rows.map(({ multiple, result: r, lost, settleSeconds }) => [
    `${multiple}×`,
    r.offeredPerSecond.toFixed(0),
    r.acceptedPerSecond.toFixed(0),
    (r.acceptedPerSecond / r.offeredPerSecond).toFixed(2),
    String(r.requests),
    String(r.answers429),
    String(r.retryAfterMissing),
    String(r.answers5xx),
    [...r.otherErrors].map(([s, n]) => `${s}×${n}`).join(" ") || "0",
    r.latencyMs.p50.toFixed(0),
    r.latencyMs.p99.toFixed(0),
    r.maxRssMiB.toFixed(0),
    String(r.maxQueueDepth),
    `${r.drainSeconds.toFixed(1)}+${settleSeconds.toFixed(1)}`,
    String(lost),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(" | ")} |`;
  console.log(
    `\nrelayer load, capacity ${capacity} readings/s, ${SECONDS} s per phase, per-client limit = capacity, queue bound ${capacity * QUEUE_SECONDS}`,
  );
  console.log(fmt(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const l of lines) console.log(fmt(l));
  console.log(
    "drain s = senders' time to get every remaining reading accepted after the paced phase + time until every batch was confirmed",
  );
  const bad = rows.filter((r) => r.result.answers5xx > 0 || r.lost > 0);
  if (bad.length > 0) process.exitCode = 1;
} finally {
  await chain.close();
  await rm(dir, { recursive: true, force: true });
}
