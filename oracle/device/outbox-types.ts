/**
 * The outbox's records: what is queued (a signed reading), where it goes (a target), and how
 * far each delivery got (its state, attempts and the service's last answer).
 *
 * @module
 */
import type { Address, Hex } from "viem";

import type { OutboxStore } from "./outbox-store.js";

/** Where a reading goes: the raw payload to the platform, the signed header to the relayer. */
export type DeliveryTarget = "platform" | "relayer";

/** Both targets, in the order they are listed in stats. */
export const DELIVERY_TARGETS: readonly DeliveryTarget[] = ["platform", "relayer"];

/**
 * Lifecycle of one reading at one target: `pending` (queued or being retried) → `delivered`
 * (2xx or a duplicate answer) or `rejected` (a 4xx that retrying cannot fix; final).
 */
export enum DeliveryState {
  Pending = "pending",
  Delivered = "delivered",
  Rejected = "rejected",
}

/** A signed reading as written to the outbox. */
export type OutboxEntry = {
  device: Address;
  seq: number;
  /** Unix seconds, as in the payload. */
  ts: number;
  /** The canonical payload JSON, verbatim. */
  payload: string;
  dataHash: Hex;
  signature: Hex;
};

/** One reading's delivery state at one target. */
export type DeliveryRecord = {
  target: DeliveryTarget;
  state: DeliveryState;
  attempts: number;
  /** Epoch ms before which no retry is made. */
  nextAttemptAt: number;
  httpStatus: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** The service's answer body on delivery (e.g. the relayer's signed receipt), JSON text, truncated to 16 KiB. */
  response: string | null;
  updatedAt: number;
};

/** An outbox entry with its delivery records. */
export type OutboxItem = OutboxEntry & { createdAt: number; deliveries: DeliveryRecord[] };

/** The oldest pending delivery of one device at one target (the only one that may be sent). */
export type DeliveryHead = OutboxEntry & {
  target: DeliveryTarget;
  attempts: number;
  nextAttemptAt: number;
};

/** Options of {@link Outbox.open}. */
export type OutboxOptions = {
  /** Targets each new reading is queued for (default both). */
  targets?: readonly DeliveryTarget[];
  /**
   * What to do with a reading once every target has it: `"keep"` (default; prune with
   * {@link Outbox.prune}) or `"delete"` (the simulator's choice: the file holds only the backlog).
   */
  retention?: "keep" | "delete";
  /**
   * `"full"` (default): every append is fsynced before it returns, so a reading survives a power
   * cut. `"normal"`: survives a process crash, not a power cut (faster; simulations).
   */
  durability?: "full" | "normal";
  /** Clock (epoch ms); tests replace it. */
  now?: () => number;
  /**
   * Where the records live (see `OutboxStorage` in outbox.ts; the same union): `"auto"` (default), `"node:sqlite"`,
   * `"better-sqlite3"`, `"journal"`, or an `OutboxStore` object.
   */
  storage?: "auto" | "node:sqlite" | "better-sqlite3" | "journal" | OutboxStore;
};

/** Counts of deliveries by target and state. */
export type OutboxCounts = Record<DeliveryTarget, Record<DeliveryState, number>>;
