/**
 * Sections 1–3 of the bench: relayer ingestion, end-to-end latency, gas per anchored reading vs the direct path.
 *
 * @module
 */
import { rm } from "node:fs/promises";
import path from "node:path";

import { type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../../oracle/chain/abis.js";
import { bytesToHex } from "../../../oracle/core/bytes.js";
import { type KeyScheme } from "../../../oracle/core/keys.js";
import { buildBatch } from "../../../oracle/core/manifest.js";
import { verifyMerkleProof } from "../../../oracle/core/merkle.js";
import { ReadingDigester, readingLeaf } from "../../../oracle/core/reading.js";
import { DEV_KEYS } from "../dev-keys.js";
import { mineEverySecond, startBenchAuditChain } from "./chains.js";
import { newDevice, type SignedReading, signReading, wire, registerDevices } from "./devices.js";
import { httpFloor } from "./http-floor.js";
import { platformIngestion } from "./platform.js";
import { offeredPhase } from "./offered.js";
import { cpuPerReading, drive, fmtCpu, isAnchored, readingStatus, startRelayerProcess } from "./relayer-process.js";
import { CFG, ONLY, OUT_DIR, log, rows, results, cleanups } from "./run.js";
import { measureSignatureLimit } from "./signature-limit.js";
import { fmtMs, fmtNum, fmtRatio, HttpClient, mean, median, percentile, seededRandom, sleep } from "./util.js";

/** A bulk answered with one receipt root: every reading accepted under one root signed by the relayer's receipt key. */
function checkRootAnswer(text: string, receiptSigner: string): void {
  const body = JSON.parse(text) as { accepted: number; results: unknown[]; receipt?: { count: number; signer: string } };
  if (body.receipt === undefined || body.receipt.count !== body.accepted || body.accepted !== body.results.length)
    throw new Error(`bulk with Prefer: receipt=root: no receipt root for every reading: ${text.slice(0, 300)}`);
  if (body.receipt.signer !== receiptSigner) throw new Error(`receipt root signed by ${body.receipt.signer}, not ${receiptSigner}`);
}

// ================================================================================================
export async function auditSections(): Promise<void> {
  const limit = measureSignatureLimit();
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
  const offeredPer = CFG.offeredPerDevice;
  const bulk = CFG.bulkPerDevice;
  const bulkRoot = CFG.bulkRootPerDevice;
  const perDevice = warm + warmBulk + single + offeredPer + bulk + bulkRoot;
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
  const offeredSeqs = seqRange(1 + warm + warmBulk + single, offeredPer);
  const bulkSeqs = seqRange(1 + warm + warmBulk + single + offeredPer, bulk);
  const bulkRootSeqs = seqRange(1 + warm + warmBulk + single + offeredPer + bulk, bulkRoot);
  const queues = {
    warm: singleQueues(warmSeqs, CFG.singleConcurrency),
    warmBulk: bulkQueues(warmBulkSeqs, CFG.bulkConcurrency),
    single: singleQueues(singleSeqs, CFG.singleConcurrency),
    // On a clock: every device's next reading in turn, as devices reporting every minute interleave.
    offered: offeredSeqs.flatMap((seq) => devices.map((_, d) => body(d, seq))),
    bulk: bulkQueues(bulkSeqs, CFG.bulkConcurrency),
    bulkRoot: bulkQueues(bulkRootSeqs, CFG.bulkConcurrency),
  };

  // ---- the HTTP floor (before the relayer and the miner start: nothing else runs) ----
  const floor = await httpFloor(queues.warm, queues.single);

  // ---- the relayer ----
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dbFile = path.join(OUT_DIR, `relayer-${stamp}.sqlite`);
  cleanups.push(async () => {
    for (const suffix of ["", "-wal", "-shm", "-journal"]) await rm(`${dbFile}${suffix}`, { force: true });
  });
  const relayerLog = path.join(OUT_DIR, "relayer.log");
  log(`starting the relayer (scripts/relayer.ts, node --import tsx; log ${relayerLog})…`);
  const relayer = await startRelayerProcess(audit, dbFile, relayerLog);
  cleanups.push(() => relayer.stop());
  log(
    `relayer ${relayer.url} (${Object.entries(CFG.relayer)
      .map(([k, v]) => `${k}=${v}`)
      .join(" ")})`,
  );
  const client = new HttpClient(relayer.url, Math.max(CFG.singleConcurrency, CFG.bulkConcurrency, 64));
  cleanups.push(async () => client.close());
  const rootClient = new HttpClient(relayer.url, CFG.bulkConcurrency, { prefer: "receipt=root" });
  cleanups.push(async () => rootClient.close());

  // An empty block every second: confirmations move without traffic.
  const stopMiner = mineEverySecond(audit, (error) => log(`evm_mine failed: ${String(error)}`));
  cleanups.push(stopMiner);

  // ---- 1. ingestion ----
  log(`1. warm-up: ${fmtNum(warm * devices.length)} single + ${fmtNum(warmBulk * devices.length)} bulk readings…`);
  await drive(client, queues.warm);
  await drive(client, queues.warmBulk);
  const singleCount = single * devices.length;
  log(`1. single-reading requests: ${fmtNum(singleCount)} readings, ${CFG.singleConcurrency} concurrent…`);
  const singleRun = await drive(client, queues.single, undefined, undefined, { relayer });
  const singleMs = singleRun.ms;
  const singleRate = (singleCount / singleMs) * 1000;
  log(`   ${fmtNum(singleRate)} readings/s (${fmtMs(singleMs)}; ${singleRun.retries} answers 429 waited out)`);
  log(`   CPU: ${fmtCpu(singleRun, singleCount)}`);
  const offered = await offeredPhase(relayer.url, queues.offered, { relayer });
  const bulkCount = bulk * devices.length;
  const bulkRequests = queues.bulk.reduce((a, q) => a + q.length, 0);
  log(`1. bulk requests: ${fmtNum(bulkCount)} readings in ${bulkRequests} requests of ${CFG.bulkSize}, ${CFG.bulkConcurrency} concurrent…`);
  const bulkRun = await drive(client, queues.bulk, undefined, undefined, { relayer });
  const bulkMs = bulkRun.ms;
  const bulkRate = (bulkCount / bulkMs) * 1000;
  log(`   ${fmtNum(bulkRate)} readings/s (${fmtMs(bulkMs)}; ${bulkRun.retries} answers 429 waited out)`);
  log(`   CPU: ${fmtCpu(bulkRun, bulkCount)}`);
  const rootCount = bulkRoot * devices.length;
  const rootRequests = queues.bulkRoot.reduce((a, q) => a + q.length, 0);
  log(
    `1. bulk requests, one receipt root each (Prefer: receipt=root): ${fmtNum(rootCount)} readings in ${rootRequests} requests of ${CFG.bulkSize}, ${CFG.bulkConcurrency} concurrent…`,
  );
  const rootRun = await drive(
    rootClient,
    queues.bulkRoot,
    undefined,
    (text) => checkRootAnswer(text, privateKeyToAccount(DEV_KEYS.receipt).address),
    { relayer },
  );
  const rootRate = (rootCount / rootRun.ms) * 1000;
  log(`   ${fmtNum(rootRate)} readings/s (${fmtMs(rootRun.ms)}; ${rootRun.retries} answers 429 waited out)`);
  log(`   CPU: ${fmtCpu(rootRun, rootCount)}`);
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
    signatureLimitPerCore: limit,
    single: {
      readings: singleCount,
      concurrency: CFG.singleConcurrency,
      ms: singleMs,
      readingsPerSecond: singleRate,
      retries429: singleRun.retries,
      retryWaitSeconds: singleRun.retryWaitSeconds,
      cpuMicrosecondsPerReading: cpuPerReading(singleRun, singleCount),
    },
    bulk: {
      readings: bulkCount,
      requests: bulkRequests,
      perRequest: CFG.bulkSize,
      concurrency: CFG.bulkConcurrency,
      ms: bulkMs,
      readingsPerSecond: bulkRate,
      retries429: bulkRun.retries,
      retryWaitSeconds: bulkRun.retryWaitSeconds,
      cpuMicrosecondsPerReading: cpuPerReading(bulkRun, bulkCount),
    },
    bulkReceiptRoot: {
      readings: rootCount,
      requests: rootRequests,
      perRequest: CFG.bulkSize,
      concurrency: CFG.bulkConcurrency,
      ms: rootRun.ms,
      readingsPerSecond: rootRate,
      retries429: rootRun.retries,
      retryWaitSeconds: rootRun.retryWaitSeconds,
      cpuMicrosecondsPerReading: cpuPerReading(rootRun, rootCount),
    },
    ...(offered === undefined ? {} : { offered: offered.summary }),
    httpFloor: floor,
    ratioSingleOverHttpFloor: singleRate / floor.requestsPerSecond,
    ratioBulkOverSingle: bulkRate / singleRate,
    ratioRootOverBulk: rootRate / bulkRate,
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
  rows.push({
    section: 1,
    measurement: `Relayer ingestion, bulk with one receipt root per request (Prefer: receipt=root; ${fmtNum(rootCount)} readings; 429s waited out: ${rootRun.retries})`,
    result: `${fmtNum(rootRate)} readings/s`,
    baseline: "bulk with one receipt per reading (same run, just before)",
    baselineResult: `${fmtNum(bulkRate)} readings/s`,
    ratio: `${fmtRatio(rootRate / bulkRate)} (root / per reading)`,
  });
  const floorCpu = floor.cpuMicrosecondsPerRequest;
  const singleCpu = cpuPerReading(singleRun, singleCount);
  rows.push({
    section: 1,
    measurement: `Relayer single-reading requests against the HTTP floor (CPU per request: relayer ${singleCpu.relayer.toFixed(0)} µs, its client ${singleCpu.bench.toFixed(0)} µs)`,
    result: `${fmtNum(singleRate)} readings/s`,
    baseline: `bare node:http server, same bodies, client and concurrency (${CFG.singleConcurrency}); no checks, no store (CPU per request: server ${floorCpu.floor.toFixed(0)} µs, client ${floorCpu.bench.toFixed(0)} µs)`,
    baselineResult: `${fmtNum(floor.requestsPerSecond)} requests/s`,
    ratio: `${fmtRatio(singleRate / floor.requestsPerSecond)} of the floor`,
  });
  if (offered !== undefined) rows.push(offered.row);
  rows.push({
    section: 1,
    measurement: `Relayer ingestion against its crypto limit (429s waited out: bulk ${bulkRun.retries}, single ${singleRun.retries})`,
    result: `bulk ${fmtNum(bulkRate)} / single ${fmtNum(singleRate)} readings/s`,
    baseline: "two cores' limit for a relayer reading's crypto: half-and-half check + receipt signature (same run)",
    baselineResult: `${fmtNum(2 * limit.relayerCrypto)} readings/s`,
    ratio: `${fmtRatio(bulkRate / (2 * limit.relayerCrypto))} / ${fmtRatio(singleRate / (2 * limit.relayerCrypto))} of the limit`,
  });

  await platformIngestion({ audit, devices, signed, seqs: bulkSeqs, warmSeqs: warmBulkSeqs, limit });
  if (ONLY === "ingestion") {
    await stopMiner();
    await relayer.stop();
    return;
  }

  // ---- 2. end-to-end latency ----
  const n = CFG.latencyN;
  const random = seededRandom(7);
  const offsets: number[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    at += (-Math.log(1 - random()) / CFG.latencyRate) * 1000;
    offsets.push(at);
  }
  log(
    `2. latency: ${n} readings, Poisson arrivals at ${CFG.latencyRate}/s (~${fmtMs(at)}), each POSTed then polled every ${CFG.latencyPollMs} ms until anchored…`,
  );
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
  const directLat = {
    p50: percentile(directLatencies, 0.5),
    p95: percentile(directLatencies, 0.95),
    max: Math.max(...directLatencies),
    mean: mean(directLatencies),
  };
  log(
    `   submitReading gas: secp256k1 ${fmtNum(directGas.secp256k1)}, P-256 ${fmtNum(directGas.p256)} (first reading of a device: ${fmtNum(direct.secp256k1.first)}, ${fmtNum(direct.p256.first)})`,
  );
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
    note: "whole-transaction gasUsed (21,000 base included); submitReading = median over a device's readings 2..n (each writes a fresh isSubmitted(device, seq) slot; the first also warms the device's registry and key slots)",
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
