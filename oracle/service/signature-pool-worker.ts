/**
 * worker_threads entry of {@link SignaturePool}: checks a packed group of device signatures and answers
 * one byte per check (1 valid, 0 not).
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

import { verifyPacked } from "./signature-pool.js";

parentPort?.on("message", ({ id, packed }: { id: number; packed: Uint8Array }) => {
  const ok = verifyPacked(packed);
  parentPort!.postMessage({ id, ok }, [ok.buffer]);
});
