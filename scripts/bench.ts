/**
 * SensorSeal benchmark: every figure measured in one run on this machine, each next to the baseline
 * it is compared to (measured in the same run) and their ratio.
 *
 *   npm run bench                         # = hardhat run scripts/bench.ts; a default run takes ~5 min on 2 cores
 *   BENCH_FULL=1 NODE_OPTIONS=--max-old-space-size=6144 npm run bench
 *                                         # + OZ's Merkle tree at 1e6 leaves and the verifier at 1e6 readings (long)
 *
 * 1. Relayer ingestion over HTTP (readings/s): a real relayer process (scripts/relayer.ts, `node
 *    --import tsx`, configured by environment, rate limits and quotas raised out of the way) on a
 *    real audit chain (EDR over JSON-RPC), devices registered on-chain (half secp256k1, half P-256),
 *    readings signed with oracle/core before the clock starts. Bulk requests vs single-reading ones
 *    (32 in flight, each client waiting for its answer; then on a clock at 4,000/s offered, an open loop as
 *    devices send); then bulks asking for one receipt root each (`Prefer: receipt=root`) vs bulks with a
 *    receipt per reading.
 * 2. End-to-end latency, POST → GET /v1/readings/:device/:seq says anchored (p50, p95), readings
 *    arriving at random (Poisson) over about a minute, BATCH_MAX_AGE_MS=1000, CONFIRMATIONS=1, an
 *    empty block mined every second; vs the direct path (submitReading: send → receipt).
 * 3. Gas per anchored reading (real anchorBatch transactions of real batches of 1, 100, 10,000
 *    readings: gasUsed / size) vs the direct submitReading path (real transactions, both schemes).
 * 4. Merkle tree build, 1e5 and 1e6 leaves, vs @openzeppelin/merkle-tree (scripts/lib/bench/merkle.ts).
 * 5. Verifier readings/s vs a naive verifier (scripts/lib/bench/verifier.ts).
 * 6. Reward chain (RewardChain Ignition module): claim gas vs an ERC-20 transfer of the same token;
 *    postRoot with 2 vs 3 oracle signatures.
 * 7. Transports (scripts/lib/bench/transport.ts): the same signed readings to the platform and the relayer
 *    over MQTT 5 through a real Mosquitto, HTTP one reading per request, HTTP bulk (and the embedded aedes
 *    broker): readings/s acknowledged by both services, device-side bytes on the wire per reading.
 * 8. Relayer instances (scripts/lib/bench/instances.ts): bulk ingestion with 1 vs 2 relayer processes on
 *    one PostgreSQL store (requests round robin, same total concurrency), the SQLite single process as a
 *    baseline; every reading accepted, stored and anchored exactly once. Needs BENCH_PG_URL or
 *    SENSORSEAL_TEST_PG_URL (a role that may CREATE DATABASE; one fresh database per run); skipped without.
 *
 * Output: progress on stderr; a markdown table on stdout; JSON in <data dir>/bench/latest.json
 * (SENSORSEAL_DATA_DIR, default ./data) and a copy in docs/bench/latest.json.
 *
 * Environment (defaults): BENCH_FULL (0), BENCH_DEVICES (64), BENCH_SINGLE_CONCURRENCY (32),
 * BENCH_SINGLE_PER_DEVICE (160), BENCH_WARMUP_PER_DEVICE (= BENCH_SINGLE_PER_DEVICE), BENCH_OFFERED_PER_DEVICE (320; 0 skips
 * the open loop), BENCH_OFFERED_RATE (4000 readings/s), BENCH_OFFERED_MAX_IN_FLIGHT (512), BENCH_BULK_SIZE (100), BENCH_BULK_CONCURRENCY (8),
 * BENCH_BULK_PER_DEVICE (800), BENCH_BULK_ROOT_PER_DEVICE (= BENCH_BULK_PER_DEVICE), BENCH_LATENCY_N (300), BENCH_LATENCY_RATE (5 readings/s),
 * BENCH_DIRECT_PER_SCHEME (50), BENCH_VERIFIER_N (1e5; 1e6 with BENCH_FULL), BENCH_NAIVE_N (2000),
 * BENCH_TRANSPORT_DEVICES (32), BENCH_TRANSPORT_PER_DEVICE (100),
 * BENCH_ONLY (unset; `ingestion`: the signature-check limit and the relayer and platform ingestion only;
 * `transport`: section 7 only; `instances`: section 8 only), BENCH_PG_URL (else SENSORSEAL_TEST_PG_URL),
 * BENCH_CPU_PROF (0; 1: the relayer and platform processes write V8 CPU profiles to <data dir>/bench/prof).
 *
 * The load generator behaves as a real client: a 429 (load shedding) is waited out for its Retry-After
 * and sent again; the retries are counted in the results. The per-core signature-check limit is
 * measured first, in the same run, and the ingestion figures are stated against it.
 */
import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { auditSections } from "./lib/bench/audit.js";
import { merkleSection, verifierSection } from "./lib/bench/cpu.js";
import { instancesSection } from "./lib/bench/instances.js";
import { rewardSection } from "./lib/bench/reward.js";
import { transportSection } from "./lib/bench/transport.js";
import { CFG, FULL, ONLY, ROOT, OUT_DIR, started, log, loadAvg, rows, results, cleanup } from "./lib/bench/run.js";
import { fmtMs } from "./lib/bench/util.js";

// ================================================================================================
function gitRevision(): string | undefined {
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain"], { cwd: ROOT, encoding: "utf8" }).trim() !== "";
    return dirty ? `${rev}+uncommitted` : rev;
  } catch {
    return undefined;
  }
}

function markdown(): string {
  const header = "| # | measurement | result | baseline (same run) | baseline result | ratio |\n|---|---|---:|---|---:|---:|";
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const body = [...rows]
    .sort((a, b) => a.section - b.section)
    .map(
      (r) =>
        `| ${r.section} | ${esc(r.measurement)} | ${esc(r.result)} | ${esc(r.baseline)} | ${esc(r.baselineResult)} | ${esc(r.ratio)} |`,
    )
    .join("\n");
  return `${header}\n${body}`;
}

const meta = {
  date: new Date().toISOString(),
  node: process.version,
  platform: `${process.platform}/${process.arch}`,
  cpu: os.cpus()[0]?.model,
  cores: os.availableParallelism(),
  memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
  git: gitRevision(),
  full: FULL,
  loadAverageAtStart: loadAvg(),
};
log(
  `SensorSeal bench — Node ${meta.node}, ${meta.platform}, ${meta.cores} cores (${meta.cpu}), load ${meta.loadAverageAtStart.join(" ")}${FULL ? ", BENCH_FULL" : ""}`,
);

// Every section writes its logs and stores there.
await mkdir(OUT_DIR, { recursive: true });
try {
  if (ONLY === undefined || ONLY === "ingestion") await auditSections();
  if (ONLY === undefined || ONLY === "transport") {
    if (ONLY === undefined) await rewardSection();
    await cleanup(); // the audit chain and the relayer's store: the transports start their own
    await transportSection();
  }
  if (ONLY === undefined || ONLY === "instances") {
    await cleanup(); // section 8 starts its own chain, stores and relayers (skipped without PostgreSQL)
    await instancesSection();
  }
  if (ONLY === undefined) {
    await cleanup(); // nothing runs beside the CPU sections
    merkleSection();
    await verifierSection();
  }
  await cleanup();
} catch (error) {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  await cleanup();
  process.exit(1);
}

const table = markdown();
const notes = [
  `Measured in one run on ${meta.cores} cores (${meta.cpu}), Node ${meta.node}, ${meta.date.slice(0, 10)}; load average ${meta.loadAverageAtStart.join("/")} at start and ${loadAvg().join("/")} at the end: the machine is shared, so figures are noisy.`,
  "1–2: the relayer (its own process), the audit chain (EDR, in the bench process) and the load generator share those cores; the chain mines a block per transaction (blocks may share a timestamp). Latency is measured on such a chain, where the direct path waits for no block time; on a chain with block time B both sides wait up to B more.",
  "3, 6: whole-transaction gasUsed (21,000 base included). anchorBatch costs the same at any batch size; submitReading is the median over a device's readings 2..n.",
  "7: device-side socket bytes (HTTP request + response with headers, from a minimal node:http client; MQTT frames of the device connections), no TCP/IP headers, no TLS; fresh platform and relayer processes per transport; the MQTT consumers run in the bench process, as in npm start.",
  rows.some((r) => r.section === 8)
    ? "8: the relayer processes, the PostgreSQL server, the audit chain and the load generator all share those cores, so a second relayer process adds no core of its own: the 2 / 1 ratio is bounded by the machine, not by the design."
    : "8: not measured (no PostgreSQL: BENCH_PG_URL or SENSORSEAL_TEST_PG_URL).",
  FULL
    ? "4–5: BENCH_FULL=1: OZ at 1e6 leaves and the verifier at 1e6 readings measured."
    : "4: OZ at 1,000,000 leaves not measured (BENCH_FULL=1 measures it; it takes minutes); no extrapolation.",
];
const totalSeconds = (performance.now() - started) / 1000;
const output = {
  meta: { ...meta, loadAverageAtEnd: loadAvg(), durationSeconds: Number(totalSeconds.toFixed(1)), config: CFG },
  results,
  rows,
  markdown: table,
  notes,
};
const jsonFile = path.join(OUT_DIR, "latest.json");
const json = `${JSON.stringify(output, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
await writeFile(jsonFile, json);
// A partial run (BENCH_ONLY) does not replace the full run the README quotes.
const docsFile = ONLY === undefined ? path.join(ROOT, "docs/bench/latest.json") : undefined;
if (docsFile !== undefined) {
  await mkdir(path.dirname(docsFile), { recursive: true });
  await writeFile(docsFile, json);
}
log(`done in ${fmtMs(totalSeconds * 1000)}; JSON: ${jsonFile}${docsFile === undefined ? "" : ` and ${docsFile}`}`);

process.stdout.write(`${table}\n\n${notes.map((n) => `- ${n}`).join("\n")}\n`);
process.exit(0);
