/**
 * Auditor throughput: N signed air-quality readings (half secp256k1, half P-256 devices) on a real
 * platform (SQLite, HTTP) and a real audit chain (EDR over JSON-RPC), anchored in batches of B with
 * their manifests served at the relayer's registered URL; then timed over the same data, in one run:
 *   - the per-core signature-check limit (core's verifyDeviceSignature on this thread),
 *   - the continuous auditor (oracle/auditor) from an empty store to every verdict recorded,
 *     with the verifier's batch entry `verifyBatchReadings`,
 *   - the per-reading path the auditor used before (`verifyReading` per reading), on a sample,
 *   - `verifyAll()` (what `npm run verify -- all` runs, without process start-up).
 *
 *   npm run bench:auditor
 *   BENCH_N=20000 BENCH_BATCH=1000 BENCH_DEVICES=50 BENCH_SAMPLE=200 BENCH_THREADS=1 npm run bench:auditor
 *   BENCH_CPU_PROFILE=auditor.cpuprofile npm run bench:auditor   # main-thread profile of the auditor phase only
 *   BENCH_MANIFEST_DELAY_MS=100 BENCH_PARALLEL_ITEMS=1 npm run bench:auditor   # a relayer 100 ms away; one item at a time
 *
 * Speeds are printed, never asserted. Set-up (signing, storing, anchoring) is not timed.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import Database from "better-sqlite3";
import type { Hex, PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { Auditor } from "../oracle/auditor/auditor.js";
import { auditorMetrics } from "../oracle/auditor/metrics.js";
import { PrefetchingPlatform } from "../oracle/auditor/platform-cache.js";
import { AuditorStore } from "../oracle/auditor/store.js";
import { readingAnchorAbi } from "../oracle/chain/abis.js";
import { RegistryIndex } from "../oracle/chain/registry-index.js";
import { hexToBytes } from "../oracle/core/bytes.js";
import { buildBatch } from "../oracle/core/manifest.js";
import { ReadingDigester } from "../oracle/core/reading.js";
import { generateApiKey } from "../oracle/platform/auth.js";
import { createPlatform } from "../oracle/platform/platform.js";
import { listen } from "../oracle/service/app.js";
import { createLogger } from "../oracle/service/logger.js";
import { openDatabase } from "../oracle/store/sql.js";
import { Verifier } from "../oracle/verifier/index.js";
import { startBenchAuditChain } from "./lib/bench/chains.js";
import { newDevice, registerDevices, signReading, type SignedReading } from "./lib/bench/devices.js";
import { measureSignatureLimit } from "./lib/bench/signature-limit.js";
import { DEV_KEYS } from "./lib/dev-keys.js";

const env = process.env;
const N = Number(env.BENCH_N ?? 20_000);
const BATCH = Number(env.BENCH_BATCH ?? 1_000);
const DEVICES = Number(env.BENCH_DEVICES ?? 50);
const SAMPLE = Math.min(N, Number(env.BENCH_SAMPLE ?? 200));
const THREADS = Number(env.BENCH_THREADS ?? 1);
const CPU_PROFILE = env.BENCH_CPU_PROFILE;
/** Each manifest answered after this many ms, as a relayer across a network would (0: at once). */
const MANIFEST_DELAY_MS = Number(env.BENCH_MANIFEST_DELAY_MS ?? 0);
/** The auditor's PARALLEL_ITEMS (its default, 2, when unset). */
const PARALLEL_ITEMS = env.BENCH_PARALLEL_ITEMS === undefined ? undefined : Number(env.BENCH_PARALLEL_ITEMS);
const log = (s: string) => process.stderr.write(`${s}\n`);
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);
const cleanups: (() => Promise<unknown> | unknown)[] = [];

try {
  const limit = measureSignatureLimit(1000);
  const audit = await startBenchAuditChain();
  cleanups.push(() => audit.close());
  const dir = await mkdtemp(path.join(tmpdir(), "bench-auditor-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));

  const devices = Array.from({ length: DEVICES }, (_, i) => newDevice(i % 2 === 0 ? "secp256k1" : "p256"));
  log(`registering ${DEVICES} devices…`);
  const registeredAt = await registerDevices(audit, devices);
  const manifests = new Map<string, Uint8Array>();
  const manifestServer = http.createServer((req, res) => {
    const root = /^\/v1\/batches\/(0x[0-9a-f]{64})\/manifest$/.exec(req.url ?? "")?.[1];
    const bytes = root === undefined ? undefined : manifests.get(root);
    const answer = () =>
      bytes === undefined ? res.writeHead(404).end() : res.writeHead(200, { "content-type": "application/json" }).end(Buffer.from(bytes));
    if (MANIFEST_DELAY_MS > 0) setTimeout(answer, MANIFEST_DELAY_MS);
    else answer();
  });
  await new Promise<void>((r) => manifestServer.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise((r) => manifestServer.close(r)));
  const manifestUrl = `http://127.0.0.1:${(manifestServer.address() as { port: number }).port}`;
  const admin = audit.wallet(DEV_KEYS.admin);
  const relayerWallet = audit.wallet(DEV_KEYS.relayer);
  await audit.publicClient.waitForTransactionReceipt({
    hash: await admin.writeContract({
      address: audit.anchor,
      abi: readingAnchorAbi,
      functionName: "registerRelayer",
      args: [relayerWallet.account.address, manifestUrl, privateKeyToAccount(DEV_KEYS.receipt).address],
    }),
  });

  const registry = await RegistryIndex.start({ client: audit.publicClient, registry: audit.registry, deployBlock: 0, pollMs: 0 });
  cleanups.push(() => registry.stop());
  const { key: apiKey, entry } = generateApiKey("agency", "consumer");
  const platformDb = path.join(dir, "platform.sqlite");
  const platform = await createPlatform({
    store: await openDatabase(platformDb),
    registry,
    domain: { chainId: audit.chainId, anchor: audit.anchor },
    apiKeys: [entry],
    logger: createLogger("bench-platform", "silent"),
    // The auditor reads as one consumer: the per-address limit is not what is measured here.
    limits: { ipRatePerSecond: 100_000, ipBurst: 100_000, deviceReadingsPerMinute: 60_000, deviceBurst: 10_000 },
  });
  cleanups.push(() => platform.close());
  const platformServer = await listen(platform.app, 0);
  cleanups.push(() => platformServer.close());

  log(`signing ${N} readings, storing them on the platform, anchoring batches of ${BATCH}…`);
  const digester = new ReadingDigester(audit.chainId, audit.anchor);
  const tsBase = registeredAt + 1;
  const signed: SignedReading[] = [];
  for (let i = 0; i < N; i++)
    signed.push(signReading(digester, devices[i % DEVICES], Math.floor(i / DEVICES) + 1, tsBase + Math.floor(i / DEVICES)));
  const db = new Database(platformDb);
  const insert = db.prepare(
    "INSERT INTO readings (device, seq, ts, data_hash, payload, signature, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  db.transaction(() => {
    for (const s of signed)
      insert.run(
        s.reading.device.toLowerCase(),
        Number(s.reading.seq),
        Number(s.reading.timestamp),
        Buffer.from(hexToBytes(s.reading.dataHash)),
        Buffer.from(s.payload, "utf8"),
        Buffer.from(s.signature),
        Date.now(),
      );
  })();
  db.close();
  // Batches anchored no earlier than their readings' time (the one timestamp rule).
  // (retried once: signing may outlast the RPC's keep-alive socket)
  const setTime = () => audit.rpc("evm_setNextBlockTimestamp", [tsBase + Math.ceil(N / DEVICES) + 1]);
  await setTime().catch(setTime);
  for (let start = 0; start < N; start += BATCH) {
    const batch = buildBatch({ chainId: audit.chainId, anchor: audit.anchor, items: signed.slice(start, start + BATCH) });
    manifests.set(batch.root.toLowerCase(), batch.manifestBytes);
    const hash: Hex = await relayerWallet.writeContract({
      address: audit.anchor,
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [batch.root, batch.leafCount, batch.manifestHash],
    });
    await audit.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 20 });
  }
  for (let i = 0; i < 3; i++) await audit.rpc("evm_mine");

  const client = audit.publicClient as PublicClient;
  const platformOptions = { url: platformServer.url, apiKey };

  log(
    `auditor: ${Math.ceil(N / BATCH)} batches, ${THREADS} signature thread(s), ${PARALLEL_ITEMS ?? "default"} item(s) at once, manifests after ${MANIFEST_DELAY_MS} ms…`,
  );
  const store = await AuditorStore.open(await openDatabase(path.join(dir, "auditor.sqlite")));
  cleanups.push(() => store.close());
  const auditor = new Auditor({
    store,
    client,
    anchor: audit.anchor,
    deployBlock: 0,
    platform: platformOptions,
    confirmations: 2,
    pollMs: 1000,
    retry: { baseMs: 1000, maxMs: 60_000, maxAttempts: 10 },
    silenceSeconds: 1e9,
    threads: THREADS,
    ...(PARALLEL_ITEMS === undefined ? {} : { parallelItems: PARALLEL_ITEMS }),
    metrics: auditorMetrics(),
    logger: createLogger("bench-auditor", "silent"),
  });
  const profiler = CPU_PROFILE === undefined ? undefined : new Session();
  if (profiler !== undefined) {
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.start");
  }
  let t0 = performance.now();
  auditor.start();
  // Polls the work counts only (counting every verdict each time would be timed too).
  let work = await store.workCounts();
  while ((work.done ?? 0) < Math.ceil(N / BATCH) && (work.unchecked ?? 0) === 0) {
    await new Promise((r) => setTimeout(r, 10));
    work = await store.workCounts();
  }
  const auditorMs = performance.now() - t0;
  if (profiler !== undefined) {
    const { profile } = await profiler.post("Profiler.stop");
    await writeFile(CPU_PROFILE!, JSON.stringify(profile));
    profiler.disconnect();
    log(`auditor phase profile (main thread): ${CPU_PROFILE}`);
  }
  await auditor.stop();
  const summary = await store.summary();
  const verified = summary.verdicts.VERIFIED ?? 0;
  if (verified !== N) throw new Error(`auditor: ${verified} of ${N} VERIFIED: ${JSON.stringify(summary)}`);

  log(`per-reading path (verifyReading), ${SAMPLE}-reading sample…`);
  const cached = new PrefetchingPlatform(platformOptions.url, apiKey);
  let verifier = await Verifier.create({ rpc: client, anchor: audit.anchor, platform: cached, threads: THREADS });
  await verifier.auditBatch(1);
  t0 = performance.now();
  // As the auditor did: one ranged platform request per device, then one verifyReading per reading.
  const sampleSeqs = Math.ceil(SAMPLE / DEVICES);
  await Promise.all(devices.map((d) => cached.prefetch(d.address, 1, sampleSeqs)));
  for (const s of signed.slice(0, SAMPLE)) {
    const r = await verifier.verifyReading(s.reading.device, Number(s.reading.seq));
    if (r.status !== "VERIFIED") throw new Error(`verifyReading: ${r.status}`);
  }
  const perReadingMs = performance.now() - t0;
  await verifier.close();

  log("verifyAll (npm run verify -- all, in process)…");
  verifier = await Verifier.create({ rpc: client, anchor: audit.anchor, platform: platformOptions, threads: THREADS });
  t0 = performance.now();
  const all = await verifier.verifyAll();
  const allMs = performance.now() - t0;
  await verifier.close();
  if (all.counts.VERIFIED !== N) throw new Error(`verifyAll: ${JSON.stringify(all.counts)}`);

  const auditorRate = rate(N, auditorMs);
  console.log(`readings: ${N} (${DEVICES} devices, half secp256k1, half P-256), batches of ${BATCH}, signature threads: ${THREADS}`);
  console.log(
    `signature-check limit, one core (this run): secp256k1 ${Math.round(limit.secp256k1)}/s, P-256 ${Math.round(limit.p256)}/s, mix ${Math.round(limit.mixed)}/s`,
  );
  console.log(
    `auditor (verifyBatchReadings), empty store → ${N} verdicts: ${(auditorMs / 1000).toFixed(2)} s, ${auditorRate} readings/s = ${((100 * auditorRate) / limit.mixed).toFixed(0)}% of one core's signature limit (target: 1,667/s sustained)`,
  );
  console.log(
    `before: verifyReading per reading (${SAMPLE} sample): ${rate(SAMPLE, perReadingMs)} readings/s → ${(auditorRate / rate(SAMPLE, perReadingMs)).toFixed(1)}×`,
  );
  console.log(`verifyAll over the same data: ${(allMs / 1000).toFixed(2)} s, ${rate(N, allMs)} readings/s`);
} finally {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
}
