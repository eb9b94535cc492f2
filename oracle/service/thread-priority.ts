/**
 * The priority of a service's signature workers against the event loop they serve. Node-only: the
 * dashboard's browser bundle must not reach it.
 *
 * Only threads the loop never waits on while it holds something may run behind it. The batch builder
 * and the SQLite checkpointer keep the loop's priority: the store waits for them inside a transaction
 * (a batch is built while its cut holds the store) or its exclusive section (a checkpoint's last
 * pass), so lowering them would leave every write waiting on a thread the loop outranks (a priority
 * inversion).
 *
 * @module
 */
import { getPriority, setPriority } from "node:os";

/** How much lower than its process a signature worker runs ({@link runBehindEventLoop}): nice +5. */
export const HELPER_THREAD_NICE_INCREMENT = 5;

/**
 * Lowers the calling worker thread's scheduling priority by {@link HELPER_THREAD_NICE_INCREMENT}, so
 * that on a busy machine the event loop it serves is not preempted by it. Every request and every
 * worker answer passes through that one event loop; a worker woken by a message would otherwise often
 * take the event loop's core at once (Linux favours a thread it just woke), leaving the loop waiting
 * while the worker's share of the work could as well have run after it. Linux keeps a nice value per
 * thread, and `setpriority(PRIO_PROCESS, 0)` (`os.setPriority` without a pid) changes only the
 * caller's. On an idle core the worker runs at once all the same: a nice value only orders threads
 * that compete. Measured on 2 cores: single-reading ingestion 8–11 % faster (README, Throughput).
 *
 * Why +5: a thread at nice +5 weighs about a third of one at 0 when both want a core, enough that a
 * woken worker seldom takes the loop's core, while on a machine full of other processes the workers
 * still get their share of it (+10 and +19 measured no faster).
 *
 * Linux only: on other systems a priority belongs to the whole process, and the worker keeps its
 * process's, as it does where a thread's priority cannot be lowered.
 *
 * @example
 * // first thing in the signature pool's worker module
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
