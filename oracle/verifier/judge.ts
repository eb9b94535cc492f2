/**
 * The verdict on one reading from everything the verifier gathered: where the chain holds it (an
 * audited batch, else a direct submission), the platform's raw payload, the platform's equivocation
 * evidence, and the chain's clock (for readings still in flight). Pure: no I/O.
 *
 * @module
 */
import type { Address } from "viem";

import type { Reading } from "../core/reading.js";
import type { DeviceDirectory } from "./audit.js";
import type { ReceiptEvidence } from "./censorship.js";
import type { DeviceSignatures, PayloadInfo } from "./device-signatures.js";
import { directInfo, directProblems } from "./direct.js";
import { pendingProblem, type ChainClock } from "./in-flight.js";
import type { AnchoredOccurrence, Sightings } from "./sightings.js";
import type { PlatformEquivocation, PlatformReading } from "./sources.js";
import { finish, ReadingVerdict, type Problem, type ReadingResult } from "./types.js";

/** What {@link judgeReading} judges one (device, seq) with. */
export interface JudgeInput {
  device: Address;
  seq: number;
  /** The platform's payload, if it has one. */
  raw: PlatformReading | undefined;
  equivocations: readonly PlatformEquivocation[];
  sightings: Sightings;
  signatures: DeviceSignatures;
  directory: DeviceDirectory;
  /** The device's relayer receipts for this seq. */
  receipts: readonly ReceiptEvidence[];
  /** The chain's time now; without it nothing is PENDING. */
  clock?: ChainClock;
}

/** Where the chain holds the reading. */
interface Located {
  reading: Reading;
  where: string;
}

/**
 * Judges one reading (CENSORED is added afterwards, from receipts: see ./censor.ts).
 *
 * @example
 * const result = judgeReading({ device, seq: 7, raw, equivocations: [], sightings, signatures, directory: registry, receipts: [] });
 * result.status; // "VERIFIED" or what is wrong
 */
export function judgeReading(input: JudgeInput): ReadingResult {
  const { device, seq, raw } = input;
  const problems: Problem[] = [];
  const payload = raw === undefined ? undefined : input.signatures.payloadInfo(raw);
  const result: Omit<ReadingResult, "status"> = { device, seq, problems };
  if (payload !== undefined) result.payloadHash = payload.hash;
  const entries = input.sightings.anchoredOf(device, seq);
  const best = bestOccurrence(entries, payload);
  // A batch holding the reading comes first; else a direct submission (TRUST-MODEL §5).
  const directs = best === undefined ? input.sightings.directOf(device, seq) : [];
  const direct = directs.find((d) => d.reading.dataHash === payload?.hash) ?? directs[0];
  let located: Located | undefined;
  if (best !== undefined) {
    located = { reading: best.reading, where: `batch ${best.audit.result.batchId}` };
    if (best.result.anchor !== undefined) result.anchor = best.result.anchor;
    problems.push(...best.result.problems);
  } else if (direct !== undefined) {
    located = { reading: direct.reading, where: `direct submission ${direct.log.txHash}` };
    result.direct = directInfo(direct);
    problems.push(...directProblems(direct, input.directory, (r, sig) => input.signatures.signed(r, sig)));
  }
  if (located === undefined) {
    if (payload !== undefined) {
      result.timestamp = raw!.ts;
      problems.push(...unanchoredProblems(input, payload));
    }
  } else {
    result.timestamp = Number(located.reading.timestamp);
    result.anchoredDataHash = located.reading.dataHash;
    problems.push(...payloadProblems(seq, located, payload));
  }
  const signedHashes = signedDataHashes(input, payload, entries);
  if (signedHashes.size > 1)
    problems.push({
      status: ReadingVerdict.EQUIVOCATION,
      message: `the device signed ${signedHashes.size} different payloads for seq ${seq}`,
      details: { dataHashes: [...signedHashes] },
    });
  if (direct?.signature !== undefined && input.signatures.signed(direct.reading, direct.signature))
    signedHashes.add(direct.reading.dataHash);
  if (located === undefined && payload === undefined && signedHashes.size === 0) problems.push(...missingProblems(input));
  return finish(result);
}

/** The occurrence to report: an authentic batch first, then one whose dataHash matches the payload. */
function bestOccurrence(entries: readonly AnchoredOccurrence[], payload: PayloadInfo | undefined): AnchoredOccurrence | undefined {
  const rank = (a: AnchoredOccurrence) =>
    (a.audit.authentic ? 0 : 2) + (payload !== undefined && a.reading.dataHash === payload.hash ? 0 : 1);
  return [...entries].sort((a, b) => rank(a) - rank(b))[0];
}

/** A payload nothing on chain holds: UNAVAILABLE (a batch of its window has no manifest), PENDING or NOT_ANCHORED. */
function unanchoredProblems(input: JudgeInput, payload: PayloadInfo): Problem[] {
  const problems: Problem[] = [];
  const t = BigInt(input.raw!.ts);
  const couldHold = input.sightings.unavailableFor(t);
  const pending =
    input.clock === undefined
      ? undefined
      : pendingProblem({ timestamp: t, dataHash: payload.hash, receipts: input.receipts, clock: input.clock });
  if (couldHold.length > 0)
    problems.push({
      status: ReadingVerdict.UNAVAILABLE,
      message: `not in any available manifest; batch(es) ${couldHold.map((u) => u.batchId).join(", ")} of its window have no manifest`,
      details: { batches: couldHold.map((u) => ({ batchId: u.batchId, reason: u.reason })) },
    });
  else if (pending !== undefined) problems.push(pending);
  else problems.push({ status: ReadingVerdict.NOT_ANCHORED, message: "no anchored batch holds this reading" });
  if (payload.reading === undefined || !payload.signed)
    problems.push({ status: ReadingVerdict.BAD_SIGNATURE, message: "the platform's payload is not signed by the device" });
  return problems;
}

/** The platform's payload against the anchored reading: RAW_MISSING, EQUIVOCATION or TAMPERED. */
function payloadProblems(seq: number, located: Located, payload: PayloadInfo | undefined): Problem[] {
  const anchored = located.reading;
  if (payload === undefined)
    return [{ status: ReadingVerdict.RAW_MISSING, message: `anchored in ${located.where} but the platform has no payload` }];
  if (payload.hash !== anchored.dataHash) {
    const details = { payloadHash: payload.hash, anchoredDataHash: anchored.dataHash };
    if (payload.signed && payload.reading!.seq === BigInt(seq))
      return [
        {
          status: ReadingVerdict.EQUIVOCATION,
          message: "the device signed the platform's payload and another anchored dataHash for this seq",
          details,
        },
      ];
    return [{ status: ReadingVerdict.TAMPERED, message: "keccak256(raw payload) is not the anchored dataHash", details }];
  }
  const r = payload.reading;
  if (r === undefined || r.device !== anchored.device || r.seq !== anchored.seq || r.timestamp !== anchored.timestamp)
    return [{ status: ReadingVerdict.TAMPERED, message: "the payload's device/seq/ts contradict the anchored reading" }];
  return [];
}

/** Equivocation evidence: the distinct dataHashes the device validly signed for this seq. */
function signedDataHashes(input: JudgeInput, payload: PayloadInfo | undefined, entries: readonly AnchoredOccurrence[]): Set<string> {
  const { device, seq } = input;
  const hashes = new Set<string>();
  if (payload?.signed && payload.reading!.seq === BigInt(seq)) hashes.add(payload.hash);
  for (const e of input.equivocations) {
    if (e.seq !== seq) continue;
    for (const r of [e.stored, e.conflicting]) {
      const info = input.signatures.payloadInfo(r);
      if (info.signed && info.reading!.device === device && info.reading!.seq === BigInt(seq)) hashes.add(info.hash);
    }
  }
  for (const a of entries) if (a.result.problems.every((p) => p.status !== ReadingVerdict.BAD_SIGNATURE)) hashes.add(a.reading.dataHash);
  return hashes;
}

/** Nothing anywhere for this seq: a SEQUENCE_GAP, unless a receipt says it is still in flight (PENDING). */
function missingProblems(input: JudgeInput): Problem[] {
  const pending =
    input.clock === undefined || input.receipts.length === 0
      ? undefined
      : pendingProblem({ timestamp: undefined, receipts: input.receipts, clock: input.clock });
  return [pending ?? { status: ReadingVerdict.SEQUENCE_GAP, message: `no reading with seq ${input.seq}` }];
}
