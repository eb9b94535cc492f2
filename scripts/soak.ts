/**
 * Soak run of the relayer: sustained load at a fleet's rate for N minutes on a real audit chain
 * (EDR over JSON-RPC, in this process) and a real relayer process (scripts/relayer.ts, its own
 * SQLite store), then the accounting. Not a test (it runs for minutes); run it by hand:
 *
 *   npx hardhat run scripts/soak.ts                      # 100,000 devices × 1/min ≈ 1,667 readings/s, 10 min
 *   SOAK_DEVICES=20000 SOAK_MINUTES=2 npx hardhat run scripts/soak.ts
 *
 * Environment (defaults): SOAK_DEVICES (100000: simulated devices, one reading each per
 * SOAK_INTERVAL_SECONDS), SOAK_INTERVAL_SECONDS (60), SOAK_MINUTES (10), SOAK_KEYS (500: devices
 * registered on-chain; each simulated device is one (key, seq stream) — registering 100,000 keys
 * would take the chain hours, so one key carries SOAK_DEVICES / SOAK_KEYS streams and the per-device
 * quota is raised to match), SOAK_BULK (100 readings per request: a gateway's batch), SOAK_SENDERS (8).
 *
 * Printed every 10 s: offered and accepted readings/s, 429s waited out, the relayer's RSS, CPU share,
 * event-loop lag p99 (prom-client's process metrics on its /metrics) and queue depth, this process's
 * RSS. At the end: readings lost (accepted but not anchored: must be 0), duplicates anchored (0),
 * reading → anchored p50/p95, peak RSS, audit-chain transactions per minute. Only the relayer and the
 * chain: the platform, committee and verifier are not in this loop (see README "Capacity plan").
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";

import { parseEventLogs } from "viem";

import { readingAnchorAbi } from "../oracle/chain/abis.js";
import { ReadingDigester } from "../oracle/core/reading.js";
import { openDatabase } from "../oracle/store/sql.js";
import { startBenchAuditChain } from "./lib/bench/chains.js";
import { newDevice, registerDevices, signReading, wire, type Device } from "./lib/bench/devices.js";
import { startRelayerProcess } from "./lib/bench/relayer-process.js";
import { cleanup, cleanups, log, OUT_DIR } from "./lib/bench/run.js";
import { fmtNum, HttpClient, percentile, sleep } from "./lib/bench/util.js";

const num = (name: string, fallback: number) => {
  const value = process.env[name] ? Number(process.env[name]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const DEVICES = num("SOAK_DEVICES", 100_000);
const INTERVAL_S = num("SOAK_INTERVAL_SECONDS", 60);
const MINUTES = num("SOAK_MINUTES", 10);
const KEYS = Math.min(num("SOAK_KEYS", 500), DEVICES);
const BULK = num("SOAK_BULK", 100);
const SENDERS = num("SOAK_SENDERS", 8);
const RATE = DEVICES / INTERVAL_S;

/** A gauge or counter's value from Prometheus text (first sample of `name`). */
const sample = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text)?.[1] ?? NaN);

try {
  const dir = path.join(OUT_DIR, "soak");
  await mkdir(dir, { recursive: true });
  log(`soak: ${fmtNum(DEVICES)} devices × 1 reading / ${INTERVAL_S} s = ${fmtNum(RATE)} readings/s for ${MINUTES} min (${KEYS} keys)`);
  const audit = await startBenchAuditChain();
  cleanups.push(() => audit.close());
  const keys: Device[] = Array.from({ length: KEYS }, () => newDevice("secp256k1"));
  await registerDevices(audit, keys);
  const dbFile = path.join(dir, `relayer-${Date.now()}.sqlite`);
  const streamsPerKey = Math.ceil(DEVICES / KEYS);
  const relayer = await startRelayerProcess(audit, dbFile, path.join(dir, "relayer.log"), {
    RELAYER_DEVICE_READINGS_PER_MINUTE: String(Math.ceil((streamsPerKey * 60) / INTERVAL_S) * 2),
    RELAYER_DEVICE_BURST: String(streamsPerKey * 4),
    BATCH_MAX_SIZE: "5000",
    BATCH_MAX_AGE_MS: "5000",
    CONFIRMATIONS: "1",
  });
  cleanups.push(() => relayer.stop());
  const client = new HttpClient(relayer.url, SENDERS);
  const digester = new ReadingDigester(audit.chainId, audit.anchor);
  const seqs = new Array<number>(KEYS).fill(0);
  let offered = 0;
  let accepted = 0;
  let retries = 0;
  let nextKey = 0;
  const peak = { relayerRss: 0, selfRss: 0 };
  const backlog: string[] = [];

  // Senders: bulks off the backlog, a 429 waited out for its Retry-After and sent again.
  let running = true;
  const senders = Array.from({ length: SENDERS }, async () => {
    while (running || backlog.length > 0) {
      const body = backlog.shift();
      if (body === undefined) {
        await sleep(20);
        continue;
      }
      const answer = await client.post("/v1/readings", body);
      if (answer.status === 429) {
        retries++;
        await sleep((answer.retryAfterSeconds ?? 1) * 1000);
        backlog.unshift(body);
      } else if (answer.status === 202 || answer.status === 207) accepted += (JSON.parse(answer.text) as { accepted: number }).accepted;
      else throw new Error(`relayer answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    }
  });

  const t0 = performance.now();
  const endAt = t0 + MINUTES * 60_000;
  let lastReport = t0;
  let cpuBefore = 0;
  let lastAccepted = 0;
  while (performance.now() < endAt) {
    // Readings due by now (a steady schedule: RATE per second), signed as devices do and grouped in bulks.
    const due = Math.floor(((performance.now() - t0) / 1000) * RATE) - offered;
    const ts = Math.floor(Date.now() / 1000);
    for (let i = 0; i < due; i += BULK) {
      const bulk = Array.from({ length: Math.min(BULK, due - i) }, () => {
        const k = nextKey++ % KEYS;
        return wire(signReading(digester, keys[k], ++seqs[k], ts));
      });
      backlog.push(JSON.stringify(bulk));
    }
    offered += Math.max(0, due);
    if (performance.now() - lastReport >= 10_000) {
      const text = (await client.get("/metrics")).text;
      const rss = sample(text, "sensorseal_relayer_process_resident_memory_bytes") / 2 ** 20;
      const cpu = sample(text, "sensorseal_relayer_process_cpu_seconds_total");
      const seconds = (performance.now() - lastReport) / 1000;
      peak.relayerRss = Math.max(peak.relayerRss, rss);
      peak.selfRss = Math.max(peak.selfRss, process.memoryUsage().rss / 2 ** 20);
      log(
        `+${((performance.now() - t0) / 1000).toFixed(0)} s: offered ${fmtNum(offered)}, accepted ${fmtNum(accepted)} ` +
          `(${fmtNum((accepted - lastAccepted) / seconds)}/s), backlog ${backlog.length} bulks, 429s ${retries}; relayer RSS ${rss.toFixed(0)} MiB, ` +
          `CPU ${(((cpu - cpuBefore) / seconds) * 100).toFixed(0)} % of a core, event-loop lag p99 ${(sample(text, "sensorseal_relayer_nodejs_eventloop_lag_p99_seconds") * 1000).toFixed(0)} ms, ` +
          `queue ${fmtNum(sample(text, "sensorseal_relayer_queue_depth"))}; load generator RSS ${peak.selfRss.toFixed(0)} MiB`,
      );
      cpuBefore = cpu;
      lastAccepted = accepted;
      lastReport = performance.now();
    }
    await sleep(100);
  }
  running = false;
  await Promise.all(senders);
  log(`load stopped: offered ${fmtNum(offered)}, accepted ${fmtNum(accepted)}; waiting for every accepted reading to be anchored…`);

  const db = await openDatabase(dbFile);
  cleanups.push(() => db.close());
  const count = async (sql: string) => Number((await db.query<{ n: number }>(sql))[0].n);
  const drainUntil = performance.now() + 300_000;
  while (performance.now() < drainUntil) {
    const anchored = await count(
      "SELECT COUNT(*) AS n FROM relayer_readings r JOIN relayer_batches b ON b.id = r.batch_id WHERE b.status IN ('mined', 'confirmed')",
    );
    if (anchored >= accepted) break;
    await sleep(1000);
  }
  const stored = await count("SELECT COUNT(*) AS n FROM relayer_readings");
  const logs = await audit.publicClient.getLogs({ address: audit.anchor, fromBlock: 0n, toBlock: "latest" });
  const events = parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" });
  const leaves = events.reduce((n, e) => n + Number(e.args.leafCount), 0);
  const latencies = (
    await db.query<{ received_at: number; mined_at: number }>(
      "SELECT r.received_at, b.mined_at FROM relayer_readings r JOIN relayer_batches b ON b.id = r.batch_id WHERE b.mined_at IS NOT NULL",
    )
  ).map((r) => Number(r.mined_at) - Number(r.received_at));
  const txs = await count("SELECT COUNT(*) AS n FROM relayer_txs");
  console.log(
    [
      `soak: ${fmtNum(DEVICES)} devices at ${fmtNum(RATE)} readings/s offered for ${MINUTES} min`,
      `offered ${fmtNum(offered)}, accepted ${fmtNum(accepted)} (${retries} answers 429 waited out), stored ${fmtNum(stored)}`,
      `lost (accepted, not anchored): ${fmtNum(accepted - leaves)}; anchored twice: ${fmtNum(leaves - stored)} (leaves on chain ${fmtNum(leaves)} in ${events.length} batches)`,
      `reading → anchored: p50 ${(percentile(latencies, 0.5) / 1000).toFixed(1)} s, p95 ${(percentile(latencies, 0.95) / 1000).toFixed(1)} s`,
      `peak RSS: relayer ${peak.relayerRss.toFixed(0)} MiB, load generator + chain ${peak.selfRss.toFixed(0)} MiB`,
      `audit-chain transactions: ${txs} (${(txs / MINUTES).toFixed(1)} per minute)`,
    ].join("\n"),
  );
  await cleanup();
} catch (error) {
  log(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await cleanup();
  process.exit(1);
}
