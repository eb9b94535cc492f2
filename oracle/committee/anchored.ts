/**
 * The committee's one reader of `BatchAnchored` logs (kept in one function so a shared reader can
 * replace it).
 *
 * @module
 */
import type { Address, Hex, PublicClient } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import type { AnchoredBatch } from "./rules.js";

/** One `BatchAnchored` log: the batch and where it was anchored. */
export interface AnchoredLog {
  anchored: AnchoredBatch;
  blockNumber: bigint;
  logIndex: number;
  blockHash: Hex;
  txHash: Hex;
}

/** The batches anchored in blocks `fromBlock..toBlock`, in chain order. */
export async function readAnchoredBatches(client: PublicClient, anchor: Address, fromBlock: bigint, toBlock: bigint): Promise<AnchoredLog[]> {
  const logs = await client.getContractEvents({ address: anchor, abi: readingAnchorAbi, eventName: "BatchAnchored", fromBlock, toBlock, strict: true });
  logs.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  return logs.map((log) => ({
    anchored: {
      batchId: log.args.batchId,
      root: log.args.root,
      manifestHash: log.args.manifestHash,
      leafCount: Number(log.args.leafCount),
      blockNumber: log.blockNumber,
    },
    blockNumber: log.blockNumber,
    logIndex: log.logIndex,
    blockHash: log.blockHash,
    txHash: log.transactionHash,
  }));
}
