/**
 * worker_threads entry of {@link SignaturePool}: checks the chunks it is sent with
 * {@link verifyChunk} (core/signature-verify.ts: native secp256k1 / OpenSSL P-256; no viem to load).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

import { verifyChunk, type DeviceKey, type SignatureChunk } from "./pool.js";

/** A chunk of work, packed by the job's `prepare` (its buffers transferred, not copied). */
export interface SignatureTask extends SignatureChunk {
  id: number;
  /** The job whose key table the chunk's key indexes refer to. */
  job: number;
}

/** Each running job's device keys, by job id: jobs may run at once, their chunks interleaved. */
const keyTables = new Map<number, DeviceKey[]>();

parentPort?.on("message", (message: { job: number; keys: DeviceKey[] } | { forget: number } | SignatureTask) => {
  if ("forget" in message) {
    keyTables.delete(message.forget);
    return;
  }
  if ("keys" in message) {
    keyTables.set(message.job, message.keys);
    return;
  }
  // A job's table is sent before its first chunk; without one, no key: every check fails.
  const ok = verifyChunk(keyTables.get(message.job) ?? [], message);
  parentPort!.postMessage({ id: message.id, ok }, [ok.buffer]);
});
