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
}

let keys: DeviceKey[] = [];

parentPort?.on("message", (message: { keys?: typeof keys } | SignatureTask) => {
  if ("keys" in message && message.keys !== undefined) {
    keys = message.keys;
    return;
  }
  const task = message as SignatureTask;
  const ok = verifyChunk(keys, task);
  parentPort!.postMessage({ id: task.id, ok }, [ok.buffer]);
});
