/**
 * worker_threads entry of {@link SignaturePool}: verifies device signatures with
 * {@link verifySignaturesInline} (core's `verifyDeviceSignature`: native secp256k1 / OpenSSL P-256).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

import { verifySignaturesInline, type DeviceKey } from "./pool.js";

/** A chunk of work: `count` digests (32 bytes each), signatures (65-byte slots, `sigLens[i]` used), key indexes. */
export interface SignatureTask {
  id: number;
  digests: Uint8Array;
  signatures: Uint8Array;
  sigLens: Uint8Array;
  keyIndex: Uint32Array;
}

let keys: DeviceKey[] = [];

parentPort?.on("message", (message: { keys?: typeof keys } | SignatureTask) => {
  if ("keys" in message && message.keys !== undefined) {
    keys = message.keys;
    return;
  }
  const task = message as SignatureTask;
  const ok = verifySignaturesInline({
    keys,
    digests: task.digests,
    signatures: task.signatures,
    sigLens: task.sigLens,
    keyIndex: task.keyIndex,
  });
  parentPort!.postMessage({ id: task.id, ok }, [ok.buffer]);
});
