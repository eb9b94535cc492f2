/**
 * The CENSORED verdict (TRUST-MODEL §6): a device's relayer receipt is evidence that the relayer took a
 * reading and promised to anchor it by `deadline`. It binds the relayer when its signer is the
 * `receiptSigner` of a `RelayerRegistered` event in a block dated ≤ `deadline`; a reading with a
 * binding receipt, valid by rules 1, 2 and 4 at `A = deadline`, not anchored (batch or direct
 * submission) by the deadline, once the chain's latest block is past it, is CENSORED. Everything here
 * is checked against the chain alone.
 *
 * @module
 */
import { parseEventLogs, type Address, type Hex, type PublicClient } from "viem";

import { readingAnchorAbi } from "../chain/abis.js";
import { DeviceStatus } from "../core/device-status.js";
import { MAX_CLOCK_SKEW_SECONDS } from "../core/reading-time.js";
import {
  receiptRootOf,
  receiptsUnderRoot,
  recoverReceiptSigner,
  ReceiptDigester,
  type InclusionReceipt,
  type SignedReceiptJson,
  type SignedReceiptRootJson,
} from "../core/receipt.js";
import type { Reading } from "../core/reading.js";
import { ReadingVerdict, VerifierError, type Problem } from "./types.js";

/** A receipt as the device keeps it, with the reading's time and signature when the device kept them. */
export interface ReceiptEvidence {
  receipt: SignedReceiptJson;
  /** The reading's timestamp and device signature (else taken from the platform's payload, when its hash matches). */
  reading?: { timestamp: string | number; signature: Hex };
}

/** A `RelayerRegistered` event: who signs a relayer's receipts, from when. */
export interface RelayerRegistration {
  relayer: Address;
  manifestUrl: string;
  receiptSigner: Address;
  blockNumber: bigint;
  timestamp: bigint;
  txHash: Hex;
}

/**
 * Receipts from a JSON document: an array of signed receipts (alone, or under a root with their
 * proof), of `{ receipt, reading? }`, of the relayer's 202 bodies (`{ receipt }` / `{ receipts: [...] }`)
 * as the SDK's outbox keeps them, or of a bulk's signed receipt root with the readings it covers
 * (`{ receipt: { root, count, deadline, signature, signer }, readings: [{ device, seq, dataHash,
 * timestamp?, signature? }] }`).
 *
 * @throws {VerifierError} INVALID_ARGUMENT when an entry is not a receipt.
 * @example parseReceipts(JSON.parse(fs.readFileSync("receipts.json", "utf8")));
 */
export function parseReceipts(json: unknown): ReceiptEvidence[] {
  const out: ReceiptEvidence[] = [];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a receipts file: untyped JSON, checked field by field below
  const visit = (item: any): void => {
    if (Array.isArray(item)) return item.forEach(visit);
    if (item === null || typeof item !== "object") throw new VerifierError("INVALID_ARGUMENT", "receipts: not an object");
    if (Array.isArray(item.receipts)) return item.receipts.forEach(visit);
    if (typeof item.receipt?.root === "string" && Array.isArray(item.readings)) return underRoot(item.receipt, item.readings);
    const receipt = item.receipt ?? item;
    if (
      typeof receipt.device !== "string" ||
      typeof receipt.signature !== "string" ||
      receipt.deadline === undefined ||
      receipt.seq === undefined
    )
      throw new VerifierError("INVALID_ARGUMENT", "receipts: an entry has no device, seq, deadline and signature");
    const reading = item.reading;
    out.push({ receipt: receipt as SignedReceiptJson, ...(reading?.signature === undefined ? {} : { reading }) });
  };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  const underRoot = (root: SignedReceiptRootJson, readings: any[]): void => {
    let receipts: SignedReceiptJson[];
    try {
      receipts = receiptsUnderRoot(root, readings);
    } catch (error) {
      throw new VerifierError("INVALID_ARGUMENT", `receipts: a receipt root and its readings do not match (${(error as Error).message})`);
    }
    receipts.forEach((receipt, i) => {
      const { timestamp, signature } = readings[i];
      out.push({ receipt, ...(signature === undefined ? {} : { reading: { timestamp, signature } }) });
    });
  };
  visit(json);
  return out;
}

/** Reads every `RelayerRegistered` event of the anchor, with its block's timestamp. */
export async function readRelayerRegistrations(client: PublicClient, anchor: Address, fromBlock: bigint): Promise<RelayerRegistration[]> {
  const logs = await client.getLogs({ address: anchor, fromBlock, toBlock: "latest" });
  const out: RelayerRegistration[] = [];
  for (const e of parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "RelayerRegistered", strict: true })) {
    const { timestamp } = await client.getBlock({ blockNumber: e.blockNumber });
    out.push({ ...e.args, blockNumber: e.blockNumber, timestamp, txHash: e.transactionHash });
  }
  return out;
}

/** What {@link censorshipProblem} needs of the chain and the verifier's view of it. */
export interface CensorshipContext {
  chainId: number;
  anchor: Address;
  registrations: readonly RelayerRegistration[];
  /** The chain's latest block timestamp. */
  latest: bigint;
  /** The device's status at a time (registry, compromise honoured). */
  statusAt(device: Address, timestamp: bigint): number;
  signedByDevice(reading: Reading, signature: Hex): boolean;
  /** Anchorings of (device, seq, dataHash) known to the verifier: batch `anchoredAt`s and direct submissions' times. */
  anchoredTimes(device: Address, seq: bigint, dataHash: Hex): bigint[];
  /** True when a batch that could hold a reading dated `timestamp` (anchored at ≥ timestamp − 300 s and ≤ `deadline`) has no manifest. */
  unavailableBefore(timestamp: bigint, deadline: bigint): boolean;
}

/**
 * The CENSORED problem a receipt proves, or `{ binding: false, reason }` when it proves nothing.
 *
 * @example
 * const verdict = await censorshipProblem(evidence, reading, context);
 * if (verdict.problem) problems.push(verdict.problem);
 */
export async function censorshipProblem(
  evidence: ReceiptEvidence,
  context: CensorshipContext,
): Promise<{ problem?: Problem; reason?: string }> {
  const r = evidence.receipt;
  const receipt: InclusionReceipt = { device: r.device, seq: BigInt(r.seq), dataHash: r.dataHash, deadline: BigInt(r.deadline) };
  let signer: Address;
  try {
    signer = await recoverReceiptSigner(new ReceiptDigester(context.chainId, context.anchor), receipt, r.signature, receiptRootOf(r));
  } catch {
    return { reason: "the receipt's signature does not recover, or its Merkle proof fails" };
  }
  const registration = context.registrations.find(
    (g) => g.receiptSigner.toLowerCase() === signer.toLowerCase() && g.timestamp <= receipt.deadline,
  );
  if (registration === undefined) return { reason: `signer ${signer} is no relayer's registered receiptSigner by the deadline` };
  if (context.latest <= receipt.deadline) return { reason: "the deadline has not passed" };
  if (evidence.reading === undefined) return { reason: "no device-signed reading for the receipt" };
  const reading: Reading = {
    device: receipt.device,
    seq: receipt.seq,
    timestamp: BigInt(evidence.reading.timestamp),
    dataHash: receipt.dataHash,
  };
  if (!context.signedByDevice(reading, evidence.reading.signature)) return { reason: "the reading is not signed by the device" };
  if (reading.timestamp > receipt.deadline + MAX_CLOCK_SKEW_SECONDS) return { reason: "the reading is dated after the deadline" };
  if (context.statusAt(reading.device, reading.timestamp) !== DeviceStatus.Active)
    return { reason: "the device was not Active at the reading's time" };
  if (context.anchoredTimes(reading.device, reading.seq, reading.dataHash).some((a) => a <= receipt.deadline))
    return { reason: "anchored by the deadline" };
  if (context.unavailableBefore(reading.timestamp, receipt.deadline))
    return { reason: "a batch anchored by the deadline has no manifest (UNAVAILABLE)" };
  return {
    problem: {
      status: ReadingVerdict.CENSORED,
      message: `relayer ${registration.relayer} receipted this reading with deadline ${receipt.deadline} and did not anchor it by then`,
      details: {
        receipt: r,
        signer,
        registration: {
          relayer: registration.relayer,
          receiptSigner: registration.receiptSigner,
          txHash: registration.txHash,
          blockNumber: Number(registration.blockNumber),
          timestamp: Number(registration.timestamp),
        },
        latestBlockTimestamp: Number(context.latest),
      },
    },
  };
}
