/**
 * Batch records built off the event loop: the core's `buildBatch` (leaf hashes, Merkle tree, canonical
 * manifest) on a worker thread. Cutting a batch of thousands of readings takes the main thread
 * 100 ms or more; there it stalled every submission in flight, and the load shedder answered 429
 * OVERLOADED for event-loop lag the relayer could have served.
 *
 * @module
 */
import type { Worker } from "node:worker_threads";

import type { Address } from "viem";

import { buildBatch } from "../core/manifest.js";
import { startWorker } from "../core/worker-thread.js";
import type { BuiltBatchRecord, Candidate } from "./store-schema.js";

/** The chain and anchor a batch is built for. */
export interface BatchDomain {
  chainId: number;
  anchor: Address;
}

/**
 * The batch record of `readings` (the core's buildBatch), on the calling thread.
 *
 * @example
 * const record = buildBatchRecord({ chainId: 31337, anchor }, candidates); // { root, leafCount, manifestHash, manifestBytes }
 */
export function buildBatchRecord(domain: BatchDomain, readings: readonly Candidate[]): BuiltBatchRecord {
  const { root, leafCount, manifestHash, manifestBytes } = buildBatch({
    chainId: domain.chainId,
    anchor: domain.anchor,
    items: readings.map((r) => ({
      reading: { device: r.device, seq: BigInt(r.seq), timestamp: BigInt(r.timestamp), dataHash: r.dataHash },
      signature: r.signature,
    })),
  });
  return { root, leafCount, manifestHash, manifestBytes };
}

/** A build asked of the worker: the readings and the domain. */
export interface BatchBuildJob {
  id: number;
  domain: BatchDomain;
  readings: Candidate[];
}

/** The worker's answer: the record, or the build's error (name and message). */
export type BatchBuildAnswer = { id: number; record: BuiltBatchRecord } | { id: number; error: { name: string; message: string } };

/** An error the worker's build threw, rethrown on the calling thread with its name and message. */
export class BatchBuildError extends Error {
  override name = "BatchBuildError" as const;
  constructor(
    readonly causeName: string,
    message: string,
  ) {
    super(`building the batch failed (${causeName}): ${message}`);
  }
}

/**
 * Builds batch records on one worker thread (started on first use, not keeping the process alive
 * while idle); if the worker dies, that build and later ones run on the calling thread.
 *
 * @example
 * const builder = new BatchBuilder({ chainId: 31337, anchor });
 * const record = await builder.build(candidates);
 * await builder.close();
 */
export class BatchBuilder {
  readonly #domain: BatchDomain;
  #worker: Worker | undefined;
  #failed = false;
  #nextId = 1;
  readonly #pending = new Map<number, { readings: Candidate[]; resolve(r: BuiltBatchRecord): void; reject(e: unknown): void }>();

  constructor(domain: BatchDomain) {
    this.#domain = domain;
  }

  /** The record of `readings`, built on the worker thread. */
  build(readings: Candidate[]): Promise<BuiltBatchRecord> {
    if (this.#failed) return Promise.resolve().then(() => buildBatchRecord(this.#domain, readings));
    const worker = this.#start();
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      this.#pending.set(id, { readings, resolve, reject });
      worker.ref();
      worker.postMessage({ id, domain: this.#domain, readings } satisfies BatchBuildJob);
    });
  }

  /** Ends the worker; builds still waiting are rejected. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failed = true;
    for (const p of this.#pending.values()) p.reject(new Error("the batch builder closed"));
    this.#pending.clear();
    await worker?.terminate();
  }

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = startWorker(import.meta.url, "batch-builder-worker");
    worker.on("message", (answer: BatchBuildAnswer) => {
      const pending = this.#pending.get(answer.id);
      if (pending === undefined) return;
      this.#pending.delete(answer.id);
      if (this.#pending.size === 0) worker.unref();
      if ("record" in answer) pending.resolve(answer.record);
      else pending.reject(new BatchBuildError(answer.error.name, answer.error.message));
    });
    worker.on("error", () => {
      // Never lose a build: the ones in the dead worker run here, and so do later ones.
      this.#failed = true;
      this.#worker = undefined;
      for (const p of this.#pending.values()) {
        try {
          p.resolve(buildBatchRecord(this.#domain, p.readings));
        } catch (error) {
          p.reject(error);
        }
      }
      this.#pending.clear();
    });
    worker.unref();
    this.#worker = worker;
    return worker;
  }
}
