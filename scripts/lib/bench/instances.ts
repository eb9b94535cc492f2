/**
 * Section 8 of the bench (issue 13, "Several instances"): relayer bulk ingestion on one PostgreSQL
 * store with one relayer process, then with two relayer processes on one fresh database of the same
 * server, the client sending each bulk request to the next instance (round robin) at the same total
 * concurrency; the single SQLite process of `npm start` first, as the baseline of the same run. Every
 * run takes the same number of fresh readings of the same devices on one audit chain.
 *
 * After each run the bench waits until the chain's `BatchAnchored` leaves cover every reading offered,
 * stops the instances, and checks that every reading was accepted (202, not a duplicate), that the
 * store holds each once, and that the leaves anchored in the run add up to exactly the readings offered
 * (each root once): nothing lost, nothing anchored twice.
 *
 * PostgreSQL: BENCH_PG_URL, else SENSORSEAL_TEST_PG_URL (a role that may CREATE DATABASE); each run
 * gets its own database, dropped at its end. Neither set: the section is skipped, saying so.
 *
 * @module
 */
import { rm } from "node:fs/promises";
import path from "node:path";

import { parseEventLogs } from "viem";

import { readingAnchorAbi } from "../../../oracle/chain/abis.js";
import { ReadingDigester } from "../../../oracle/core/reading.js";
import { openDatabase } from "../../../oracle/store/sql.js";
import { createTestDatabase } from "../../../test/helpers/postgres.js";
import { mineEverySecond, startBenchAuditChain } from "./chains.js";
import { newDevice, registerDevices, signReading, wire, type Device, type SignedReading } from "./devices.js";
import { cpuPerReading, drive, fmtCpu, startRelayerProcess, type DriveResult, type ServiceProcess } from "./relayer-process.js";
import { CFG, OUT_DIR, cleanups, log, results, rows } from "./run.js";
import { fmtMs, fmtNum, fmtRatio, HttpClient, sleep } from "./util.js";

const SECTION = 8;

type Audit = Awaited<ReturnType<typeof startBenchAuditChain>>;

/** The PostgreSQL server the section runs on, or undefined (the section is skipped). */
export function benchPgUrl(): string | undefined {
  const url = process.env.BENCH_PG_URL || process.env.SENSORSEAL_TEST_PG_URL;
  return url === undefined || url === "" ? undefined : url;
}

/** One store and instance count. */
interface RunSpec {
  name: "sqlite-1" | "postgres-1" | "postgres-2";
  store: "sqlite" | "postgres";
  instances: number;
}

/** What one run measured and checked. */
export interface InstancesRun extends RunSpec {
  /** Measured readings (the warm-up's not included) and their bulk requests. */
  readings: number;
  requests: number;
  ms: number;
  readingsPerSecond: number;
  retries429: number;
  retryWaitSeconds: number;
  /** Readings sent in the run, warm-up included: each must be accepted, stored and anchored once. */
  offered: number;
  /** Answered 202, not a duplicate. */
  accepted: number;
  /** Rows in the store's relayer_readings after the run. */
  stored: number;
  /** Leaves of the run's BatchAnchored events, and their batches (distinct roots). */
  anchoredLeaves: number;
  batches: number;
  /** From the last bulk answer until the leaves anchored covered every reading offered. */
  anchoredMsAfterLast: number;
  /** Of the request bytes the client sent, each instance's share (round robin: about 1 / instances each). */
  requestShare: number[];
  /** CPU µs per measured reading of each relayer process and of the bench process (the load generator and the chain). */
  cpuMicrosecondsPerReading: Record<string, number>;
}

/** Bulk requests of CFG.bulkSize: worker w sends its devices' readings k = from..to-1 in order. */
function bulkQueues(signed: SignedReading[][], from: number, to: number): string[][] {
  const workers = CFG.bulkConcurrency;
  return Array.from({ length: workers }, (_, w) => {
    const mine = signed.filter((_, d) => d % workers === w);
    const items = Array.from({ length: to - from }, (_, k) => mine.map((readings) => wire(readings[from + k]!))).flat();
    const out: string[] = [];
    for (let i = 0; i < items.length; i += CFG.bulkSize) out.push(JSON.stringify(items.slice(i, i + CFG.bulkSize)));
    return out;
  }).filter((q) => q.length > 0);
}

/** Counts a bulk answer's readings; any item not accepted as new stops the run (the figure would be wrong). */
function acceptedCounter() {
  let accepted = 0;
  return {
    validate(text: string) {
      const { results } = JSON.parse(text) as { results?: { status?: number; duplicate?: boolean }[] };
      if (!Array.isArray(results)) throw new Error(`bulk answer without results: ${text.slice(0, 300)}`);
      for (const item of results) {
        if (item.status !== 202 || item.duplicate !== false) throw new Error(`a reading not accepted as new: ${JSON.stringify(item)}`);
        accepted++;
      }
    },
    count: () => accepted,
  };
}

/** Leaves and distinct roots of BatchAnchored events from `fromBlock` on. */
async function anchoredSince(audit: Audit, fromBlock: bigint): Promise<{ leaves: number; batches: number; roots: number }> {
  const logs = await audit.publicClient.getLogs({ address: audit.anchor, fromBlock, toBlock: "latest" });
  const events = parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" });
  return {
    leaves: events.reduce((n, e) => n + Number(e.args.leafCount), 0),
    batches: events.length,
    roots: new Set(events.map((e) => e.args.root)).size,
  };
}

/** The run's store: a fresh SQLite file or a fresh database on the PostgreSQL server. */
async function freshStore(store: RunSpec["store"], pgUrl: string, label: string): Promise<{ url: string; remove(): Promise<void> }> {
  if (store === "postgres") {
    const db = await createTestDatabase(pgUrl, "sensorseal_bench");
    return { url: db.url, remove: () => db.drop() };
  }
  const file = path.join(OUT_DIR, `relayer-${label}-${new Date().toISOString().replace(/[:.]/g, "-")}.sqlite`);
  return {
    url: file,
    async remove() {
      for (const suffix of ["", "-wal", "-shm", "-journal"]) await rm(`${file}${suffix}`, { force: true });
    },
  };
}

async function runOne(spec: RunSpec, audit: Audit, pgUrl: string, signed: SignedReading[][]): Promise<InstancesRun> {
  const store = await freshStore(spec.store, pgUrl, spec.name);
  const instances: ServiceProcess[] = [];
  const clients: HttpClient[] = [];
  const stopAll = async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(instances.splice(0).map((p) => p.stop()));
  };
  try {
    // One after the other: each migrates the schema at start (CREATE … IF NOT EXISTS); all share the first one's public URL.
    for (let i = 0; i < spec.instances; i++) {
      const logFile = path.join(OUT_DIR, `relayer-${spec.name}-${i + 1}.log`);
      const publicUrl = instances[0]?.url;
      instances.push(await startRelayerProcess(audit, store.url, logFile, {}, publicUrl === undefined ? {} : { publicUrl }));
      clients.push(new HttpClient(instances[i]!.url, CFG.bulkConcurrency));
    }
    log(`8. ${spec.name}: ${spec.instances} relayer process(es) on ${spec.store} (${instances.map((p) => p.url).join(", ")})`);
    const fromBlock = (await audit.publicClient.getBlockNumber()) + 1n;
    const warm = CFG.warmupBulkPerDevice;
    const counter = acceptedCounter();
    await drive(clients, bulkQueues(signed, 0, warm), [202], counter.validate);
    const queues = bulkQueues(signed, warm, signed[0]!.length);
    const readings = signed.length * (signed[0]!.length - warm);
    const requests = queues.reduce((a, q) => a + q.length, 0);
    log(`8. ${spec.name}: ${fmtNum(readings)} readings in ${requests} requests of ${CFG.bulkSize}, ${CFG.bulkConcurrency} concurrent…`);
    const processes = Object.fromEntries(instances.map((p, i) => [`relayer-${i + 1}`, p]));
    const run: DriveResult = await drive(clients, queues, [202], counter.validate, processes);
    const offered = signed.length * signed[0]!.length;
    const t0 = performance.now();
    let anchored = await anchoredSince(audit, fromBlock);
    while (anchored.leaves < offered) {
      if (performance.now() - t0 > 300_000)
        throw new Error(`${spec.name}: ${fmtNum(anchored.leaves)} of ${fmtNum(offered)} readings anchored after 300 s`);
      await sleep(250);
      anchored = await anchoredSince(audit, fromBlock);
    }
    const anchoredMsAfterLast = performance.now() - t0;
    const sentBytes = clients.map((c) => c.bytesOnWire().sent);
    const requestShare = sentBytes.map((b) => Number((b / sentBytes.reduce((a, x) => a + x, 0)).toFixed(3)));
    await stopAll(); // nothing more can be anchored: the count below is final
    anchored = await anchoredSince(audit, fromBlock);
    const db = await openDatabase(store.url);
    const [row] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM relayer_readings").finally(() => db.close());
    const result: InstancesRun = {
      ...spec,
      readings,
      requests,
      ms: run.ms,
      readingsPerSecond: (readings / run.ms) * 1000,
      retries429: run.retries,
      retryWaitSeconds: run.retryWaitSeconds,
      offered,
      accepted: counter.count(),
      stored: Number(row!.n),
      anchoredLeaves: anchored.leaves,
      batches: anchored.batches,
      anchoredMsAfterLast,
      requestShare,
      cpuMicrosecondsPerReading: cpuPerReading(run, readings),
    };
    log(
      `   ${fmtNum(result.readingsPerSecond)} readings/s (${fmtMs(run.ms)}; ${run.retries} answers 429 waited out); offered ${fmtNum(offered)}, accepted ${fmtNum(result.accepted)}, stored ${fmtNum(result.stored)}, anchored ${fmtNum(anchored.leaves)} leaves in ${anchored.batches} batches (${fmtMs(anchoredMsAfterLast)} after the last answer); request bytes per instance ${requestShare.map((x) => `${(100 * x).toFixed(0)} %`).join(" / ")}`,
    );
    log(`   CPU: ${fmtCpu(run, readings)}`);
    if (result.accepted !== offered || result.stored !== offered || anchored.leaves !== offered || anchored.roots !== anchored.batches)
      throw new Error(
        `${spec.name}: offered ${offered}, accepted ${result.accepted}, stored ${result.stored}, anchored ${anchored.leaves} leaves, ${anchored.roots} distinct roots in ${anchored.batches} batches: not exactly once`,
      );
    return result;
  } finally {
    await stopAll();
    await store.remove().catch((error: unknown) => log(`8. ${spec.name}: removing the store failed: ${String(error)}`));
  }
}

/** Each device's readings for one run, `seqFrom` on, dated from now (the intake window) over a minute. */
function signRun(digester: ReadingDigester, devices: Device[], seqFrom: number, count: number, notBefore: number): SignedReading[][] {
  const tsBase = Math.max(notBefore, Math.floor(Date.now() / 1000));
  return devices.map((d) =>
    Array.from({ length: count }, (_, k) => signReading(digester, d, seqFrom + k, tsBase + Math.floor((k * 60) / count))),
  );
}

// ================================================================================================
export async function instancesSection(): Promise<void> {
  const pgUrl = benchPgUrl();
  if (pgUrl === undefined) {
    const why = "skipped: neither BENCH_PG_URL nor SENSORSEAL_TEST_PG_URL is set (a PostgreSQL server whose role may CREATE DATABASE)";
    log(`8. relayer instances: ${why}`);
    results.instances = { skipped: why };
    return;
  }
  const n = CFG.devices;
  const perRun = CFG.warmupBulkPerDevice + CFG.bulkPerDevice;
  log(`8. relayer instances: audit chain, ${n} devices (half secp256k1, half P-256), ${fmtNum(n * CFG.bulkPerDevice)} readings per run…`);
  const audit = await startBenchAuditChain();
  cleanups.push(() => audit.close());
  const digester = new ReadingDigester(audit.chainId, audit.anchor);
  const devices = Array.from({ length: n }, (_, i) => newDevice(i < n / 2 ? "secp256k1" : "p256"));
  const registeredAt = await registerDevices(audit, devices);

  // An empty block every second: confirmations move without traffic (as in section 1).
  const stopMiner = mineEverySecond(audit, (error) => log(`evm_mine failed: ${String(error)}`));
  cleanups.push(stopMiner);

  const specs: RunSpec[] = [
    { name: "sqlite-1", store: "sqlite", instances: 1 },
    { name: "postgres-1", store: "postgres", instances: 1 },
    { name: "postgres-2", store: "postgres", instances: 2 },
  ];
  const runs: InstancesRun[] = [];
  for (const [i, spec] of specs.entries()) {
    // Fresh sequence numbers per run (the chain and the devices are shared), signed before the clock starts.
    const signed = signRun(digester, devices, 1 + i * perRun, perRun, registeredAt + 1);
    runs.push(await runOne(spec, audit, pgUrl, signed));
  }
  await stopMiner();

  const [sqlite, pg1, pg2] = runs as [InstancesRun, InstancesRun, InstancesRun];
  results.instances = {
    devices: { total: n, secp256k1: n / 2, p256: n / 2 },
    bulk: { perRequest: CFG.bulkSize, concurrency: CFG.bulkConcurrency, readingsPerRun: n * CFG.bulkPerDevice },
    relayerConfig: CFG.relayer,
    note: "the relayer processes, the PostgreSQL server, the audit chain and the load generator share the machine's cores",
    runs,
    ratioTwoOverOne: pg2.readingsPerSecond / pg1.readingsPerSecond,
  };
  const checks = (r: InstancesRun) =>
    `${fmtNum(r.accepted)} of ${fmtNum(r.offered)} accepted, anchored once (${fmtNum(r.anchoredLeaves)} leaves, ${r.batches} batches), 429s waited out: ${r.retries429}`;
  const bulkText = `${CFG.bulkSize} readings/request, ${CFG.bulkConcurrency} concurrent in all`;
  rows.push(
    {
      section: SECTION,
      measurement: `Relayer bulk ingestion, 2 processes on one PostgreSQL store, requests round robin (${bulkText}, ${fmtNum(pg2.readings)} readings; ${checks(pg2)})`,
      result: `${fmtNum(pg2.readingsPerSecond)} readings/s`,
      baseline: `1 process on PostgreSQL, same load (${checks(pg1)})`,
      baselineResult: `${fmtNum(pg1.readingsPerSecond)} readings/s`,
      ratio: `${fmtRatio(pg2.readingsPerSecond / pg1.readingsPerSecond)} (2 / 1)`,
    },
    {
      section: SECTION,
      measurement: "Relayer bulk ingestion, 1 process on PostgreSQL (same load)",
      result: `${fmtNum(pg1.readingsPerSecond)} readings/s`,
      baseline: `1 process on SQLite, the npm start default (${checks(sqlite)})`,
      baselineResult: `${fmtNum(sqlite.readingsPerSecond)} readings/s`,
      ratio: `${fmtRatio(pg1.readingsPerSecond / sqlite.readingsPerSecond)} (PostgreSQL / SQLite)`,
    },
  );
}
