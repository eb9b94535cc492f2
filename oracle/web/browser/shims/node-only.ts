/**
 * Browser stand-in for `node:os` and `node:worker_threads`, imported (not used) by modules the
 * browser bundle reaches through oracle/verifier (its signature pool): anything used throws.
 *
 * @module
 */
export function availableParallelism(): number {
  return 1;
}

export class Worker {
  constructor() {
    throw new Error("worker_threads are not available in the browser");
  }
}

export default { availableParallelism, Worker };
