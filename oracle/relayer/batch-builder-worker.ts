/**
 * worker_threads entry of {@link BatchBuilder}: builds a batch record with the core's buildBatch and
 * answers it (the manifest bytes transferred, not copied), or the build's error.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";

import { buildBatchRecord, type BatchBuildAnswer, type BatchBuildJob } from "./batch-builder.js";

parentPort?.on("message", ({ id, domain, readings }: BatchBuildJob) => {
  let answer: BatchBuildAnswer;
  try {
    answer = { id, record: buildBatchRecord(domain, readings) };
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    answer = { id, error: { name: e.name, message: e.message } };
  }
  const transfer = "record" in answer ? [answer.record.manifestBytes.buffer as ArrayBuffer] : [];
  parentPort!.postMessage(answer, transfer);
});
