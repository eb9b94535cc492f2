/**
 * Section 1b of the bench: the platform's bulk ingestion (readings checked and stored verbatim), a real
 * platform process on the bench's audit chain, the same signed readings the relayer took.
 *
 * @module
 */
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { type Device, platformWire, type SignedReading } from "./devices.js";
import { cpuPerReading, drive, fmtCpu, startPlatformProcess, type startRelayerProcess } from "./relayer-process.js";
import { CFG, OUT_DIR, cleanups, log, results, rows } from "./run.js";
import type { SignatureLimit } from "./signature-limit.js";
import { fmtMs, fmtNum, fmtRatio, HttpClient } from "./util.js";

/** What the section reuses from the relayer's: the chain, devices and their pre-signed readings. */
export interface PlatformIngestionInput {
  audit: Parameters<typeof startRelayerProcess>[0];
  devices: Device[];
  signed: SignedReading[][];
  /** Sequence numbers measured, and those sent first as a warm-up. */
  seqs: number[];
  warmSeqs: number[];
  limit: SignatureLimit;
}

/** Bulk requests of `CFG.bulkSize`: worker w sends its devices' readings in sequence order. */
function bulkQueues(input: PlatformIngestionInput, seqs: number[]): string[][] {
  const workers = CFG.bulkConcurrency;
  return Array.from({ length: workers }, (_, w) => {
    const mine = input.devices.map((_, d) => d).filter((d) => d % workers === w);
    const items = seqs.flatMap((seq) => mine.map((d) => platformWire(input.signed[d][seq - 1])));
    const out: string[] = [];
    for (let i = 0; i < items.length; i += CFG.bulkSize) out.push(JSON.stringify(items.slice(i, i + CFG.bulkSize)));
    return out;
  }).filter((q) => q.length > 0);
}

/** Every item of a bulk answer must be stored (a duplicate or refusal means the figure is wrong). */
function allStored(text: string): void {
  const answer = JSON.parse(text) as { stored: number; duplicates: number; rejected: number; results: unknown[] };
  if (answer.stored !== answer.results.length)
    throw new Error(`platform stored ${answer.stored} of ${answer.results.length}: ${text.slice(0, 400)}`);
}

export async function platformIngestion(input: PlatformIngestionInput): Promise<void> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dbFile = path.join(OUT_DIR, `platform-${stamp}.sqlite`);
  const keysFile = path.join(OUT_DIR, `platform-keys-${stamp}.json`);
  await writeFile(keysFile, "[]\n");
  cleanups.push(async () => {
    for (const file of [keysFile, ...["", "-wal", "-shm", "-journal"].map((suffix) => `${dbFile}${suffix}`)])
      await rm(file, { force: true });
  });
  const logFile = path.join(OUT_DIR, "platform.log");
  log(`1b. starting the platform (scripts/platform.ts; log ${logFile})…`);
  const platform = await startPlatformProcess(input.audit, dbFile, keysFile, logFile);
  const client = new HttpClient(platform.url, Math.max(CFG.bulkConcurrency, 16));
  try {
    await drive(client, bulkQueues(input, input.warmSeqs), [200], allStored);
    const queues = bulkQueues(input, input.seqs);
    const count = input.seqs.length * input.devices.length;
    log(`1b. platform bulk: ${fmtNum(count)} readings, ${CFG.bulkSize}/request, ${CFG.bulkConcurrency} concurrent…`);
    const run = await drive(client, queues, [200], allStored, { platform });
    const rate = (count / run.ms) * 1000;
    log(`   ${fmtNum(rate)} readings/s stored (${fmtMs(run.ms)}; ${run.retries} answers 429 waited out)`);
    log(`   CPU: ${fmtCpu(run, count)}`);
    results.platformIngestion = {
      readings: count,
      perRequest: CFG.bulkSize,
      concurrency: CFG.bulkConcurrency,
      ...run,
      readingsPerSecond: rate,
      cpuMicrosecondsPerReading: cpuPerReading(run, count),
    };
    rows.push({
      section: 1,
      measurement: `Platform ingestion, bulk: ${CFG.bulkSize} readings/request, ${CFG.bulkConcurrency} concurrent, stored verbatim (${fmtNum(count)} readings; 429s waited out: ${run.retries})`,
      result: `${fmtNum(rate)} readings/s`,
      baseline: "two cores' signature-check limit, half-and-half mix (same run)",
      baselineResult: `${fmtNum(2 * input.limit.mixed)} checks/s`,
      ratio: `${fmtRatio(rate / (2 * input.limit.mixed))} of the limit`,
    });
  } finally {
    client.close();
    await platform.stop();
  }
}
