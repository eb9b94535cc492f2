/**
 * Follows the audit chain K confirmations behind its head and queues every `BatchAnchored` and
 * `ReadingSubmitted` log as a work item, moving the cursor in the same transaction. Before reading
 * on, it checks that the block under the cursor is still on the chain; if a reorg deeper than K
 * replaced it, the auditor forgets what it learnt from the replaced blocks and reads them again.
 *
 * @module
 */
import type { Address, PublicClient } from "viem";

import { readAnchorLogs } from "../chain/anchor-log.js";
import type { AuditorStore, NewAlert, WorkItem } from "./store.js";

/** Parameters of {@link followChain}. */
export interface FollowParameters {
  client: PublicClient;
  anchor: Address;
  store: AuditorStore;
  /** First block to read on a new store. */
  deployBlock: number;
  confirmations: number;
  /** Most blocks read per call (bounds one transaction). */
  maxBlocks?: number;
}

/** What one {@link followChain} call did. */
export interface FollowResult {
  queued: number;
  cursor: number;
  head: number;
  /** Set when a reorg below the cursor was found and undone. */
  rewound?: { from: number; to: number; verdicts: number };
  alerts: NewAlert[];
}

/**
 * Reads the anchor's logs from the cursor to `head − confirmations` and queues them.
 *
 * @throws when the RPC fails (the caller retries; nothing was written).
 * @example const { queued } = await followChain({ client, anchor, store, deployBlock: 0, confirmations: 2 });
 */
export async function followChain(p: FollowParameters): Promise<FollowResult> {
  const head = Number(await p.client.getBlockNumber({ cacheTime: 0 }));
  const alerts: NewAlert[] = [];
  let cursor = (await p.store.cursor()) ?? { block: p.deployBlock - 1, blockHash: "" };
  let rewound: FollowResult["rewound"];
  if (cursor.blockHash !== "") {
    const onChain = await p.client.getBlock({ blockNumber: BigInt(cursor.block) }).catch(() => undefined);
    if (onChain?.hash !== cursor.blockHash) {
      const back = Math.max(p.deployBlock - 1, cursor.block - 2 * Math.max(p.confirmations, 1) - 1);
      const hash = back < 0 ? "" : ((await p.client.getBlock({ blockNumber: BigInt(back) })).hash ?? "");
      const undone = await p.store.rewind(back, hash);
      rewound = { from: cursor.block, to: back, verdicts: undone.verdicts };
      alerts.push({
        key: `reorg:${cursor.block}:${cursor.blockHash}`,
        kind: "REORG",
        message: `block ${cursor.block} was replaced (a reorg deeper than ${p.confirmations} confirmations): blocks after ${back} are read again`,
        details: { ...rewound },
      });
      cursor = { block: back, blockHash: hash };
    }
  }
  const safe = head - p.confirmations;
  if (safe <= cursor.block) return { queued: 0, cursor: cursor.block, head, alerts, ...(rewound ? { rewound } : {}) };
  const to = Math.min(safe, cursor.block + (p.maxBlocks ?? 5000));
  const logs = await readAnchorLogs({ client: p.client, anchor: p.anchor, fromBlock: BigInt(cursor.block + 1), toBlock: BigInt(to) });
  const items: Pick<WorkItem, "kind" | "ref" | "blockNumber" | "blockHash" | "detail">[] = [
    ...logs.batches.map((b) => ({
      kind: "batch" as const,
      ref: String(b.batchId),
      blockNumber: Number(b.blockNumber),
      blockHash: b.blockHash,
      detail: null,
    })),
    ...logs.submissions.map((s) => ({
      kind: "direct" as const,
      ref: `${s.txHash}:${s.logIndex}`,
      blockNumber: Number(s.blockNumber),
      blockHash: s.blockHash,
      detail: JSON.stringify({ device: s.device, seq: Number(s.seq) }),
    })),
  ];
  const toHash = (await p.client.getBlock({ blockNumber: BigInt(to) })).hash!;
  await p.store.advance(items, { block: to, blockHash: toHash });
  return { queued: items.length, cursor: to, head, alerts, ...(rewound ? { rewound } : {}) };
}
