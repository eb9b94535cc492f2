/**
 * Direct submissions (TRUST-MODEL §5): readings a device (or anyone holding its signed reading) sent
 * with `ReadingAnchor.submitReading`, a second source of anchored readings beside batches. Each comes
 * from a `ReadingSubmitted` log; its anchoring time is that block's timestamp, and its signature is
 * recovered from the transaction's calldata (`submitReading(reading, signature)`).
 *
 * @module
 */
import { decodeFunctionData, type Address, type Hex, type PublicClient } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import { readAnchorLogs, type DirectSubmission } from "../chain/anchor-log.js";
import type { DeviceStatus } from "../core/device-status.js";
import type { Reading } from "../core/reading.js";
import { judgeReadingTime } from "../core/reading-time.js";
import { TIME_VERDICTS, type DeviceDirectory } from "./audit.js";
import { ReadingVerdict, type Problem } from "./types.js";

/** A direct submission with what the verifier needs to judge it. */
export interface DirectEntry {
  reading: Reading;
  /** From the tx's calldata; undefined when the tx did not call `submitReading` directly (e.g. through a contract). */
  signature?: Hex;
  /** The block's timestamp: the reading's anchoring time `A`. */
  anchoredAt: bigint;
  /** `maxAnchorDelayAt(anchoredAt)`. */
  maxAnchorDelay: bigint;
  log: DirectSubmission;
}

/** Where a reading was submitted directly: the evidence a result carries. */
export interface DirectInfo {
  txHash: Hex;
  logIndex: number;
  blockNumber: number;
  anchoredAt: number;
}

/**
 * Reads every `ReadingSubmitted` log of the anchor from `fromBlock`, with each one's signature and
 * anchoring time.
 *
 * @example
 * const entries = await readDirectSubmissions({ client, anchor, fromBlock: 0n, maxAnchorDelayAt });
 * entries[0].reading.seq; // 1n
 */
export async function readDirectSubmissions(p: {
  client: PublicClient;
  anchor: Address;
  fromBlock: bigint;
  maxAnchorDelayAt(timestamp: bigint): Promise<bigint>;
}): Promise<DirectEntry[]> {
  const { submissions } = await readAnchorLogs({
    client: p.client,
    anchor: p.anchor,
    fromBlock: p.fromBlock,
    events: ["ReadingSubmitted"],
  });
  const out: DirectEntry[] = [];
  for (const log of submissions) {
    const anchoredAt = (await p.client.getBlock({ blockNumber: log.blockNumber })).timestamp;
    const reading: Reading = { device: log.device, seq: log.seq, timestamp: log.timestamp, dataHash: log.dataHash };
    const signature = await signatureOf(p.client, log.txHash);
    out.push({
      reading,
      anchoredAt,
      maxAnchorDelay: await p.maxAnchorDelayAt(anchoredAt),
      log,
      ...(signature === undefined ? {} : { signature }),
    });
  }
  return out;
}

async function signatureOf(client: PublicClient, txHash: Hex): Promise<Hex | undefined> {
  const tx = await client.getTransaction({ hash: txHash });
  try {
    const call = decodeFunctionData({ abi: readingAnchorAbi, data: tx.input });
    return call.functionName === "submitReading" ? (call.args[1] as Hex) : undefined;
  } catch {
    return undefined;
  }
}

/** The evidence of a direct submission, as results carry it. */
export function directInfo(entry: DirectEntry): DirectInfo {
  return {
    txHash: entry.log.txHash,
    logIndex: entry.log.logIndex,
    blockNumber: Number(entry.log.blockNumber),
    anchoredAt: Number(entry.anchoredAt),
  };
}

/**
 * The signature and time problems of a direct submission, by the same rule as a batch's readings
 * (with `A` = its block's timestamp): the contract checked them at submission, but a compromise
 * declared since can make them fail now (rule 4 against the latest registry).
 *
 * @example directProblems(entry, registryIndex, (reading, signature) => true); // [] when fine
 */
export function directProblems(
  entry: DirectEntry,
  directory: DeviceDirectory,
  signedByDevice: (reading: Reading, signature: Hex) => boolean,
): Problem[] {
  const problems: Problem[] = [];
  if (directory.device(entry.reading.device) === undefined)
    problems.push({ status: ReadingVerdict.DEVICE_NOT_ACTIVE, message: "device is not in the registry" });
  else if (entry.signature === undefined)
    problems.push({
      status: ReadingVerdict.BAD_SIGNATURE,
      message: "the submitting transaction's calldata carries no submitReading signature",
    });
  else if (!signedByDevice(entry.reading, entry.signature))
    problems.push({ status: ReadingVerdict.BAD_SIGNATURE, message: "signature is not by the device's registered key" });
  const time = judgeReadingTime({
    timestamp: entry.reading.timestamp,
    anchoredAt: entry.anchoredAt,
    maxAnchorDelay: entry.maxAnchorDelay,
    statusAt: (t) => directory.statusAt(entry.reading.device, t) as DeviceStatus,
  });
  if (!time.ok) problems.push({ status: TIME_VERDICTS[time.code], message: time.message, details: { reason: time.code, ...time.details } });
  return problems;
}
