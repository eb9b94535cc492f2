/**
 * What the relayer answers about stored readings and batches: a reading's status, receipt and, once
 * anchored, its Merkle proof (rebuilt from the stored manifest, a few trees cached); a batch and its
 * transactions.
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { type Batch, buildBatch, parseManifest } from "../core/manifest.js";
import { ServiceError } from "../service/errors.js";
import type { ReceiptSigner } from "./receipts.js";
import type { BatchRow, ReadingRow, ReadingStatus, RelayerStore } from "./store.js";

/** A cached rebuilt batch, for proofs. */
interface TreeEntry {
  batch: Batch;
  index: Map<string, number>;
}

const TREE_CACHE_SIZE = 32;
const UINT_PARAM = /^[1-9][0-9]{0,15}$/;
const ROOT_PARAM = /^0x[0-9a-fA-F]{64}$/;

/** A path parameter that is a positive decimal integer (a seq, an on-chain batch id). */
export function isUintParam(value: string): boolean {
  return UINT_PARAM.test(value);
}

function readingStatus(batch: BatchRow | undefined): ReadingStatus {
  if (batch === undefined) return "queued";
  if (batch.status === "mined") return "anchored";
  if (batch.status === "confirmed") return "confirmed";
  return "batched";
}

/** Answers about readings and batches of one relayer store. */
export class BatchViews {
  readonly #o: { store: RelayerStore; chainId: number; anchor: Address; receipts: Pick<ReceiptSigner, "json"> };
  readonly #trees = new Map<number, TreeEntry>();

  constructor(options: { store: RelayerStore; chainId: number; anchor: Address; receipts: Pick<ReceiptSigner, "json"> }) {
    this.#o = options;
  }

  /** The answer of GET /v1/readings/:device/:seq for a stored reading. */
  async readingAnswer(row: ReadingRow): Promise<Record<string, unknown>> {
    const batch = row.batchId === null ? undefined : await this.#o.store.batch(row.batchId);
    const status = readingStatus(batch);
    const answer: Record<string, unknown> = {
      status,
      device: row.device,
      seq: String(row.seq),
      timestamp: String(row.timestamp),
      dataHash: row.dataHash,
      signature: row.signature,
      receivedAt: new Date(row.receivedAt).toISOString(),
      receipt: this.#o.receipts.json(row, row.receipt),
      chainId: this.#o.chainId,
      anchor: this.#o.anchor,
    };
    if (batch !== undefined) {
      answer.batch = { root: batch.root, leafCount: batch.leafCount, manifestHash: batch.manifestHash, status: batch.status };
      if (status === "anchored" || status === "confirmed") {
        const tree = await this.#treeOf(batch);
        const k = tree.index.get(`${row.device}:${row.seq}`);
        if (k === undefined) throw new ServiceError("INTERNAL", "reading missing from its batch manifest");
        Object.assign(answer, {
          batchId: batch.anchorBatchId,
          root: batch.root,
          leaf: tree.batch.leaves[k],
          proof: tree.batch.proofs[k],
          txHash: batch.txHash,
          blockNumber: batch.blockNumber,
          blockHash: batch.blockHash,
        });
      }
    }
    return answer;
  }

  /** The batch named by an on-chain id or a root (400 for anything else, 404 if unknown). */
  async batchFromParam(id: string): Promise<BatchRow> {
    let batch: BatchRow | undefined;
    if (UINT_PARAM.test(id)) batch = await this.#o.store.batchByAnchorId(Number(id));
    else if (ROOT_PARAM.test(id)) batch = await this.#o.store.batchByRoot(id as Hex);
    else throw new ServiceError("INVALID_PARAMETER", "a batch is named by its on-chain id or its root");
    if (batch === undefined) throw new ServiceError("BATCH_NOT_FOUND", "no such batch");
    return batch;
  }

  /** The answer of GET /v1/batches/:id. */
  async batchAnswer(batch: BatchRow): Promise<Record<string, unknown>> {
    const txs = await this.#o.store.txs(batch.id);
    return {
      batchId: batch.anchorBatchId,
      status: batch.status,
      root: batch.root,
      leafCount: batch.leafCount,
      manifestHash: batch.manifestHash,
      createdAt: new Date(batch.createdAt).toISOString(),
      txHash: batch.txHash,
      blockNumber: batch.blockNumber,
      blockHash: batch.blockHash,
      gasUsed: batch.gasUsed?.toString() ?? null,
      minedAt: batch.minedAt === null ? null : new Date(batch.minedAt).toISOString(),
      confirmedAt: batch.confirmedAt === null ? null : new Date(batch.confirmedAt).toISOString(),
      reorgs: batch.reorgs,
      lastError: batch.lastError,
      chainId: this.#o.chainId,
      anchor: this.#o.anchor,
      transactions: txs.map((t) => ({
        hash: t.hash,
        nonce: t.nonce,
        kind: t.kind,
        status: t.status,
        gas: t.gas.toString(),
        maxFeePerGas: t.maxFeePerGas.toString(),
        maxPriorityFeePerGas: t.maxPriorityFeePerGas.toString(),
      })),
    };
  }

  async #treeOf(batch: BatchRow): Promise<TreeEntry> {
    let entry = this.#trees.get(batch.id);
    if (entry !== undefined) {
      this.#trees.delete(batch.id);
      this.#trees.set(batch.id, entry);
      return entry;
    }
    const bytes = await this.#o.store.manifest(batch.id);
    if (bytes === undefined) throw new ServiceError("INTERNAL", "batch manifest missing");
    const manifest = parseManifest(bytes);
    const rebuilt = buildBatch(manifest);
    if (rebuilt.root !== batch.root || rebuilt.manifestHash !== batch.manifestHash)
      throw new ServiceError("INTERNAL", "stored manifest does not rebuild the batch", { batch: batch.id });
    const index = new Map<string, number>();
    manifest.items.forEach((item, i) => index.set(`${item.reading.device}:${item.reading.seq}`, i));
    entry = { batch: rebuilt, index };
    this.#trees.set(batch.id, entry);
    if (this.#trees.size > TREE_CACHE_SIZE) this.#trees.delete(this.#trees.keys().next().value as number);
    return entry;
  }
}
