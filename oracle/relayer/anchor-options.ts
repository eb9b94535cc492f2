/**
 * Options of the relayer's anchoring worker, shared by its parts (sender, confirmation tracker,
 * reorg recheck).
 *
 * @module
 */
import type { Address, LocalAccount, PublicClient } from "viem";

import type { FeeModel } from "../chain/fee-model.js";
import type { Logger } from "../service/logger.js";
import type { RelayerMetrics } from "./metrics.js";
import type { BuiltBatchRecord, Candidate, RelayerStore } from "./store.js";

/** Options of {@link Anchorer} (oracle/relayer/anchorer.ts). */
export interface AnchorerOptions {
  store: RelayerStore;
  publicClient: PublicClient;
  /** Signs anchoring transactions locally (the raw bytes are persisted before broadcast). */
  account: LocalAccount;
  anchor: Address;
  chainId: number;
  /** Builds a batch record (root, manifest…) from queued readings: the core's buildBatch (on a worker thread in the relayer). */
  buildBatch: (readings: Candidate[]) => BuiltBatchRecord | Promise<BuiltBatchRecord>;
  batch: { maxSize: number; maxAgeMs: number };
  /** Blocks (the mined one included) before a batch is confirmed. */
  confirmations: number;
  /** A pending transaction older than this gets a fee bump. */
  stuckTimeoutMs: number;
  /** Batches sent and not yet mined at the same time (consecutive nonces). */
  maxInFlight: number;
  /** Worker period. */
  pollMs: number;
  /** Never sign a maxFeePerGas (or legacy gasPrice) above this (wei). */
  maxFeePerGasCap?: bigint;
  /** How transactions are typed and priced (detected at start-up by `detectFeeModel`). */
  feeModel: FeeModel;
  /**
   * Confirmed batches whose block is at most this many blocks below the head are rechecked for a
   * reorg deeper than `confirmations` (0: confirmed is final). Default 256.
   */
  recheckBlocks?: number;
  /**
   * Several instances on one store: only the holder of this lease anchors (cuts batches, sends and
   * follows transactions); the others stand by and take over once it expires (a process killed -9).
   * Without it this process anchors alone.
   */
  lease?: AnchorLease;
  logger: Logger;
  metrics: RelayerMetrics;
  now?: () => number;
}

/** The anchoring lease of {@link AnchorerOptions.lease}. */
export interface AnchorLease {
  /** One lease per relayer key (e.g. `anchorer:<relayer address>`). */
  name: string;
  /** This process (unique among the instances). */
  holder: string;
  /** How long a lease lasts without renewal, ms (renewed every tick and with every recorded transaction). */
  ttlMs: number;
}

/** The options with their defaults filled in, as every part of the worker reads them. */
export type AnchorContext = AnchorerOptions & { now: () => number; recheckBlocks: number };
