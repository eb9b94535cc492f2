/**
 * Section 1's HTTP floor: the same single-reading bodies, at the same concurrency, through the same
 * client, to a bare node:http server (http-floor-server.ts) that only parses and answers. It tells how
 * much of a single-reading request's cost is Node's HTTP on this machine (both ends, on the same
 * cores) and how much is the relayer's work.
 *
 * @module
 */
import path from "node:path";

import { cpuPerReading, drive, startServiceProcess } from "./relayer-process.js";
import { OUT_DIR, cleanups, log } from "./run.js";
import { fmtMs, fmtNum, HttpClient } from "./util.js";

/** The floor's figures: requests/s and CPU µs per request of the server and of the bench (the client). */
export interface HttpFloor {
  requests: number;
  concurrency: number;
  ms: number;
  requestsPerSecond: number;
  cpuMicrosecondsPerRequest: Record<string, number>;
}

/** Runs `warm` then measures `queues` (one queue per concurrent client) against a fresh floor server. */
export async function httpFloor(warm: string[][], queues: string[][]): Promise<HttpFloor> {
  const logFile = path.join(OUT_DIR, "http-floor.log");
  const floor = await startServiceProcess("http floor", "scripts/lib/bench/http-floor-server.ts", {}, logFile);
  cleanups.push(() => floor.stop()); // should the run fail between (stop() is idempotent)
  const client = new HttpClient(floor.url, queues.length);
  try {
    await drive(client, warm);
    const requests = queues.reduce((sum, q) => sum + q.length, 0);
    log(`1. HTTP floor (bare node:http, no checks, no store): ${fmtNum(requests)} single-reading requests, ${queues.length} concurrent…`);
    const run = await drive(client, queues, undefined, undefined, { floor });
    const requestsPerSecond = (requests / run.ms) * 1000;
    const cpu = cpuPerReading(run, requests);
    log(
      `   ${fmtNum(requestsPerSecond)} requests/s (${fmtMs(run.ms)}); CPU: floor ${cpu.floor.toFixed(0)} µs/request, bench ${cpu.bench.toFixed(0)} µs/request`,
    );
    return { requests, concurrency: queues.length, ms: run.ms, requestsPerSecond, cpuMicrosecondsPerRequest: cpu };
  } finally {
    client.close();
    await floor.stop();
  }
}
