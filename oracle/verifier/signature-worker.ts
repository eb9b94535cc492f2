/**
 * worker_threads entry of {@link SignaturePool}: verifies device signatures with core's
 * `verifyDeviceSignature` (native secp256k1 / OpenSSL P-256).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

import { verifyDeviceSignature, type KeyScheme } from "../core/keys.js";

/** A chunk of work: `count` digests (32 bytes each), signatures (65-byte slots, `sigLens[i]` used), key indexes. */
export interface SignatureTask {
  id: number;
  digests: Uint8Array;
  signatures: Uint8Array;
  sigLens: Uint8Array;
  keyIndex: Uint32Array;
}

let keys: { scheme: KeyScheme; publicKey: Uint8Array }[] = [];

parentPort?.on("message", (message: { keys?: typeof keys } | SignatureTask) => {
  if ("keys" in message && message.keys !== undefined) {
    keys = message.keys;
    return;
  }
  const task = message as SignatureTask;
  const n = task.keyIndex.length;
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const key = keys[task.keyIndex[i]];
    if (key === undefined) continue;
    try {
      ok[i] = verifyDeviceSignature({
        scheme: key.scheme,
        publicKey: key.publicKey,
        digest: task.digests.subarray(i * 32, i * 32 + 32),
        signature: task.signatures.subarray(i * 65, i * 65 + task.sigLens[i]),
      })
        ? 1
        : 0;
    } catch {
      ok[i] = 0;
    }
  }
  parentPort!.postMessage({ id: task.id, ok }, [ok.buffer]);
});
