/**
 * Section 1's open loop (scripts/bench.ts): single-reading requests to the relayer on a clock, as
 * devices send, beside the closed loop of a fixed number of clients.
 *
 * @module
 */
import { cpuPerReading, driveAtRate, fmtCpu, type ServiceProcess } from "./relayer-process.js";
import { CFG, log } from "./run.js";
import { fmtMs, fmtNum, fmtRatio, HttpClient, percentile } from "./util.js";

/**
 * Section 1's open loop: single-reading requests sent on a clock at `CFG.offeredRate` in all, whatever
 * the answers (devices post on their own clocks), at most `CFG.offeredMaxInFlight` at once. The relayer
 * kept up when every reading was answered 202 without a 429, sending never fell 100 ms behind its clock
 * (the in-flight cap was not what paced it), and the answered rate is within 5 % of the offered one.
 */
export async function offeredPhase(url: string, bodies: readonly string[], cpuOf: Record<string, ServiceProcess>) {
  if (bodies.length === 0) return undefined;
  const { offeredRate, offeredMaxInFlight } = CFG;
  log(
    `1. single-reading requests on a clock (open loop): ${fmtNum(bodies.length)} readings offered at ${fmtNum(offeredRate)}/s, at most ${offeredMaxInFlight} in flight…`,
  );
  const client = new HttpClient(url, offeredMaxInFlight);
  let run;
  try {
    run = await driveAtRate(client, bodies, offeredRate, offeredMaxInFlight, cpuOf);
  } finally {
    client.close();
  }
  const rate = (bodies.length / run.ms) * 1000;
  const latencyMs = { p50: percentile(run.latencies, 0.5), p95: percentile(run.latencies, 0.95), p99: percentile(run.latencies, 0.99) };
  const keptUp = run.retries === 0 && run.sendLagMs < 100 && rate >= 0.95 * offeredRate;
  const latencies = `latency p50 ${fmtMs(latencyMs.p50)}, p95 ${fmtMs(latencyMs.p95)}, p99 ${fmtMs(latencyMs.p99)}`;
  log(
    `   ${fmtNum(rate)} readings/s answered (${fmtMs(run.ms)}); ${latencies}; at most ${run.peakInFlight} in flight; sending at worst ${fmtMs(run.sendLagMs)} behind its clock; ${run.retries} answers 429 waited out: ${keptUp ? "kept up" : "did not keep up"}`,
  );
  log(`   CPU: ${fmtCpu(run, bodies.length)}`);
  return {
    summary: {
      readings: bodies.length,
      offeredPerSecond: offeredRate,
      maxInFlight: offeredMaxInFlight,
      ms: run.ms,
      readingsPerSecond: rate,
      keptUp,
      latencyMs,
      peakInFlight: run.peakInFlight,
      sendLagMs: run.sendLagMs,
      retries429: run.retries,
      retryWaitSeconds: run.retryWaitSeconds,
      cpuMicrosecondsPerReading: cpuPerReading(run, bodies.length),
    },
    row: {
      section: 1,
      measurement: `Relayer single-reading requests on a clock, an open loop as devices send (${fmtNum(bodies.length)} readings; ${latencies}; at most ${run.peakInFlight} in flight; 429s waited out: ${run.retries}; ${keptUp ? "kept up" : "did not keep up"})`,
      result: `${fmtNum(rate)} readings/s answered`,
      baseline: "offered rate (BENCH_OFFERED_RATE; the issue's target for one reading per request by default)",
      baselineResult: `${fmtNum(offeredRate)} readings/s`,
      ratio: `${fmtRatio(rate / offeredRate)} (answered / offered)`,
    },
  };
}
