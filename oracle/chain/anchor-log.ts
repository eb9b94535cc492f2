/**
 * The one reader of the ReadingAnchor's logs: `BatchAnchored` (batches anchored by relayers) and
 * `ReadingSubmitted` (readings submitted directly), over a block range, paged so that no
 * `eth_getLogs` spans more than `maxBlockRange` blocks.
 *
 * @module
 */
import { parseEventLogs, type Address, type Hex, type PublicClient } from "viem";

import type { AnchoredBatch } from "../core/anchored-batch.js";
import { SensorSealError } from "../core/errors.js";
import { readingAnchorAbi } from "./abis.js";

/** Where a log sits on the chain (for ordering and reorg checks). */
export interface LogPosition {
  blockNumber: bigint;
  /** The block's hash when the log was read: compare it with the chain's to detect a reorg. */
  blockHash: Hex;
  txHash: Hex;
  logIndex: number;
}

/** A `BatchAnchored` log: the anchored batch (anchoredAt is its block's timestamp) and where it sits. */
export type AnchoredBatchLog = AnchoredBatch & LogPosition & { txHash: Hex; relayer: Address };

/** A `ReadingSubmitted` log: a reading submitted directly to the anchor. */
export interface DirectSubmission extends LogPosition {
  device: Address;
  seq: bigint;
  timestamp: bigint;
  dataHash: Hex;
}

/** Which events to read. */
export type AnchorEventName = "BatchAnchored" | "ReadingSubmitted";

/** Parameters of {@link readAnchorLogs}. */
export interface ReadAnchorLogsParameters {
  client: PublicClient;
  /** The ReadingAnchor. */
  anchor: Address;
  fromBlock: bigint;
  /** Inclusive; default: the chain's head now. */
  toBlock?: bigint;
  /** Largest block range of one `eth_getLogs` (default 5000). */
  maxBlockRange?: number;
  /** Default: both. */
  events?: readonly AnchorEventName[];
}

/** What {@link readAnchorLogs} read, each list in chain order (block, then log index). */
export interface AnchorLogs {
  batches: AnchoredBatchLog[];
  submissions: DirectSubmission[];
  /** The last block read (inclusive): the next read starts after it. */
  toBlock: bigint;
}

/** An anchor log could not be read (RPC failure, or a block vanished while reading: a reorg). */
export class AnchorLogError extends SensorSealError {
  override name = "AnchorLogError" as const;
  declare readonly code: "ANCHOR_LOG_UNAVAILABLE";
  constructor(message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super("ANCHOR_LOG_UNAVAILABLE", message, options);
  }
}

/**
 * Reads the anchor's `BatchAnchored` and `ReadingSubmitted` logs in `[fromBlock, toBlock]`.
 *
 * @throws {AnchorLogError} when the RPC fails.
 * @example
 * const { batches, submissions } = await readAnchorLogs({ client, anchor, fromBlock: 0n });
 * batches[0]; // { batchId: 1n, root, manifestHash, leafCount, blockNumber, anchoredAt, txHash, relayer, blockHash, logIndex }
 */
export async function readAnchorLogs(p: ReadAnchorLogsParameters): Promise<AnchorLogs> {
  const events = p.events ?? ["BatchAnchored", "ReadingSubmitted"];
  const step = BigInt(p.maxBlockRange ?? 5000);
  const out: AnchorLogs = { batches: [], submissions: [], toBlock: p.fromBlock - 1n };
  try {
    const head = p.toBlock ?? (await p.client.getBlockNumber({ cacheTime: 0 }));
    const timestamps = new Map<bigint, bigint>();
    for (let from = p.fromBlock; from <= head; from += step) {
      const to = from + step - 1n < head ? from + step - 1n : head;
      const logs = await p.client.getLogs({ address: p.anchor, fromBlock: from, toBlock: to });
      for (const e of parseEventLogs({ abi: readingAnchorAbi, logs, strict: true })) {
        const position = { blockNumber: e.blockNumber, blockHash: e.blockHash, txHash: e.transactionHash, logIndex: e.logIndex };
        if (e.eventName === "BatchAnchored" && events.includes("BatchAnchored")) {
          const { batchId, root, manifestHash, leafCount, relayer } = e.args;
          const anchoredAt = await blockTimestamp(p.client, e.blockNumber, timestamps);
          out.batches.push({ batchId, root, manifestHash, leafCount: Number(leafCount), relayer, anchoredAt, ...position });
        } else if (e.eventName === "ReadingSubmitted" && events.includes("ReadingSubmitted")) {
          const { device, seq, timestamp, dataHash } = e.args;
          out.submissions.push({ device, seq: BigInt(seq), timestamp: BigInt(timestamp), dataHash, ...position });
        }
      }
      out.toBlock = to;
    }
  } catch (cause) {
    throw new AnchorLogError(`cannot read the anchor's logs from block ${p.fromBlock}`, { cause, details: { anchor: p.anchor } });
  }
  out.batches.sort(byPosition);
  out.submissions.sort(byPosition);
  return out;
}

async function blockTimestamp(client: PublicClient, blockNumber: bigint, cache: Map<bigint, bigint>): Promise<bigint> {
  let timestamp = cache.get(blockNumber);
  if (timestamp === undefined) {
    timestamp = (await client.getBlock({ blockNumber })).timestamp;
    cache.set(blockNumber, timestamp);
  }
  return timestamp;
}

function byPosition(a: LogPosition, b: LogPosition): number {
  return a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1;
}
