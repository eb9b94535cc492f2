/**
 * Inclusion receipts: signed when a reading is durably queued (a deadline by which it will be
 * anchored), answered in one JSON shape.
 *
 * @module
 */
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { bytesToHex, hexToBytes } from "../core/bytes.js";
import { ReceiptDigester, signReceipt, type SignedReceiptJson } from "../core/receipt.js";
import type { SignaturePool } from "../service/signature-pool.js";
import type { Candidate, StoredReceipt } from "./store.js";

/** A stored receipt as answered to clients. */
export function receiptJson(
  row: { device: Address; seq: number; dataHash: Hex },
  receipt: StoredReceipt,
  signer: Address,
): SignedReceiptJson {
  return {
    device: row.device,
    seq: String(row.seq),
    dataHash: row.dataHash,
    deadline: String(receipt.deadline),
    signature: receipt.signature,
    signer,
  };
}

/**
 * What a worker needs to sign a reading's receipt in the same message as its device check
 * (`SignaturePool.check` with `thenSign`): the receipt key and the receipt's deadline and digest.
 */
export interface ReceiptPreparer {
  readonly privateKey: Uint8Array;
  /** The receipt of `candidate` as if signed now: its deadline and EIP-712 digest. */
  prepare(candidate: Candidate): { deadline: number; digest: Uint8Array };
}

/**
 * Signs receipts whose deadline is `deadlineSlack` seconds after signing, and never later than
 * `latestDeadline(candidate)` when given (the reading's last valid anchoring time minus the margin).
 */
export interface ReceiptSigner extends ReceiptPreparer {
  /** Address of the receipt key (what verifiers check receipts against). */
  address: Address;
  sign(candidate: Candidate): StoredReceipt;
  /**
   * The receipts of a group commit's new readings: digests here, the signatures in one message to a
   * worker thread of `pool` when one was given (off the event loop), else here.
   */
  signAll(fresh: readonly Candidate[]): Promise<StoredReceipt[]>;
}

/**
 * The relayer's receipt signer on one chain and anchor.
 *
 * @example
 * const receipts = receiptSigner({ chainId: 31337, anchor, receiptKey, deadlineSlack: 610, now: Date.now });
 * receipts.sign(candidate); // { deadline, signature }
 */
export function receiptSigner(o: {
  chainId: number;
  anchor: Address;
  receiptKey: Hex;
  deadlineSlack: number;
  now: () => number;
  latestDeadline?: (candidate: Candidate) => number;
  /** Signs on its worker threads (the relayer's signature pool). */
  pool?: Pick<SignaturePool, "signAll">;
}): ReceiptSigner {
  const digester = new ReceiptDigester(o.chainId, o.anchor);
  const key = hexToBytes(o.receiptKey, 32);
  const deadlineOf = (c: Candidate, nowMs: number) => {
    const byClock = Math.floor(nowMs / 1000) + o.deadlineSlack;
    return o.latestDeadline === undefined ? byClock : Math.min(byClock, o.latestDeadline(c));
  };
  const receiptOf = (c: Candidate, deadline: number) => ({
    device: c.device,
    seq: BigInt(c.seq),
    dataHash: c.dataHash,
    deadline: BigInt(deadline),
  });
  return {
    address: privateKeyToAccount(o.receiptKey).address,
    privateKey: key,
    prepare(c: Candidate) {
      const deadline = deadlineOf(c, o.now());
      return { deadline, digest: digester.digest(receiptOf(c, deadline)) };
    },
    sign(c: Candidate): StoredReceipt {
      const deadline = deadlineOf(c, o.now());
      return { deadline, signature: signReceipt(digester, key, receiptOf(c, deadline)) };
    },
    async signAll(fresh: readonly Candidate[]): Promise<StoredReceipt[]> {
      if (o.pool === undefined) return fresh.map((c) => this.sign(c));
      const nowMs = o.now();
      const deadlines = fresh.map((c) => deadlineOf(c, nowMs));
      const signatures = await o.pool.signAll(
        key,
        fresh.map((c, i) => digester.digest(receiptOf(c, deadlines[i]))),
      );
      return deadlines.map((deadline, i) => ({ deadline, signature: bytesToHex(signatures[i]) }));
    },
  };
}
