/**
 * The relayer's intake: the stateless checks of one submitted reading (shape, signature on the
 * audit domain with the registry's key, device status) and the group-committing writer that runs
 * the sequence check and queues accepted readings durably.
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { checksumAddress } from "../core/address.js";
import { admitReading } from "../core/admission.js";
import { bytesToHex, hexToBytes } from "../core/bytes.js";
import { checkIntakeTime } from "../core/reading-time.js";
import type { DeviceStatus } from "../core/device-status.js";
import { SensorSealError } from "../core/errors.js";
import { readingFromJson, type Reading, type ReadingDigester } from "../core/reading.js";
import { RegistryCatchUp } from "../chain/registry-catch-up.js";
import { GroupCommit } from "../service/group-commit.js";
import type { SignaturePool } from "../service/signature-pool.js";
import type { IndexedDevice } from "../chain/registry-index.js";
import { RejectionError } from "./errors.js";
import type { ReceiptPreparer } from "./receipts.js";
import type { AcceptOutcome, Candidate, RelayerStore, StoredReceipt } from "./store.js";

/** What intake needs of the registry index (a `RegistryIndex` has it). */
export interface RegistryView {
  device(device: Address): IndexedDevice | undefined;
  statusAt(device: Address, timestampSeconds: number | bigint): DeviceStatus;
  sync(): Promise<void>;
}

/** The JSON body of one reading: the core's ReadingJson plus the device's signature. */
export interface SubmittedReading {
  device: Address;
  seq: string | number;
  timestamp: string | number;
  dataHash: Hex;
  signature: Hex;
}

const FIELDS = new Set(["device", "seq", "timestamp", "dataHash", "signature"]);
const SIGNATURE_RE = /^0x[0-9a-fA-F]*$/;

/** The store keeps seq and timestamp as 64-bit integers read back as JS numbers. */
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Parses one submitted reading (seq and timestamp as decimal strings or safe integers; the device
 * address in any case; dataHash and signature as hex), with the core's strict reading parser.
 *
 * @throws {RejectionError} INVALID_READING or INVALID_SIGNATURE (malformed).
 * @example
 * parseSubmittedReading({ device: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", seq: 1, timestamp: "1700000000",
 *   dataHash: `0x${"11".repeat(32)}`, signature: `0x${"22".repeat(64)}1b` }).reading.seq; // 1n
 */
export function parseSubmittedReading(body: unknown): { reading: Reading; signature: Hex } {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new RejectionError("INVALID_READING", "a reading is a JSON object", { field: "$" });
  const o = body as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!FIELDS.has(key)) throw new RejectionError("INVALID_READING", `unknown field "${key}"`, { field: key });
  const uint = (value: unknown): unknown =>
    typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  const device = typeof o.device === "string" ? (checksumAddress(o.device) ?? o.device) : o.device;
  const dataHash = typeof o.dataHash === "string" ? o.dataHash.toLowerCase() : o.dataHash;
  let reading: Reading;
  try {
    reading = readingFromJson({ device, seq: uint(o.seq), timestamp: uint(o.timestamp), dataHash });
  } catch (error) {
    if (error instanceof SensorSealError)
      throw new RejectionError("INVALID_READING", error.shortMessage, { field: error.details?.field ?? "$" });
    throw error;
  }
  if (reading.seq === 0n) throw new RejectionError("INVALID_READING", "seq starts at 1", { field: "seq" });
  if (reading.seq > MAX_SAFE) throw new RejectionError("INVALID_READING", "seq above 2^53 - 1 is not supported", { field: "seq" });
  if (reading.timestamp > MAX_SAFE)
    throw new RejectionError("INVALID_READING", "timestamp above 2^53 - 1 is not supported", { field: "timestamp" });
  const signature = o.signature;
  if (typeof signature !== "string" || !SIGNATURE_RE.test(signature) || (signature.length !== 130 && signature.length !== 132))
    throw new RejectionError("INVALID_SIGNATURE", "signature must be 64 (P-256) or 65 (secp256k1) bytes of 0x hex", { field: "signature" });
  return { reading, signature: signature.toLowerCase() as Hex };
}

/** Options of {@link ReadingChecker}. */
export interface ReadingCheckerOptions {
  registry: RegistryView;
  /** Reading digests on the audit domain (chain id, anchor). */
  digester: ReadingDigester;
  /** Largest accepted `timestamp − now`, seconds (the contract's MAX_CLOCK_SKEW is 300). */
  maxClockSkewSeconds: number;
  /**
   * The intake window (docs/TRUST-MODEL.md §0): the anchor's current `maxAnchorDelay` (seconds) and the
   * relayer's margin (its batch age + confirmation time, doubled so that every receipt's deadline falls
   * within the window). Without it only future readings are refused.
   */
  intakeWindow?: { maxAnchorDelay(): bigint; marginSeconds: number };
  /** At most one forced registry sync per this many ms for unknown devices. */
  unknownDeviceSyncMs?: number;
  /** Checks signatures on worker threads; without it they are checked on the event loop. */
  signatures?: SignaturePool;
  /**
   * With `signatures`: the receipt of each authentic reading is signed by the worker that checked it,
   * in the same message (the candidate carries it), so a commit need not wait for signing. It is made
   * milliseconds before the commit: the deadline margin (twice the slack) absorbs that.
   */
  receipts?: ReceiptPreparer;
  now?: () => number;
}

/**
 * Checks one reading against everything but the sequence: shape, future timestamp, device known,
 * signature (EIP-712 Reading digest on the audit domain, the registry's key and scheme), device not
 * revoked now and Active at the reading's timestamp.
 *
 * @example
 * const checker = new ReadingChecker({ registry, digester: new ReadingDigester(31337, anchor), maxClockSkewSeconds: 300 });
 * const candidate = await checker.check(body); // throws RejectionError with a code
 */
export class ReadingChecker {
  readonly #options: Required<Omit<ReadingCheckerOptions, "intakeWindow" | "signatures" | "receipts">> &
    Pick<ReadingCheckerOptions, "intakeWindow" | "signatures" | "receipts">;
  readonly #registry: RegistryCatchUp<IndexedDevice>;

  constructor(options: ReadingCheckerOptions) {
    this.#options = { unknownDeviceSyncMs: 1000, now: Date.now, ...options };
    // A failed catch-up leaves the device unknown (UNKNOWN_DEVICE): the relayer has always answered so.
    this.#registry = new RegistryCatchUp(this.#options.registry, {
      minIntervalMs: this.#options.unknownDeviceSyncMs,
      now: this.#options.now,
      ignoreSyncErrors: true,
    });
  }

  /** Like {@link ReadingChecker.verify}, but throws the registry's refusal too. */
  async check(body: unknown): Promise<Candidate> {
    const { candidate, refusal } = await this.verify(body);
    if (refusal !== undefined) throw refusal;
    return candidate;
  }

  /**
   * Checks shape, then the shared reading admission (oracle/core/admission.ts); refusals are thrown
   * as RejectionError, except a refusal by the device's registry status (DEVICE_REVOKED,
   * DEVICE_NOT_ACTIVE) of an authentic reading: that is returned beside the candidate, so the
   * caller can still answer an identical resend of an already accepted reading with its receipt.
   * With `signReceipt: false` (a bulk receipted under one root) no receipt is signed with the check.
   */
  async verify(body: unknown, { signReceipt = true } = {}): Promise<{ candidate: Candidate; refusal?: RejectionError }> {
    const { reading, signature } = parseSubmittedReading(body);
    const { digester, maxClockSkewSeconds, now, intakeWindow } = this.#options;
    if (intakeWindow !== undefined) {
      // Before the signature check, like admission's FUTURE_TIMESTAMP: a reading that could not be valid
      // when anchored is refused cheaply (TIMESTAMP_TOO_OLD, FUTURE_TIMESTAMP).
      const time = checkIntakeTime({
        timestamp: reading.timestamp,
        nowSeconds: BigInt(Math.floor(now() / 1000)),
        maxAnchorDelay: intakeWindow.maxAnchorDelay(),
        marginSeconds: BigInt(intakeWindow.marginSeconds),
        maxClockSkewSeconds: BigInt(maxClockSkewSeconds),
      });
      if (!time.ok) throw new RejectionError(time.code, time.message, time.details);
    }
    const pool = this.#options.signatures;
    const candidate: Candidate = {
      device: reading.device,
      seq: Number(reading.seq),
      timestamp: Number(reading.timestamp),
      dataHash: reading.dataHash,
      signature,
    };
    const receipts = this.#options.receipts;
    const receipt = pool === undefined || receipts === undefined || !signReceipt ? undefined : receipts.prepare(candidate);
    let receiptSignature: Uint8Array | undefined;
    const verdict = await admitReading({
      reading,
      signature,
      registry: this.#registry,
      digester,
      nowMs: now(),
      maxClockSkewSeconds,
      ...(pool === undefined
        ? {}
        : {
            verifySignature: async (device: IndexedDevice, digest: Uint8Array, sig: Uint8Array | Hex) => {
              const answer = await pool.check({
                scheme: device.scheme,
                publicKey: device.publicKey,
                digest,
                signature: hexOrBytes(sig),
                ...(receipt === undefined ? {} : { thenSign: { privateKey: receipts!.privateKey, digest: receipt.digest } }),
              });
              receiptSignature = answer.signature;
              return answer.ok;
            },
          }),
    });
    if (receipt !== undefined && receiptSignature !== undefined)
      candidate.receipt = { deadline: receipt.deadline, signature: bytesToHex(receiptSignature) };
    if (verdict.ok) return { candidate };
    const refusal = new RejectionError(verdict.code, verdict.message, verdict.details);
    if (!verdict.authentic) throw refusal;
    return { candidate, refusal };
  }
}

const hexOrBytes = (value: Uint8Array | Hex): Uint8Array => (typeof value === "string" ? hexToBytes(value) : value);

/** The outcome of one candidate after the sequence check. */
export type IntakeResult = AcceptOutcome;

/** Makes the receipts of newly accepted readings, all of a commit's at once (see receipts.ts). */
export type SignReceipts = (fresh: readonly Candidate[]) => StoredReceipt[] | Promise<StoredReceipt[]>;

/**
 * Queues candidates durably with group commit (oracle/service/group-commit.ts): concurrent requests
 * share one store transaction (one fsync), run one after the other, so sequence checks never race.
 * A promise resolves only after its transaction committed.
 *
 * @example
 * const writer = new IntakeWriter(store, receipts.signAll);
 * const [outcome] = await writer.submit([candidate]); // { kind: "accepted", receipt }
 */
export class IntakeWriter extends GroupCommit<Candidate, AcceptOutcome> {
  constructor(store: RelayerStore, sign: SignReceipts, maxGroup = 5000) {
    super((candidates, committed) => store.acceptReadings(candidates, sign, Date.now(), committed), { maxGroup });
  }
}
