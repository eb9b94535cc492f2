/**
 * Configuration (from BENCH_* environment variables), progress log, the result rows and cleanup of one bench run.
 *
 * @module
 */
import os from "node:os";
import path from "node:path";

import { dataDir } from "../../../oracle/chain/deployments.js";

// ---- configuration ------------------------------------------------------------------------------
const env = process.env;
/** A positive number from the environment variable `name` (`fallback` when unset or empty); throws naming it otherwise. */
export const num = (name: string, fallback: number) => {
  const value = env[name] === undefined || env[name] === "" ? fallback : Number(env[name]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
export const FULL = env.BENCH_FULL === "1";
/**
 * BENCH_ONLY=ingestion: the signature limit and sections 1 (relayer) and 1b (platform) only;
 * BENCH_ONLY=transport: section 7 (MQTT vs HTTP) only; BENCH_ONLY=instances: section 8 (1 vs 2
 * relayer processes on PostgreSQL) only.
 */
export const ONLY = env.BENCH_ONLY === undefined || env.BENCH_ONLY === "" ? undefined : env.BENCH_ONLY;
if (ONLY !== undefined && ONLY !== "ingestion" && ONLY !== "transport" && ONLY !== "instances")
  throw new Error("BENCH_ONLY must be ingestion, transport or instances (or unset)");
export const CFG = {
  devices: 2 * Math.ceil(num("BENCH_DEVICES", 64) / 2),
  singleConcurrency: num("BENCH_SINGLE_CONCURRENCY", 32),
  singlePerDevice: num("BENCH_SINGLE_PER_DEVICE", 160),
  bulkSize: num("BENCH_BULK_SIZE", 100),
  bulkConcurrency: num("BENCH_BULK_CONCURRENCY", 8),
  bulkPerDevice: num("BENCH_BULK_PER_DEVICE", 800),
  /** Readings per device sent in bulks asking for one receipt root each (`Prefer: receipt=root`). */
  bulkRootPerDevice: num("BENCH_BULK_ROOT_PER_DEVICE", num("BENCH_BULK_PER_DEVICE", 800)),
  /**
   * Single-reading requests per device sent before any single-reading figure (the HTTP floor's and the
   * relayer's): as many as are measured, so that V8 has compiled the request path before the clock starts
   * (with 5 per device it was still optimizing ~900 functions during the measured phase).
   */
  warmupPerDevice: num("BENCH_WARMUP_PER_DEVICE", num("BENCH_SINGLE_PER_DEVICE", 160)),
  warmupBulkPerDevice: 10,
  /**
   * Single-reading requests per device sent on a clock at `offeredRate` readings/s in all, whatever the
   * answers (an open loop, as devices send), at most `offeredMaxInFlight` at once; 0 skips that phase.
   */
  offeredPerDevice: num("BENCH_OFFERED_PER_DEVICE", 320),
  offeredRate: num("BENCH_OFFERED_RATE", 4000),
  offeredMaxInFlight: num("BENCH_OFFERED_MAX_IN_FLIGHT", 512),
  latencyN: num("BENCH_LATENCY_N", 300),
  latencyRate: num("BENCH_LATENCY_RATE", 5),
  latencyPollMs: 50,
  directPerScheme: num("BENCH_DIRECT_PER_SCHEME", 50),
  anchorSizes: [1, 100, 10_000],
  merkleSizes: [100_000, 1_000_000],
  merkleOzSizes: FULL ? [100_000, 1_000_000] : [100_000],
  verifierN: num("BENCH_VERIFIER_N", FULL ? 1_000_000 : 100_000),
  naiveN: num("BENCH_NAIVE_N", 2_000),
  transportDevices: 2 * Math.ceil(num("BENCH_TRANSPORT_DEVICES", 32) / 2),
  transportPerDevice: num("BENCH_TRANSPORT_PER_DEVICE", 100),
  rewardEntries: 1_000,
  rewardClaims: 5,
  relayer: {
    BATCH_MAX_SIZE: "1000",
    BATCH_MAX_AGE_MS: "1000",
    CONFIRMATIONS: "1",
    ANCHOR_POLL_MS: "250",
  },
};

export const ROOT = path.resolve(import.meta.dirname, "../../..");
export const OUT_DIR = path.join(dataDir(), "bench");
export const started = performance.now();
export const log = (line: string) =>
  process.stderr.write(`[bench +${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
export const loadAvg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

// ---- result table ---------------------------------------------------------------------------------
export interface Row {
  section: number;
  measurement: string;
  result: string;
  baseline: string;
  baselineResult: string;
  ratio: string;
}
export const rows: Row[] = [];
export const results: Record<string, unknown> = {};

// ---- cleanup (only what this run started) --------------------------------------------------------
export const cleanups: (() => Promise<void>)[] = [];
export async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop() as () => Promise<void>;
    await step().catch((error: unknown) => log(`cleanup: ${String(error)}`));
  }
}
process.once("SIGINT", () => {
  log("interrupted: cleaning up");
  void cleanup().finally(() => process.exit(130));
});
