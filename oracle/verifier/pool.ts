/**
 * Parallel signature checks on worker_threads: the verifier's bottleneck on big batches.
 *
 * @module
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";

import { startWorker } from "../core/worker-thread.js";
import { verifyDeviceSignatures, type KeyScheme, type VerifyDeviceSignatureParameters } from "../core/keys.js";

/** A device key, as the registry holds it. */
export interface DeviceKey {
  scheme: KeyScheme;
  publicKey: Uint8Array;
}

/** Signature checks to run: item i is `digests[i*32..]`, `signatures[i*65..+sigLens[i]]` by `keys[keyIndex[i]]`. */
export interface SignatureJob {
  keys: readonly DeviceKey[];
  digests: Uint8Array;
  signatures: Uint8Array;
  sigLens: Uint8Array;
  keyIndex: Uint32Array;
}

/** Below this many signatures the pool checks on the calling thread (no worker start-up cost). */
const INLINE_BELOW = 2048;
const CHUNK = 8192;

/** Checks a job on the calling thread (all at once: P-256 checks share their inversions, core/keys.ts). */
export function verifySignaturesInline(job: SignatureJob): Uint8Array<ArrayBuffer> {
  const n = job.keyIndex.length;
  const ok = new Uint8Array(n);
  const checks: VerifyDeviceSignatureParameters[] = [];
  const at: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = job.keys[job.keyIndex[i]];
    if (key === undefined) continue; // unknown key: a sure failure
    checks.push({
      scheme: key.scheme,
      publicKey: key.publicKey,
      digest: job.digests.subarray(i * 32, i * 32 + 32),
      signature: job.signatures.subarray(i * 65, i * 65 + job.sigLens[i]),
    });
    at.push(i);
  }
  verifyDeviceSignatures(checks).forEach((valid, k) => (ok[at[k]] = valid ? 1 : 0));
  return ok;
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
  #workers: Worker[] | undefined;
  #nextId = 1;
  #failed: unknown;

  constructor(options: { threads?: number } = {}) {
    this.size = Math.max(1, options.threads ?? availableParallelism());
  }

  #start(): Worker[] {
    if (this.#workers !== undefined) return this.#workers;
    this.#workers = Array.from({ length: this.size }, () => {
      const worker = startWorker(import.meta.url, "signature-worker");
      worker.unref();
      return worker;
    });
    return this.#workers;
  }

  /** Starts the workers now (their start-up then overlaps the caller's other work). */
  warm(): void {
    if (this.size > 1 && this.#failed === undefined) this.#start();
  }

  /** Verifies every signature of `job`; `onProgress(done)` after each chunk. */
  async verify(job: SignatureJob, onProgress?: (done: number) => void): Promise<Uint8Array> {
    const n = job.keyIndex.length;
    if (n < INLINE_BELOW || this.size === 1 || this.#failed !== undefined) {
      const ok = verifySignaturesInline(job);
      onProgress?.(n);
      return ok;
    }
    const workers = this.#start();
    const keys = job.keys.map((k) => ({ scheme: k.scheme, publicKey: k.publicKey }));
    for (const w of workers) w.postMessage({ keys });
    const ok = new Uint8Array(n);
    let next = 0;
    let done = 0;
    const runOn = (worker: Worker) =>
      new Promise<void>((resolve, reject) => {
        const pending = new Map<number, number>();
        const onError = (error: unknown) => {
          cleanup();
          reject(error);
        };
        const onMessage = (message: { id: number; ok: Uint8Array }) => {
          const start = pending.get(message.id);
          if (start === undefined) return;
          pending.delete(message.id);
          ok.set(message.ok, start);
          done += message.ok.length;
          onProgress?.(done);
          if (!send()) {
            cleanup();
            resolve();
          }
        };
        const cleanup = () => {
          worker.off("message", onMessage);
          worker.off("error", onError);
          worker.unref();
        };
        const send = (): boolean => {
          if (next >= n) return pending.size > 0;
          const start = next;
          const end = Math.min(n, start + CHUNK);
          next = end;
          const id = this.#nextId++;
          pending.set(id, start);
          worker.postMessage({
            id,
            digests: job.digests.slice(start * 32, end * 32),
            signatures: job.signatures.slice(start * 65, end * 65),
            sigLens: job.sigLens.slice(start, end),
            keyIndex: job.keyIndex.slice(start, end),
          });
          return true;
        };
        worker.ref();
        worker.on("message", onMessage);
        worker.on("error", onError);
        // Two chunks in flight per worker: it never waits for the next one.
        const first = send();
        if (first) send();
        else {
          cleanup();
          resolve();
        }
      });
    try {
      await Promise.all(workers.map(runOn));
    } catch (error) {
      // Workers unavailable here (e.g. no TypeScript loader in workers): check on this thread.
      this.#failed = error;
      await this.close();
      const inline = verifySignaturesInline(job);
      onProgress?.(n);
      return inline;
    }
    return ok;
  }

  /** Why the pool fell back to the calling thread, if it did. */
  get failure(): unknown {
    return this.#failed;
  }

  async close(): Promise<void> {
    const workers = this.#workers ?? [];
    this.#workers = undefined;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
