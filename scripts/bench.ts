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
 *    readings signed with oracle/core before the clock starts. Bulk requests vs single-reading ones.
 * 2. End-to-end latency, POST → GET /v1/readings/:device/:seq says anchored (p50, p95), readings
 *    arriving at random (Poisson) over about a minute, BATCH_MAX_AGE_MS=1000, CONFIRMATIONS=1, an
 *    empty block mined every second; vs the direct path (submitReading: send → receipt).
 * 3. Gas per anchored reading (real anchorBatch transactions of real batches of 1, 100, 10,000
 *    readings: gasUsed / size) vs the direct submitReading path (real transactions, both schemes).
 * 4. Merkle tree build, 1e5 and 1e6 leaves, vs @openzeppelin/merkle-tree (scripts/lib/bench/merkle.ts).
 * 5. Verifier readings/s vs a naive verifier (scripts/lib/bench/verifier.ts).
 * 6. Reward chain (RewardChain Ignition module): claim gas vs an ERC-20 transfer of the same token;
 *    postRoot with 2 vs 3 oracle signatures.
 *
 * Output: progress on stderr; a markdown table on stdout; JSON in <data dir>/bench/latest.json
 * (SENSORSEAL_DATA_DIR, default ./data) and a copy in docs/bench/latest.json.
 *
 * Environment (defaults): BENCH_FULL (0), BENCH_DEVICES (64), BENCH_SINGLE_CONCURRENCY (32),
 * BENCH_SINGLE_PER_DEVICE (160), BENCH_BULK_SIZE (100), BENCH_BULK_CONCURRENCY (8),
 * BENCH_BULK_PER_DEVICE (800), BENCH_LATENCY_N (300), BENCH_LATENCY_RATE (5 readings/s),
 * BENCH_DIRECT_PER_SCHEME (50), BENCH_VERIFIER_N (1e5; 1e6 with BENCH_FULL), BENCH_NAIVE_N (2000).
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";

import { getAddress, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi, readingAnchorAbi, rewardDistributorAbi, rewardTokenAbi } from "../oracle/chain/abis.js";
import { bytesToHex, randomBytes } from "../oracle/core/bytes.js";
import { AUDIT_CHAIN_ID } from "../oracle/core/chains.js";
import { dataDir } from "../oracle/chain/deployments.js";
import { deviceIdFromPublicKey, generatePrivateKey, keySchemeId, publicKeyFromPrivate, signDigest, type KeyScheme } from "../oracle/core/keys.js";
import { buildBatch } from "../oracle/core/manifest.js";
import { MerkleTree, rewardLeaf, verifyMerkleProof } from "../oracle/core/merkle.js";
import { OracleMessageDigester, oracleAddress, signOracleMessage, sortOracleSignatures, type OracleMessage } from "../oracle/core/oracle-message.js";
import { buildPayload, dataHash } from "../oracle/core/payload.js";
import { ReadingDigester, readingLeaf, type Reading } from "../oracle/core/reading.js";
import { startBenchAuditChain, startBenchRewardChain, type BenchChain } from "./lib/bench/chains.js";
import { measureMerkle, type MerkleBenchResult } from "./lib/bench/merkle.js";
import { fmtMs, fmtNum, fmtRatio, HttpClient, mean, median, percentile, seededRandom, sleep } from "./lib/bench/util.js";
import { measureVerifier, type VerifierBenchResult } from "./lib/bench/verifier.js";
import { DEV_KEYS } from "./lib/dev-keys.js";

// ---- configuration ------------------------------------------------------------------------------
const env = process.env;
const num = (name: string, fallback: number) => {
  const value = env[name] === undefined || env[name] === "" ? fallback : Number(env[name]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const FULL = env.BENCH_FULL === "1";
const CFG = {
  devices: 2 * Math.ceil(num("BENCH_DEVICES", 64) / 2),
  singleConcurrency: num("BENCH_SINGLE_CONCURRENCY", 32),
  singlePerDevice: num("BENCH_SINGLE_PER_DEVICE", 160),
  bulkSize: num("BENCH_BULK_SIZE", 100),
  bulkConcurrency: num("BENCH_BULK_CONCURRENCY", 8),
  bulkPerDevice: num("BENCH_BULK_PER_DEVICE", 800),
  warmupPerDevice: 5,
  warmupBulkPerDevice: 10,
  latencyN: num("BENCH_LATENCY_N", 300),
  latencyRate: num("BENCH_LATENCY_RATE", 5),
  latencyPollMs: 50,
  directPerScheme: num("BENCH_DIRECT_PER_SCHEME", 50),
  anchorSizes: [1, 100, 10_000],
  merkleSizes: [100_000, 1_000_000],
  merkleOzSizes: FULL ? [100_000, 1_000_000] : [100_000],
  verifierN: num("BENCH_VERIFIER_N", FULL ? 1_000_000 : 100_000),
  naiveN: num("BENCH_NAIVE_N", 2_000),
  rewardEntries: 1_000,
  rewardClaims: 5,
  relayer: {
    BATCH_MAX_SIZE: "1000",
    BATCH_MAX_AGE_MS: "1000",
    CONFIRMATIONS: "1",
    ANCHOR_POLL_MS: "250",
  },
};

const ROOT = path.resolve(import.meta.dirname, "..");
const OUT_DIR = path.join(dataDir(), "bench");
const started = performance.now();
const log = (line: string) => process.stderr.write(`[bench +${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const loadAvg = () => os.loadavg().map((x) => Number(x.toFixed(2)));

// ---- result table ---------------------------------------------------------------------------------
interface Row {
  section: number;
  measurement: string;
  result: string;
  baseline: string;
  baselineResult: string;
  ratio: string;
}
const rows: Row[] = [];
const results: Record<string, unknown> = {};

// ---- cleanup (only what this run started) --------------------------------------------------------
const cleanups: (() => Promise<void>)[] = [];
async function cleanup(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop() as () => Promise<void>;
    await step().catch((error: unknown) => log(`cleanup: ${String(error)}`));
  }
}
process.once("SIGINT", () => {
  log("interrupted: cleaning up");
  void cleanup().finally(() => process.exit(130));
});

// ---- devices and readings ----------------------------------------------------------------------------
interface Device {
  scheme: KeyScheme;
  priv: Uint8Array;
  publicKey: Uint8Array;
  address: Address;
}
function newDevice(scheme: KeyScheme): Device {
  const priv = generatePrivateKey(scheme);
  const publicKey = publicKeyFromPrivate(scheme, priv);
  return { scheme, priv, publicKey, address: deviceIdFromPublicKey(publicKey) };
}

interface SignedReading {
  reading: Reading;
  signature: Uint8Array;
}
/** A device's reading as its SDK makes it: a canonical air-quality payload, its hash, the EIP-712 signature. */
function signReading(digester: ReadingDigester, device: Device, seq: number, ts: number): SignedReading {
  const payload = buildPayload({
    device: device.address,
    seq,
    ts,
    temperature_c: Math.round(150 + 100 * Math.random()) / 10,
    humidity_pct: Math.round(300 + 500 * Math.random()) / 10,
    pm2_5_ugm3: Math.round(10 + 300 * Math.random()) / 10,
    pm10_ugm3: Math.round(20 + 500 * Math.random()) / 10,
  });
  const reading: Reading = { device: device.address, seq: BigInt(seq), timestamp: BigInt(ts), dataHash: dataHash(payload.bytes) };
  return { reading, signature: signDigest(device.scheme, device.priv, digester.digest(reading)) };
}
const wire = ({ reading, signature }: SignedReading) => ({
  device: reading.device,
  seq: reading.seq.toString(),
  timestamp: reading.timestamp.toString(),
  dataHash: reading.dataHash,
  signature: bytesToHex(signature),
});

async function registerDevices(audit: BenchChain & { registry: Address }, devices: Device[]): Promise<number> {
  const registrar = audit.wallet(DEV_KEYS.registrar);
  let lastBlock = 0n;
  for (const d of devices) {
    const hash = await registrar.writeContract({
      address: audit.registry,
      abi: deviceRegistryAbi,
      functionName: "registerDevice",
      args: [keySchemeId(d.scheme), toHex(d.publicKey), registrar.account.address, `0x${"00".repeat(32)}`],
      chain: audit.chain,
    });
    const receipt = await audit.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== "success") throw new Error(`registerDevice ${d.address} reverted`);
    lastBlock = receipt.blockNumber;
  }
  const block = await audit.publicClient.getBlock({ blockNumber: lastBlock });
  return Number(block.timestamp);
}

// ---- the relayer as a child process ------------------------------------------------------------------
interface RelayerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}
async function startRelayerProcess(audit: BenchChain & { registry: Address; anchor: Address }, databaseFile: string, logFile: string): Promise<RelayerProcess> {
  const relayerEnv: Record<string, string> = {
    HOST: "127.0.0.1",
    PORT: "0",
    DATABASE_URL: databaseFile,
    AUDIT_RPC_URL: audit.rpcUrl,
    AUDIT_CHAIN_ID: String(audit.chainId),
    ANCHOR_ADDRESS: audit.anchor,
    REGISTRY_ADDRESS: audit.registry,
    REGISTRY_DEPLOY_BLOCK: "0",
    REGISTRY_POLL_MS: "1000",
    RELAYER_PRIVATE_KEY: DEV_KEYS.relayer,
    RECEIPT_PRIVATE_KEY: DEV_KEYS.receipt,
    ...CFG.relayer,
    // Abuse limits out of the way: the benchmark is one client sending for many devices.
    RELAYER_IP_REQUESTS_PER_SECOND: "1000000000",
    RELAYER_IP_REQUEST_BURST: "1000000000",
    RELAYER_IP_READINGS_PER_SECOND: "1000000000",
    RELAYER_IP_READING_BURST: "1000000000",
    RELAYER_DEVICE_READINGS_PER_MINUTE: "1000000000",
    RELAYER_DEVICE_BURST: "1000000000",
    RELAYER_MAX_QUEUE_DEPTH: "10000000",
    LOG_LEVEL: "info",
  };
  const out = createWriteStream(logFile, { flags: "w" });
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/relayer.ts")], {
    cwd: ROOT,
    env: { ...env, ...relayerEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr?.pipe(out);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => ((exited = true), resolve())));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the relayer did not start within 60 s (see ${logFile})`)), 60_000);
    child.once("exit", (code) => reject(new Error(`the relayer exited (${code}) at start (see ${logFile})`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      out.write(`${line}\n`);
      if (!line.includes("relayer listening")) return;
      try {
        const { url } = JSON.parse(line) as { url?: string };
        if (url !== undefined) {
          clearTimeout(timer);
          resolve(url);
        }
      } catch {
        // not JSON
      }
    });
  });
  return {
    url,
    child,
    async stop() {
      if (exited) return;
      const force = setTimeout(() => child.kill("SIGKILL"), 40_000);
      child.kill("SIGTERM");
      await exit;
      clearTimeout(force);
      out.end();
    },
  };
}

/** Sends each worker's bodies in order, workers concurrently; every answer must be 202. */
async function drive(client: HttpClient, queues: string[][]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(
    queues.map(async (queue) => {
      for (const body of queue) {
        const answer = await client.post("/v1/readings", body);
        if (answer.status !== 202) throw new Error(`relayer answered ${answer.status}: ${answer.text.slice(0, 400)}`);
      }
    }),
  );
  return performance.now() - t0;
}

interface ReadingStatusAnswer {
  status: string;
  root?: Hex;
  leaf?: Hex;
  proof?: Hex[];
}
async function readingStatus(client: HttpClient, device: Address, seq: number): Promise<ReadingStatusAnswer> {
  const answer = await client.get(`/v1/readings/${device}/${seq}`);
  if (answer.status !== 200) throw new Error(`GET reading ${device}/${seq}: ${answer.status} ${answer.text.slice(0, 300)}`);
  return JSON.parse(answer.text) as ReadingStatusAnswer;
}
const isAnchored = (s: string) => s === "anchored" || s === "confirmed";

// ================================================================================================
// Sections 1–3: the audit chain, the relayer, the direct path
// ================================================================================================
async function auditSections(): Promise<void> {
  log("audit chain: starting EDR over JSON-RPC, deploying AuditChain (Ignition)…");
  const audit = await startBenchAuditChain();
  cleanups.push(() => audit.close());
  log(`audit chain ${audit.rpcUrl} (chain ${audit.chainId}): registry ${audit.registry}, anchor ${audit.anchor}`);
  const digester = new ReadingDigester(audit.chainId, audit.anchor);

  const devices = Array.from({ length: CFG.devices }, (_, i) => newDevice(i < CFG.devices / 2 ? "secp256k1" : "p256"));
  log(`registering ${devices.length} devices (${devices.length / 2} secp256k1, ${devices.length / 2} P-256)…`);
  const registeredAt = await registerDevices(audit, devices);
  const tsBase = Math.max(registeredAt + 1, Math.floor(Date.now() / 1000));

  // Pre-sign every reading of section 1 (warm-up, single, bulk), before any clock starts.
  const warm = CFG.warmupPerDevice;
  const warmBulk = CFG.warmupBulkPerDevice;
  const single = CFG.singlePerDevice;
  const bulk = CFG.bulkPerDevice;
  const perDevice = warm + warmBulk + single + bulk;
  log(`signing ${fmtNum(perDevice * devices.length)} readings (${perDevice} per device) with oracle/core…`);
  let t0 = performance.now();
  const signed: SignedReading[][] = devices.map((d) =>
    // Timestamps spread over 2 minutes from registration: never more than the relayer's 300 s skew ahead.
    Array.from({ length: perDevice }, (_, k) => signReading(digester, d, k + 1, tsBase + Math.floor((k * 120) / perDevice))),
  );
  log(`  signed in ${fmtMs(performance.now() - t0)}`);
  const body = (d: number, seq: number) => JSON.stringify(wire(signed[d][seq - 1]));
  const seqRange = (from: number, count: number) => Array.from({ length: count }, (_, k) => from + k);
  // Single requests: worker w sends the readings of devices w, w+W, … in sequence order.
  const singleQueues = (seqs: number[], workers: number) =>
    Array.from({ length: workers }, (_, w) => {
      const mine = devices.map((_, d) => d).filter((d) => d % workers === w);
      return seqs.flatMap((seq) => mine.map((d) => body(d, seq)));
    }).filter((q) => q.length > 0);
  // Bulk requests: worker w sends arrays of `bulkSize` readings of its devices, in sequence order.
  const bulkQueues = (seqs: number[], workers: number) =>
    Array.from({ length: workers }, (_, w) => {
      const mine = devices.map((_, d) => d).filter((d) => d % workers === w);
      const items = seqs.flatMap((seq) => mine.map((d) => wire(signed[d][seq - 1])));
      const out: string[] = [];
      for (let i = 0; i < items.length; i += CFG.bulkSize) out.push(JSON.stringify(items.slice(i, i + CFG.bulkSize)));
      return out;
    }).filter((q) => q.length > 0);
  const warmSeqs = seqRange(1, warm);
  const warmBulkSeqs = seqRange(1 + warm, warmBulk);
  const singleSeqs = seqRange(1 + warm + warmBulk, single);
  const bulkSeqs = seqRange(1 + warm + warmBulk + single, bulk);
  const queues = {
    warm: singleQueues(warmSeqs, CFG.singleConcurrency),
    warmBulk: bulkQueues(warmBulkSeqs, CFG.bulkConcurrency),
    single: singleQueues(singleSeqs, CFG.singleConcurrency),
    bulk: bulkQueues(bulkSeqs, CFG.bulkConcurrency),
  };

  // ---- the relayer ----
  await mkdir(OUT_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dbFile = path.join(OUT_DIR, `relayer-${stamp}.sqlite`);
  cleanups.push(async () => {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) await rm(`${dbFile}${suffix}`, { force: true });
  });
  const relayerLog = path.join(OUT_DIR, "relayer.log");
  log(`starting the relayer (scripts/relayer.ts, node --import tsx; log ${relayerLog})…`);
  const relayer = await startRelayerProcess(audit, dbFile, relayerLog);
  cleanups.push(() => relayer.stop());
  log(`relayer ${relayer.url} (${Object.entries(CFG.relayer).map(([k, v]) => `${k}=${v}`).join(" ")})`);
  const client = new HttpClient(relayer.url, Math.max(CFG.singleConcurrency, CFG.bulkConcurrency, 64));
  cleanups.push(async () => client.close());

  // An empty block every second: confirmations move without traffic.
  let mining = true;
  const miner = (async () => {
    while (mining) {
      await audit.rpc("evm_mine").catch((error: unknown) => log(`evm_mine failed: ${String(error)}`));
      await sleep(1000);
    }
  })();
  const stopMiner = async () => {
    mining = false;
    await miner;
  };
  cleanups.push(stopMiner);

  // ---- 1. ingestion ----
  log(`1. warm-up: ${fmtNum(warm * devices.length)} single + ${fmtNum(warmBulk * devices.length)} bulk readings…`);
  await drive(client, queues.warm);
  await drive(client, queues.warmBulk);
  const singleCount = single * devices.length;
  log(`1. single-reading requests: ${fmtNum(singleCount)} readings, ${CFG.singleConcurrency} concurrent…`);
  const singleMs = await drive(client, queues.single);
  const singleRate = (singleCount / singleMs) * 1000;
  log(`   ${fmtNum(singleRate)} readings/s (${fmtMs(singleMs)})`);
  const bulkCount = bulk * devices.length;
  const bulkRequests = queues.bulk.reduce((a, q) => a + q.length, 0);
  log(`1. bulk requests: ${fmtNum(bulkCount)} readings in ${bulkRequests} requests of ${CFG.bulkSize}, ${CFG.bulkConcurrency} concurrent…`);
  const bulkMs = await drive(client, queues.bulk);
  const bulkRate = (bulkCount / bulkMs) * 1000;
  log(`   ${fmtNum(bulkRate)} readings/s (${fmtMs(bulkMs)})`);
  // Drain: wait until every reading sent so far is anchored, so section 2 starts on an empty queue.
  const lastSeq = perDevice;
  t0 = performance.now();
  log("   waiting for the relayer to anchor the backlog…");
  for (;;) {
    const states = await Promise.all(devices.map((d) => readingStatus(client, d.address, lastSeq)));
    if (states.every((s) => s.status === "confirmed")) break;
    if (performance.now() - t0 > 300_000) throw new Error("the relayer did not anchor the backlog within 300 s");
    await sleep(250);
  }
  const drainMs = performance.now() - t0;
  log(`   backlog anchored and confirmed ${fmtMs(drainMs)} after the last bulk answer`);
  results.ingestion = {
    devices: { total: devices.length, secp256k1: devices.length / 2, p256: devices.length / 2 },
    relayerConfig: CFG.relayer,
    single: { readings: singleCount, concurrency: CFG.singleConcurrency, ms: singleMs, readingsPerSecond: singleRate },
    bulk: { readings: bulkCount, requests: bulkRequests, perRequest: CFG.bulkSize, concurrency: CFG.bulkConcurrency, ms: bulkMs, readingsPerSecond: bulkRate },
    ratioBulkOverSingle: bulkRate / singleRate,
    backlogAnchoredMsAfterBulk: drainMs,
    warmup: { single: warm * devices.length, bulk: warmBulk * devices.length },
  };
  rows.push({
    section: 1,
    measurement: `Relayer ingestion, bulk: ${CFG.bulkSize} readings/request, ${CFG.bulkConcurrency} concurrent (${fmtNum(bulkCount)} readings)`,
    result: `${fmtNum(bulkRate)} readings/s`,
    baseline: `single-reading requests, ${CFG.singleConcurrency} concurrent (${fmtNum(singleCount)} readings)`,
    baselineResult: `${fmtNum(singleRate)} readings/s`,
    ratio: `${fmtRatio(bulkRate / singleRate)} (bulk / single)`,
  });

  // ---- 2. end-to-end latency ----
  const n = CFG.latencyN;
  const random = seededRandom(7);
  const offsets: number[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    at += (-Math.log(1 - random()) / CFG.latencyRate) * 1000;
    offsets.push(at);
  }
  log(`2. latency: ${n} readings, Poisson arrivals at ${CFG.latencyRate}/s (~${fmtMs(at)}), each POSTed then polled every ${CFG.latencyPollMs} ms until anchored…`);
  const nextSeq = devices.map(() => lastSeq + 1);
  const latencies: number[] = [];
  const postLatencies: number[] = [];
  const tStart = performance.now();
  await Promise.all(
    offsets.map(async (offset, i) => {
      await sleep(offset - (performance.now() - tStart));
      const d = i % devices.length;
      const seq = nextSeq[d]++;
      const sr = signReading(digester, devices[d], seq, Math.floor(Date.now() / 1000));
      const tPost = performance.now();
      const answer = await client.post("/v1/readings", JSON.stringify(wire(sr)));
      if (answer.status !== 202) throw new Error(`latency POST: ${answer.status} ${answer.text.slice(0, 300)}`);
      postLatencies.push(performance.now() - tPost);
      for (;;) {
        const state = await readingStatus(client, devices[d].address, seq);
        if (isAnchored(state.status)) {
          latencies.push(performance.now() - tPost);
          // The proof the relayer serves must hold for this very reading.
          const leaf = readingLeaf(sr.reading);
          if (state.leaf !== bytesToHex(leaf) || !verifyMerkleProof(leaf, state.proof ?? [], state.root as Hex))
            throw new Error(`latency: bad proof for ${devices[d].address}/${seq}`);
          return;
        }
        if (performance.now() - tPost > 120_000) throw new Error(`latency: ${devices[d].address}/${seq} not anchored within 120 s`);
        await sleep(CFG.latencyPollMs);
      }
    }),
  );
  const lat = { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), max: Math.max(...latencies), mean: mean(latencies) };
  log(`   p50 ${fmtMs(lat.p50)}, p95 ${fmtMs(lat.p95)}, max ${fmtMs(lat.max)}`);

  await stopMiner();
  log("stopping the relayer…");
  await relayer.stop();

  // ---- 3. gas: anchorBatch of real batches vs submitReading ----
  const relayerWallet = audit.wallet(DEV_KEYS.relayer);
  const anchorGas: { size: number; gasUsed: number; perReading: number; buildMs: number }[] = [];
  const secpDevices = devices.filter((d) => d.scheme === "secp256k1");
  for (const size of CFG.anchorSizes) {
    log(`3. anchorBatch of a real batch of ${fmtNum(size)} readings…`);
    const items: SignedReading[] = [];
    const ts = Math.floor(Date.now() / 1000);
    // Fresh sequence numbers (the batch's readings are new, so is its root).
    for (let i = 0; i < size; i++) {
      const d = i % secpDevices.length;
      items.push(signReading(digester, secpDevices[d], 100_000 * (anchorGas.length + 1) + Math.floor(i / secpDevices.length), ts));
    }
    const tb = performance.now();
    const batch = buildBatch({ chainId: audit.chainId, anchor: audit.anchor, items });
    const buildMs = performance.now() - tb;
    const hash = await relayerWallet.writeContract({
      address: audit.anchor,
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [batch.root, batch.leafCount, batch.manifestHash],
      chain: audit.chain,
    });
    const receipt = await audit.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== "success") throw new Error(`anchorBatch of ${size} reverted`);
    anchorGas.push({ size, gasUsed: Number(receipt.gasUsed), perReading: Number(receipt.gasUsed) / size, buildMs });
    log(`   gasUsed ${fmtNum(Number(receipt.gasUsed))} → ${fmtNum(Number(receipt.gasUsed) / size, 1)} gas/reading`);
  }

  log(`3. direct path: ${CFG.directPerScheme} submitReading transactions per scheme (fresh devices)…`);
  const directDevices = [newDevice("secp256k1"), newDevice("p256")];
  const directRegisteredAt = await registerDevices(audit, directDevices);
  while (Date.now() / 1000 < directRegisteredAt + 1) await sleep(100);
  const stranger = audit.wallet(DEV_KEYS.stranger);
  const direct: Record<KeyScheme, { first: number; steady: number[]; latencies: number[] }> = {
    secp256k1: { first: 0, steady: [], latencies: [] },
    p256: { first: 0, steady: [], latencies: [] },
  };
  for (const d of directDevices) {
    for (let seq = 1; seq <= CFG.directPerScheme; seq++) {
      const { reading, signature } = signReading(digester, d, seq, Math.floor(Date.now() / 1000));
      const tSend = performance.now();
      const hash = await stranger.writeContract({
        address: audit.anchor,
        abi: readingAnchorAbi,
        functionName: "submitReading",
        args: [reading, bytesToHex(signature)],
        chain: audit.chain,
      });
      const receipt = await audit.publicClient.waitForTransactionReceipt({ hash, pollingInterval: CFG.latencyPollMs });
      direct[d.scheme].latencies.push(performance.now() - tSend);
      if (receipt.status !== "success") throw new Error(`submitReading (${d.scheme}) reverted`);
      if (seq === 1) direct[d.scheme].first = Number(receipt.gasUsed);
      else direct[d.scheme].steady.push(Number(receipt.gasUsed));
    }
  }
  const directGas = { secp256k1: median(direct.secp256k1.steady), p256: median(direct.p256.steady) };
  const directLatencies = [...direct.secp256k1.latencies, ...direct.p256.latencies];
  const directLat = { p50: percentile(directLatencies, 0.5), p95: percentile(directLatencies, 0.95), max: Math.max(...directLatencies), mean: mean(directLatencies) };
  log(`   submitReading gas: secp256k1 ${fmtNum(directGas.secp256k1)}, P-256 ${fmtNum(directGas.p256)} (first reading of a device: ${fmtNum(direct.secp256k1.first)}, ${fmtNum(direct.p256.first)})`);
  log(`   submitReading send → receipt: p50 ${fmtMs(directLat.p50)}, p95 ${fmtMs(directLat.p95)}`);

  results.latency = {
    readings: n,
    arrivalsPerSecond: CFG.latencyRate,
    spanMs: at,
    pollMs: CFG.latencyPollMs,
    relayerConfig: CFG.relayer,
    anchoredMs: lat,
    postAnswerMs: { p50: percentile(postLatencies, 0.5), p95: percentile(postLatencies, 0.95) },
    directSubmitReadingMs: { ...directLat, samples: directLatencies.length },
  };
  rows.push(
    {
      section: 2,
      measurement: `End-to-end latency p50, POST → anchored (${n} readings, Poisson ${CFG.latencyRate}/s; BATCH_MAX_AGE_MS=${CFG.relayer.BATCH_MAX_AGE_MS}, CONFIRMATIONS=1)`,
      result: fmtMs(lat.p50),
      baseline: `direct submitReading, send → receipt, p50 (${directLatencies.length} txs)`,
      baselineResult: fmtMs(directLat.p50),
      ratio: `${fmtRatio(lat.p50 / directLat.p50)} (relayer / direct)`,
    },
    {
      section: 2,
      measurement: "End-to-end latency p95, POST → anchored (same readings)",
      result: fmtMs(lat.p95),
      baseline: "direct submitReading, send → receipt, p95",
      baselineResult: fmtMs(directLat.p95),
      ratio: `${fmtRatio(lat.p95 / directLat.p95)} (relayer / direct)`,
    },
  );
  results.gas = {
    anchorBatch: anchorGas,
    submitReading: {
      secp256k1: { steadyMedian: directGas.secp256k1, first: direct.secp256k1.first, samples: direct.secp256k1.steady.length },
      p256: { steadyMedian: directGas.p256, first: direct.p256.first, samples: direct.p256.steady.length },
    },
    note: "whole-transaction gasUsed (21,000 base included); submitReading = median over a device's readings 2..n (its first costs more: lastSequence 0 → non-zero)",
  };
  for (const a of anchorGas) {
    rows.push({
      section: 3,
      measurement: `Gas per anchored reading, anchorBatch of ${fmtNum(a.size)} (${fmtNum(a.gasUsed)} gas / ${fmtNum(a.size)})`,
      result: `${fmtNum(a.perReading, a.perReading < 100 ? 1 : 0)} gas`,
      baseline: "direct submitReading, secp256k1 / P-256",
      baselineResult: `${fmtNum(directGas.secp256k1)} / ${fmtNum(directGas.p256)} gas`,
      ratio: `${fmtRatio(directGas.secp256k1 / a.perReading)} / ${fmtRatio(directGas.p256 / a.perReading)} (direct / anchored)`,
    });
  }
}

// ================================================================================================
// Section 6: the reward chain
// ================================================================================================
async function rewardSection(): Promise<void> {
  log("6. reward chain: starting EDR over JSON-RPC, deploying RewardChain (Ignition, parameters local.json)…");
  const reward = await startBenchRewardChain();
  cleanups.push(() => reward.close());
  const { publicClient, distributor, token } = reward;
  const set = await publicClient.readContract({ address: distributor, abi: rewardDistributorAbi, functionName: "getOracleSet", args: [1] });
  const expected = DEV_KEYS.oracles.map((k) => oracleAddress(k));
  if (set.threshold !== 2 || set.oracles.map((a) => getAddress(a)).join() !== expected.join())
    throw new Error(`unexpected oracle set: ${JSON.stringify({ oracles: set.oracles, threshold: set.threshold })}`);
  log(`   distributor ${distributor}, token ${token}; oracles #5 #6 #7, threshold ${set.threshold}`);

  // Beneficiaries: a few accounts whose keys we hold (they claim, then transfer), the rest random.
  const holders = Array.from({ length: CFG.rewardClaims }, () => bytesToHex(generatePrivateKey("secp256k1")));
  const accounts: Address[] = [
    ...holders.map((k) => privateKeyToAccount(k).address),
    ...Array.from({ length: CFG.rewardEntries - holders.length }, () => getAddress(bytesToHex(randomBytes(20)))),
  ];
  const base = accounts.map(() => BigInt(1 + Math.floor(Math.random() * 100)) * 10n ** 18n);
  const treeAt = (epoch: number) => {
    const amounts = base.map((b) => b * BigInt(epoch));
    const tree = MerkleTree.fromLeaves(accounts.map((a, i) => rewardLeaf(a, amounts[i])));
    return { tree, amounts, total: amounts.reduce((a, b) => a + b, 0n) };
  };
  const digester = new OracleMessageDigester(reward.chainId, distributor);
  const poster = reward.wallet(DEV_KEYS.stranger);
  async function postRoot(epoch: number, signers: number): Promise<{ gasUsed: number; tree: ReturnType<typeof treeAt> }> {
    const t = treeAt(epoch);
    const message: OracleMessage = {
      sourceChainId: BigInt(AUDIT_CHAIN_ID),
      destinationChainId: BigInt(reward.chainId),
      distributor,
      epoch: BigInt(epoch),
      root: t.tree.root,
      cumulativeTotal: t.total,
      fromBlock: BigInt((epoch - 1) * 100 + 1),
      toBlock: BigInt(epoch * 100),
      rulesVersion: 1,
      oracleSetVersion: 1,
    };
    const signatures = sortOracleSignatures(DEV_KEYS.oracles.slice(0, signers).map((k) => signOracleMessage(k, digester, message)));
    const hash = await poster.writeContract({ address: distributor, abi: rewardDistributorAbi, functionName: "postRoot", args: [message, signatures], chain: reward.chain });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== "success") throw new Error(`postRoot epoch ${epoch} reverted`);
    return { gasUsed: Number(receipt.gasUsed), tree: t };
  }
  log("   postRoot: epoch 1 (2 signatures, the first root), epoch 2 (2 signatures), epoch 3 (3 signatures)…");
  const first = await postRoot(1, 2);
  const two = await postRoot(2, 2);
  const three = await postRoot(3, 3);
  log(`   postRoot gas: first ${fmtNum(first.gasUsed)}, 2 signatures ${fmtNum(two.gasUsed)}, 3 signatures ${fmtNum(three.gasUsed)}`);

  // Claims against the newest root (epoch 3), each an account's first; then each holder transfers
  // half of its tokens to a fresh address (a new holder, as a claim makes one).
  const claimGas: number[] = [];
  const proofLengths: number[] = [];
  const { tree, amounts } = three.tree;
  for (let i = 0; i < holders.length; i++) {
    const proof = tree.getProof(tree.treeIndexOf(i));
    proofLengths.push(proof.length);
    const hash = await poster.writeContract({
      address: distributor,
      abi: rewardDistributorAbi,
      functionName: "claim",
      args: [accounts[i], amounts[i], proof],
      chain: reward.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== "success") throw new Error("claim reverted");
    claimGas.push(Number(receipt.gasUsed));
  }
  const transferGas: number[] = [];
  for (let i = 0; i < holders.length; i++) {
    const wallet = reward.wallet(holders[i] as Hex);
    await reward.rpc("hardhat_setBalance", [wallet.account.address, toHex(10n ** 18n)]);
    const balance = await publicClient.readContract({ address: token, abi: rewardTokenAbi, functionName: "balanceOf", args: [wallet.account.address] });
    if (balance !== amounts[i]) throw new Error(`claimed balance ${balance} ≠ ${amounts[i]}`);
    const to = getAddress(bytesToHex(randomBytes(20)));
    const hash = await wallet.writeContract({ address: token, abi: rewardTokenAbi, functionName: "transfer", args: [to, balance / 2n], chain: reward.chain });
    const receipt = await publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== "success") throw new Error("transfer reverted");
    transferGas.push(Number(receipt.gasUsed));
  }
  const claim = median(claimGas);
  const transfer = median(transferGas);
  log(`   claim gas (median of ${claimGas.length}) ${fmtNum(claim)}, ERC-20 transfer ${fmtNum(transfer)}`);
  results.reward = {
    entries: CFG.rewardEntries,
    postRoot: { first2Signatures: first.gasUsed, signatures2: two.gasUsed, signatures3: three.gasUsed, perExtraSignature: three.gasUsed - two.gasUsed },
    claim: { median: claim, samples: claimGas, proofLengths },
    transfer: { median: transfer, samples: transferGas },
    note: "claims: each an account's first claim (claimed 0 → non-zero, balance minted 0 → non-zero), sent by a third party; transfers: half a holder's balance to a fresh address",
  };
  rows.push(
    {
      section: 6,
      measurement: `claim (an account's first, proof of ${median(proofLengths)} hashes, tree of ${fmtNum(CFG.rewardEntries)})`,
      result: `${fmtNum(claim)} gas`,
      baseline: "ERC-20 transfer of the same token to a new holder",
      baselineResult: `${fmtNum(transfer)} gas`,
      ratio: `${fmtRatio(claim / transfer)} (claim / transfer)`,
    },
    {
      section: 6,
      measurement: "postRoot with 2 oracle signatures (threshold 2 of 3; not the first root)",
      result: `${fmtNum(two.gasUsed)} gas`,
      baseline: "postRoot with 3 signatures",
      baselineResult: `${fmtNum(three.gasUsed)} gas`,
      ratio: `${fmtRatio(two.gasUsed / three.gasUsed)} (2 / 3 signatures)`,
    },
  );
  await reward.close();
  cleanups.pop();
}

// ================================================================================================
// Sections 4 and 5: CPU only
// ================================================================================================
function merkleSection(): void {
  log(`4. Merkle build: ${CFG.merkleSizes.map((n) => fmtNum(n)).join(", ")} leaves; OZ at ${CFG.merkleOzSizes.map((n) => fmtNum(n)).join(", ")}…`);
  const merkle: MerkleBenchResult[] = measureMerkle({
    sizes: CFG.merkleSizes,
    ozSizes: CFG.merkleOzSizes,
    repeats: 3,
    ozRepeats: 1,
    log,
  });
  results.merkle = { results: merkle, note: "this core: median of 3 runs (leaf hashing from readings + tree); OZ StandardMerkleTree.of: one run" };
  for (const r of merkle) {
    log(`   ${fmtNum(r.leaves)} leaves: core ${fmtMs(r.coreMs)}, OZ ${r.ozMs === undefined ? "not measured" : fmtMs(r.ozMs)}`);
    rows.push({
      section: 4,
      measurement: `Merkle tree build, ${fmtNum(r.leaves)} reading leaves (leaf hashing included), oracle/core`,
      result: fmtMs(r.coreMs),
      baseline: "@openzeppelin/merkle-tree StandardMerkleTree.of",
      baselineResult: r.ozMs === undefined ? "not measured (BENCH_FULL=1)" : fmtMs(r.ozMs),
      ratio: r.speedup === undefined ? "—" : `${fmtRatio(r.speedup)} (OZ time / core time)`,
    });
  }
}

async function verifierSection(): Promise<void> {
  log(`5. verifier: ${fmtNum(CFG.verifierN)} readings…`);
  const v: VerifierBenchResult = await measureVerifier({ n: CFG.verifierN, naiveN: CFG.naiveN, log });
  log(`   ${fmtNum(v.fastRate)} readings/s (${v.threads} threads), ${fmtNum(v.fast1Rate)} (1 thread); naive ${fmtNum(v.naiveRate)}`);
  results.verifier = v;
  rows.push(
    {
      section: 5,
      measurement: `Verifier, full-batch audit of ${fmtNum(v.n)} secp256k1 readings, ${v.threads} worker threads`,
      result: `${fmtNum(v.fastRate)} readings/s`,
      baseline: `naive verifier (OZ merkle-tree + viem recoverTypedDataAddress), ${fmtNum(v.naiveN)}-reading sample`,
      baselineResult: `${fmtNum(v.naiveRate)} readings/s`,
      ratio: `${fmtRatio(v.ratio)} (verifier / naive)`,
    },
    {
      section: 5,
      measurement: `Verifier, same audit, 1 worker thread`,
      result: `${fmtNum(v.fast1Rate)} readings/s`,
      baseline: "naive verifier (same run)",
      baselineResult: `${fmtNum(v.naiveRate)} readings/s`,
      ratio: `${fmtRatio(v.ratio1)} (verifier / naive)`,
    },
  );
}

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
    .map((r) => `| ${r.section} | ${esc(r.measurement)} | ${esc(r.result)} | ${esc(r.baseline)} | ${esc(r.baselineResult)} | ${esc(r.ratio)} |`)
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
log(`SensorSeal bench — Node ${meta.node}, ${meta.platform}, ${meta.cores} cores (${meta.cpu}), load ${meta.loadAverageAtStart.join(" ")}${FULL ? ", BENCH_FULL" : ""}`);

try {
  await auditSections();
  await rewardSection();
  await cleanup(); // the audit chain and the relayer's store: nothing runs beside the CPU sections
  merkleSection();
  await verifierSection();
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
  FULL ? "4–5: BENCH_FULL=1: OZ at 1e6 leaves and the verifier at 1e6 readings measured." : "4: OZ at 1,000,000 leaves not measured (BENCH_FULL=1 measures it; it takes minutes); no extrapolation.",
];
const totalSeconds = (performance.now() - started) / 1000;
const output = { meta: { ...meta, loadAverageAtEnd: loadAvg(), durationSeconds: Number(totalSeconds.toFixed(1)), config: CFG }, results, rows, markdown: table, notes };
await mkdir(OUT_DIR, { recursive: true });
const jsonFile = path.join(OUT_DIR, "latest.json");
const json = `${JSON.stringify(output, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`;
await writeFile(jsonFile, json);
const docsFile = path.join(ROOT, "docs/bench/latest.json");
await mkdir(path.dirname(docsFile), { recursive: true });
await writeFile(docsFile, json);
log(`done in ${fmtMs(totalSeconds * 1000)}; JSON: ${jsonFile} and ${docsFile}`);

process.stdout.write(`${table}\n\n${notes.map((n) => `- ${n}`).join("\n")}\n`);
process.exit(0);
