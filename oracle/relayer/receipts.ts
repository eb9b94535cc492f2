/**
 * Inclusion receipts: signed when a reading is durably queued (a deadline by which it will be
 * anchored), answered in one JSON shape. A bulk that asks for one (`Prefer: receipt=root`) gets one
 * signed receipt root for all its readings instead; their rows keep the deadline and no signature
 * ({@link UNSIGNED}), and a receipt answered for one of them later is signed then: signing is
 * deterministic (RFC 6979), so every answer for a reading is the same receipt.
 *
 * @module
 */
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { bytesToHex, hexToBytes } from "../core/bytes.js";
import {
  ReceiptDigester,
  ReceiptRootDigester,
  receiptTree,
  signReceipt,
  signReceiptRoot,
  type SignedReceiptJson,
  type SignedReceiptRootJson,
} from "../core/receipt.js";
import type { SignaturePool } from "../service/signature-pool.js";
import type { Candidate, StoredReceipt } from "./store.js";

/** The stored signature of a reading receipted under a bulk's root: its own receipt is signed when answered. */
export const UNSIGNED = "0x" as Hex;

/**
 * What a worker needs to sign a reading's receipt in the same message as its device check
 * (`SignaturePool.check` with `thenSign`): the receipt key and the receipt's deadline and digest.
 */
export interface ReceiptPreparer {
  readonly privateKey: Uint8Array;
  /** The receipt of `candidate` as if signed now: its deadline and EIP-712 digest. */
  prepare(candidate: Candidate): { deadline: number; digest: Uint8Array };
  /** The deadline of `candidate`'s receipt if signed now. */
  deadline(candidate: Candidate): number;
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
  /** One signed root for the receipts of `readings`, all with deadline `deadline` (a bulk's answer). */
  signRoot(readings: readonly { device: Address; seq: number; dataHash: Hex }[], deadline: number): SignedReceiptRootJson;
  /** A stored receipt as answered to clients (signed now if it was receipted under a root). */
  json(row: { device: Address; seq: number; dataHash: Hex }, receipt: StoredReceipt): SignedReceiptJson;
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
  const roots = new ReceiptRootDigester(o.chainId, o.anchor);
  const key = hexToBytes(o.receiptKey, 32);
  const address = privateKeyToAccount(o.receiptKey).address;
  const deadlineOf = (c: Candidate, nowMs: number) => {
    const byClock = Math.floor(nowMs / 1000) + o.deadlineSlack;
    return o.latestDeadline === undefined ? byClock : Math.min(byClock, o.latestDeadline(c));
  };
  const receiptOf = (c: { device: Address; seq: number; dataHash: Hex }, deadline: number) => ({
    device: c.device,
    seq: BigInt(c.seq),
    dataHash: c.dataHash,
    deadline: BigInt(deadline),
  });
  return {
    address,
    privateKey: key,
    prepare(c: Candidate) {
      const deadline = deadlineOf(c, o.now());
      return { deadline, digest: digester.digest(receiptOf(c, deadline)) };
    },
    deadline: (c: Candidate) => deadlineOf(c, o.now()),
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
    signRoot(readings, deadline) {
      const tree = receiptTree(readings.map((r) => receiptOf(r, deadline)));
      const signature = signReceiptRoot(roots, key, { root: tree.root, count: tree.leafCount });
      return { root: tree.root, count: tree.leafCount, deadline: String(deadline), signature, signer: address };
    },
    json(row, receipt) {
      const signature = receipt.signature === UNSIGNED ? signReceipt(digester, key, receiptOf(row, receipt.deadline)) : receipt.signature;
      return {
        device: row.device,
        seq: String(row.seq),
        dataHash: row.dataHash,
        deadline: String(receipt.deadline),
        signature,
        signer: address,
      };
    },
  };
}
