/**
 * Starting a worker_threads module next to the calling one, from TypeScript sources (tests, `tsx`)
 * as from compiled JavaScript.
 *
 * @module
 */
import { getPriority, setPriority } from "node:os";
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

/** How much lower than its process a helper thread runs ({@link runBehindEventLoop}): nice +5. */
export const HELPER_THREAD_NICE_INCREMENT = 5;

/**
 * Lowers the calling worker thread's scheduling priority by {@link HELPER_THREAD_NICE_INCREMENT}, so
 * that on a busy machine the event loop it serves is not preempted by it. Every request and every
 * worker answer passes through that one event loop; a worker woken by a message would otherwise often
 * take the event loop's core at once (Linux favours a thread it just woke), leaving the loop waiting
 * while the worker's share of the work could as well have run after it. Linux keeps a nice value per
 * thread, and `setpriority(PRIO_PROCESS, 0)` (`os.setPriority` without a pid) changes only the
 * caller's. On an idle core the worker runs at once all the same: a nice value only orders threads
 * that compete. Measured on 2 cores: single-reading ingestion 8–18 % faster (README, Throughput).
 *
 * Why +5: a thread at nice +5 weighs about a third of one at 0 when both want a core, enough that a
 * woken worker seldom takes the loop's core, while on a machine full of other processes the workers
 * still get their share of it (+10 and +19 measured no faster).
 *
 * Linux only: on other systems a priority belongs to the whole process, and the worker keeps its
 * process's, as it does where a thread's priority cannot be lowered.
 *
 * @example
 * // first thing in a worker module
 * runBehindEventLoop();
 */
export function runBehindEventLoop(): void {
  // Elsewhere (macOS, Windows) a priority is the whole process's: lowering it would lower the event loop too.
  if (process.platform !== "linux") return;
  try {
    setPriority(Math.min(19, getPriority() + HELPER_THREAD_NICE_INCREMENT));
  } catch {
    // Not supported or not permitted here: the worker keeps its process's priority.
  }
}
