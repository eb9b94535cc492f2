/**
 * Starting a worker_threads module next to the calling one, from TypeScript sources (tests, `tsx`)
 * as from compiled JavaScript.
 *
 * @module
 */
import { Worker } from "node:worker_threads";

/**
 * Starts the worker module `name` (without extension) that sits beside `importMetaUrl`'s module: the
 * `.ts` file with tsx's loader when running from sources (unless the process already has one), the
 * `.js` file otherwise.
 *
 * @example
 * const worker = startWorker(import.meta.url, "signature-pool-worker");
 */
export function startWorker(importMetaUrl: string, name: string): Worker {
  const ts = importMetaUrl.endsWith(".ts");
  const url = new URL(`./${name}${ts ? ".ts" : ".js"}`, importMetaUrl);
  const execArgv = ts && !process.execArgv.some((a) => a.includes("tsx")) ? [...process.execArgv, "--import", "tsx"] : process.execArgv;
  return new Worker(url, { execArgv });
}
