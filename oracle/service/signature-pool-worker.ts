/**
 * worker_threads entry of {@link SignaturePool}: checks a packed group of device signatures and answers
 * one byte per check (1 valid, 0 not) and the signatures the valid checks asked for, or signs a packed group of receipt digests (65 bytes each).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

import { runBehindEventLoop } from "./thread-priority.js";
import { signPacked, verifyPacked } from "./signature-pool.js";

runBehindEventLoop();

type Job =
  | { id: number; packed: Uint8Array<ArrayBuffer>; keys: Uint8Array[] }
  | { id: number; sign: { privateKey: Uint8Array; digests: Uint8Array } };

parentPort?.on("message", (job: Job) => {
  if ("sign" in job) {
    const signatures = signPacked(job.sign.privateKey, job.sign.digests);
    parentPort!.postMessage({ id: job.id, signatures }, [signatures.buffer]);
    return;
  }
  const { ok, signatures } = verifyPacked(job);
  parentPort!.postMessage({ id: job.id, ok, signatures }, signatures === undefined ? [ok.buffer] : [ok.buffer, signatures.buffer]);
});
