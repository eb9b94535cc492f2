/**
 * Parallel signature checks on worker_threads: the verifier's bottleneck on big batches.
 *
 * A job is packed chunk by chunk as chunks are sent (its `prepare`), so the workers start on the
 * first chunk while the rest is still unpacked; chunks shrink toward the end of a job so that the
 * workers finish together; packed buffers are transferred to the worker, not copied. This module
 * and its worker import only core/signature-verify.ts of the core (no viem): a worker starts fast.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";

import { verifyDeviceSignatures, type KeyScheme, type VerifyDeviceSignatureParameters } from "../core/signature-verify.js";
import { startWorker } from "../core/worker-thread.js";

/** A device key, as the registry holds it. */
export interface DeviceKey {
  scheme: KeyScheme;
  publicKey: Uint8Array;
}

/** Key index of an item whose device has no registered key (a sure failure). */
export const NO_KEY = 0xffffffff;

/**
 * Packed signature checks: item i is `digests[i*32..]`, `signatures[i*65..+sigLens[i]]` by
 * `keys[keyIndex[i]]` (NO_KEY: no key). The buffers are the chunk's own (they are transferred).
 */
export interface SignatureChunk {
  digests: Uint8Array<ArrayBuffer>;
  signatures: Uint8Array<ArrayBuffer>;
  sigLens: Uint8Array<ArrayBuffer>;
  keyIndex: Uint32Array<ArrayBuffer>;
}

/** Signature checks to run: `count` items over `keys`, packed on demand by `prepare`. */
export interface SignatureJob {
  keys: readonly DeviceKey[];
  count: number;
  /**
   * Packs items `[start, end)` into fresh buffers (a pure function of the range: ranges come in
   * ascending order, and a job whose workers failed is packed again whole, to check inline).
   */
  prepare(start: number, end: number): SignatureChunk;
}

/** Below this many signatures the pool checks on the calling thread (no worker start-up cost). */
const INLINE_BELOW = 2048;
/** Chunk size bounds: a chunk is a share of what is left (see chunkEnd), within these. */
const MAX_CHUNK = 8192;
const MIN_CHUNK = 512;

/**
 * Checks a packed chunk with `keys` (all at once: P-256 checks share their inversions,
 * core/signature-verify.ts): `ok[i]` = 1 when item i verifies.
 *
 * @example
 * const ok = verifyChunk(job.keys, job.prepare(0, job.count));
 */
export function verifyChunk(keys: readonly DeviceKey[], chunk: SignatureChunk): Uint8Array<ArrayBuffer> {
  const { digests, signatures, sigLens, keyIndex } = chunk;
  const n = keyIndex.length;
  const ok = new Uint8Array(n);
  const checks: VerifyDeviceSignatureParameters[] = [];
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = keys[keyIndex[i]];
    if (key === undefined) continue; // unknown key: a sure failure
    checks.push({
      scheme: key.scheme,
      publicKey: key.publicKey,
      digest: digests.subarray(i * 32, i * 32 + 32),
      signature: signatures.subarray(i * 65, i * 65 + sigLens[i]),
    });
    at.push(i);
  }
  verifyDeviceSignatures(checks).forEach((valid, k) => (ok[at[k]] = valid ? 1 : 0));
  return ok;
}

/**
 * A job over items `0 … keyIndex.length − 1`: item i is `signatureOf(i)` over `digestOf(i)` by
 * `keys[keyIndex[i]]` (NO_KEY: none), packed range by range when the pool sends it.
 *
 * @example
 * const job = packedJob(keys, keyIndex, (i) => digester.digest(items[i].reading), (i) => hexToBytes(items[i].signature));
 */
export function packedJob(
  keys: readonly DeviceKey[],
  keyIndex: Uint32Array,
  digestOf: (i: number) => Uint8Array,
  signatureOf: (i: number) => Uint8Array,
): SignatureJob {
  const prepare = (start: number, end: number): SignatureChunk => {
    const digests = new Uint8Array((end - start) * 32);
    const signatures = new Uint8Array((end - start) * 65);
    const sigLens = new Uint8Array(end - start);
    for (let i = start, j = 0; i < end; i++, j++) {
      digests.set(digestOf(i), j * 32);
      const sig = signatureOf(i);
      if (sig.length > 65) continue; // packed as an empty signature: does not verify
      signatures.set(sig, j * 65);
      sigLens[j] = sig.length;
    }
    return { digests, signatures, sigLens, keyIndex: keyIndex.slice(start, end) };
  };
  return { keys, count: keyIndex.length, prepare };
}

/** Checks a whole job on the calling thread. */
export function verifySignaturesInline(job: SignatureJob): Uint8Array<ArrayBuffer> {
  return verifyChunk(job.keys, job.prepare(0, job.count));
}

/**
 * End of the next chunk from `next` of `n` for `workers` workers: a share of what is left
 * (guided scheduling), between MIN_CHUNK and MAX_CHUNK items, so the last chunks are small and
 * the workers run out of work at about the same time.
 */
function chunkEnd(next: number, n: number, workers: number): number {
  const share = Math.ceil((n - next) / (3 * workers));
  return Math.min(n, next + Math.max(MIN_CHUNK, Math.min(MAX_CHUNK, share)));
}

/** What a job's `prepare` threw, told apart from a worker's failure. */
class JobError {
  constructor(readonly error: unknown) {}
}

/** One job on the pool's workers: which chunk goes next, and the answers so far. */
class JobRun {
  readonly ok: Uint8Array;
  #next = 0;
  #done = 0;

  constructor(
    private readonly job: SignatureJob,
    private readonly workers: number,
    private readonly onProgress?: (done: number) => void,
  ) {
    this.ok = new Uint8Array(job.count);
  }

  /** The next chunk, packed, or undefined when all are sent. Throws a JobError if packing fails. */
  next(): { start: number; chunk: SignatureChunk } | undefined {
    const n = this.job.count;
    if (this.#next >= n) return undefined;
    const start = this.#next;
    const end = chunkEnd(start, n, this.workers);
    this.#next = end;
    try {
      return { start, chunk: this.job.prepare(start, end) };
    } catch (error) {
      this.#next = n; // the job is abandoned: no worker is sent more of it
      throw new JobError(error);
    }
  }

  /** A chunk's answers, from `start`. */
  record(start: number, ok: Uint8Array): void {
    this.ok.set(ok, start);
    this.#done += ok.length;
    this.onProgress?.(this.#done);
  }
}

/** The pool's running workers, and how many jobs are on them now. */
interface WorkerSet {
  list: Worker[];
  running: number;
}

/**
 * A pool of worker threads checking device signatures (core's `verifyDeviceSignatures`).
 * Workers start lazily on the first big job; `close()` ends them.
 *
 * @example
 * const pool = new SignaturePool();
 * const ok = await pool.verify(job); // ok[i] === 1 when signature i is valid
 * await pool.close();
 */
export class SignaturePool {
  readonly size: number;
  #workers: WorkerSet | undefined;
  #nextId = 1;
  #nextJob = 1;
  #failed: unknown;

  constructor(options: { threads?: number } = {}) {
    this.size = Math.max(1, options.threads ?? availableParallelism());
  }

  #start(): WorkerSet {
    if (this.#workers !== undefined) return this.#workers;
    const list = Array.from({ length: this.size }, () => {
      const worker = startWorker(import.meta.url, "signature-worker");
      worker.unref();
      return worker;
    });
    this.#workers = { list, running: 0 };
    return this.#workers;
  }

  /** Starts the workers now (their start-up then overlaps the caller's other work). */
  warm(): void {
    if (this.size > 1 && this.#failed === undefined) this.#start();
  }

  /** Verifies every signature of `job`; `onProgress(done)` after each chunk. */
  async verify(job: SignatureJob, onProgress?: (done: number) => void): Promise<Uint8Array> {
    const n = job.count;
    if (n < INLINE_BELOW || this.size === 1 || this.#failed !== undefined) {
      const ok = verifySignaturesInline(job);
      onProgress?.(n);
      return ok;
    }
    const set = this.#start();
    const workers = set.list;
    // Jobs may run at once (the auditor checks two items at a time): each job's key table is kept on
    // the workers under its own id, and its chunks name it.
    const jobId = this.#nextJob++;
    const keys = job.keys.map((k) => ({ scheme: k.scheme, publicKey: k.publicKey }));
    for (const w of workers) w.postMessage({ job: jobId, keys });
    // The workers keep the process alive only while one of their jobs runs (a job's message listeners
    // also ref them, in Node 22; this does not rely on it). The count is the set's own: a set closed
    // mid-job is replaced by a new one, which the next job refs.
    if (set.running++ === 0) for (const w of workers) w.ref();
    const run = new JobRun(job, workers.length, onProgress);
    const runs = workers.map((w) => this.#runOn(w, run, jobId));
    try {
      await Promise.all(runs);
    } catch (error) {
      if (error instanceof JobError) {
        // The job's own failure: the workers are fine. The others finish their chunks in flight
        // (none is sent after the failure) before the next job can use them.
        await Promise.allSettled(runs);
        throw error.error;
      }
      // Workers unavailable here (e.g. no TypeScript loader in workers): check on this thread from now on.
      // Workers that exited because the pool was closed under the job are no failure: only this job is.
      if (this.#workers === set) {
        this.#failed = error;
        await this.close();
      }
      const inline = verifySignaturesInline(job);
      onProgress?.(n);
      return inline;
    } finally {
      if (--set.running === 0) for (const w of workers) w.unref();
      if (this.#workers === set) for (const w of workers) w.postMessage({ forget: jobId });
    }
    return run.ok;
  }

  /** Feeds `worker` chunks of `run` until none is left; rejects on the worker's error or a JobError. */
  #runOn(worker: Worker, run: JobRun, jobId: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const pending = new Map<number, number>();
      const onError = (error: unknown) => {
        cleanup();
        reject(error);
      };
      const onMessage = (message: { id: number; ok: Uint8Array }) => {
        const start = pending.get(message.id);
        if (start === undefined) return;
        pending.delete(message.id);
        run.record(start, message.ok);
        step(1);
      };
      // A worker that exits without an error was terminated: the pool was closed under the job.
      const onExit = (code: number) => onError(new Error(`signature worker exited (code ${code})`));
      const cleanup = () => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
      };
      /** Sends up to `chunks` chunks; resolves once none is left and none pending. */
      const step = (chunks: number) => {
        try {
          for (let i = 0; i < chunks; i++) {
            const next = run.next();
            if (next === undefined) {
              if (pending.size > 0) return;
              cleanup();
              resolve();
              return;
            }
            const id = this.#nextId++;
            pending.set(id, next.start);
            const { chunk } = next;
            const transfer = [chunk.digests.buffer, chunk.signatures.buffer, chunk.sigLens.buffer, chunk.keyIndex.buffer];
            worker.postMessage({ id, job: jobId, ...chunk }, transfer);
          }
        } catch (error) {
          cleanup();
          reject(error);
        }
      };
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      step(2); // two chunks in flight per worker: it never waits for the next one
    });
  }

  /** Why the pool fell back to the calling thread, if it did. */
  get failure(): unknown {
    return this.#failed;
  }

  /** Ends the workers. A job running on them is finished on the calling thread; the next job starts new ones. */
  async close(): Promise<void> {
    const workers = this.#workers?.list ?? [];
    this.#workers = undefined;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
