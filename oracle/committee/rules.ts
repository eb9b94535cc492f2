/**
 * The reward rules: a pure, deterministic function from what the audit chain anchored (a batch's
 * manifest, the registry as of the anchoring block, and what earlier batches left behind) to reward
 * entitlements. Independent oracles that see the same chain compute the same ledger, hence the same root.
 *
 * Rules v2 (docs/TRUST-MODEL.md §0, §1, §5, §7):
 * - readings come from anchored batches (in chain order, within a batch in leaf order) and from direct
 *   submissions (`ReadingSubmitted`, in the same block/log order); a batch counts only if its manifest
 *   authenticates (hash, domain, leaf count, rebuilt root) — an EXCLUDED batch (manifest unavailable
 *   within D blocks) earns nothing and is not seen;
 * - a reading counts only if its signature verifies with the device's registered key and it passes the
 *   one timestamp rule (`judgeReadingTime`: not dated after its anchoring beyond 300 s, anchored within
 *   `maxAnchorDelayAt(anchoredAt)` of its time, the device Active at its time and not Revoked at its
 *   anchoring), with the registry as of the block where the epoch is judged (compromise included);
 * - a counted reading earns `rewardPerReading` (1e18 wei) for the device's beneficiary iff its
 *   `(device, seq)` has not earned before and its `(device, floor(t / 60))` minute has not earned
 *   before — whatever the order of seqs (a lower seq anchored later still earns).
 *
 * @module
 */
import type { Address } from "viem";

import type { IndexedDevice } from "../chain/registry-index.js";
import { DeviceStatus, statusAsOf } from "../core/device-status.js";
import { authenticateManifest, type AnchoredBatch as ChainBatch, type ManifestIssue } from "../core/anchored-batch.js";
import { verifyDeviceSignatures, type VerifyDeviceSignatureParameters } from "../core/keys.js";
import type { BatchItem, Manifest } from "../core/manifest.js";
import type { Reading, ReadingDigester } from "../core/reading.js";
import { judgeReadingTime, type ReadingTimeCode } from "../core/reading-time.js";

/** A versioned reward rule set. */
export interface RewardRules {
  /** Goes into every oracle message (`rulesVersion`). */
  version: number;
  /** Wei per rewarded reading. */
  rewardPerReading: bigint;
}

/** Rules v2: 1e18 wei per valid reading, each (device, seq) once, at most one per device per UTC minute. */
export const RULES_V2: RewardRules = Object.freeze({ version: 2, rewardPerReading: 10n ** 18n });

/** Why a whole batch earns nothing (EXCLUDED: its manifest was not retrievable within D blocks). */
export type BatchRejection = "INVALID_MANIFEST" | "WRONG_DOMAIN" | "ROOT_MISMATCH" | "LEAF_COUNT_MISMATCH" | "MANIFEST_UNAVAILABLE";

/** Why one reading earns nothing. */
export type ReadingRejection =
  "UNKNOWN_DEVICE" | "INVALID_SIGNATURE" | ReadingTimeCode | "DUPLICATE_SEQUENCE" | "SAME_MINUTE" | BatchRejection;

/** What earlier readings earned for one device (the dedup state). */
export interface DeviceRewardState {
  /** Seqs that earned. */
  seqs: Set<bigint>;
  /** UTC minutes that earned. */
  minutes: Set<bigint>;
}

/** The registry view the rules need (a `RegistryIndex` fits). */
export interface RegistryLookup {
  device(device: Address): IndexedDevice | undefined;
}

/** What the rules read of an anchored batch (oracle/core's `AnchoredBatch` has it). */
export type AnchoredBatch = Pick<ChainBatch, "batchId" | "root" | "manifestHash" | "leafCount" | "blockNumber">;

/** One reward. */
export interface RewardItem {
  device: Address;
  seq: bigint;
  timestamp: bigint;
  beneficiary: Address;
  amount: bigint;
}

/** What a batch (or a direct submission) earns. */
export interface BatchEvaluation {
  status: "verified" | "rejected" | "excluded";
  reason?: BatchRejection;
  rewards: RewardItem[];
  rejected: { device: Address; seq: bigint; reason: ReadingRejection }[];
}

/** How a set of readings is judged: when it was anchored, and the registry as of the judging block. */
export interface JudgeContext {
  /** Block timestamp of the anchoring (batch) or of the direct submission. */
  anchoredAt: bigint;
  /** `maxAnchorDelayAt(anchoredAt)`. */
  maxAnchorDelay: bigint;
  /** The block as of which the registry is read (the epoch's `toBlock`). */
  judgeBlock: bigint;
  digester: ReadingDigester;
  registry: RegistryLookup;
  /** Keyed by lowercase device address; mutated as later readings must see it. */
  state: Map<string, DeviceRewardState>;
  rules: RewardRules;
}

/**
 * Checks a manifest against what was anchored with the shared authentication
 * (oracle/core/anchored-batch.ts: hash, version, domain, leaf count, leaf order, rebuilt root).
 * Returns the parsed manifest, or why the batch earns nothing. Throws nothing.
 *
 * @example
 * const checked = checkManifest(bytes, anchored, { chainId: 31337, anchor });
 * if ("manifest" in checked) checked.manifest.items.length;
 */
export function checkManifest(bytes: Uint8Array, anchored: AnchoredBatch, domain: { chainId: number; anchor: Address }): CheckedManifest {
  const auth = authenticateManifest(bytes, anchored, domain);
  return auth.ok ? { manifest: auth.manifest } : { reason: BATCH_REJECTION[auth.reason] };
}

/** The rules' name of each manifest authentication failure. */
const BATCH_REJECTION: Record<ManifestIssue, BatchRejection> = {
  MANIFEST_HASH_MISMATCH: "INVALID_MANIFEST",
  MANIFEST_INVALID: "INVALID_MANIFEST",
  DOMAIN_MISMATCH: "WRONG_DOMAIN",
  LEAF_COUNT_MISMATCH: "LEAF_COUNT_MISMATCH",
  ROOT_MISMATCH: "ROOT_MISMATCH",
};

/** A manifest checked against what was anchored ({@link checkManifest}'s answer). */
export type CheckedManifest = { manifest: Manifest } | { reason: BatchRejection };

/**
 * Applies the rules to one anchored batch, its manifest checked by {@link checkManifest} (readings in
 * leaf order). Mutates `judge.state`.
 *
 * @example
 * const result = evaluateBatch(checkManifest(manifestBytes, anchored, { chainId: 31337, anchor }),
 *   { anchoredAt, maxAnchorDelay: 86_400n, judgeBlock, digester, registry: index, state: new Map(), rules: RULES_V2 });
 * result.rewards; // [{ device, seq, timestamp, beneficiary, amount: 10n ** 18n }, …]
 */
export function evaluateBatch(checked: CheckedManifest, judge: JudgeContext): BatchEvaluation {
  if ("reason" in checked) return { status: "rejected", reason: checked.reason, rewards: [], rejected: [] };
  return evaluateReadings(checked.manifest.items, judge);
}

/** A batch whose manifest was not retrievable within D blocks: earns nothing, its readings are not seen. */
export function excludedBatch(): BatchEvaluation {
  return { status: "excluded", reason: "MANIFEST_UNAVAILABLE", rewards: [], rejected: [] };
}

/**
 * Applies the rules to readings anchored together, in the given order (a batch's leaf order, or one
 * direct submission). Mutates `judge.state`.
 */
export function evaluateReadings(items: readonly BatchItem[], judge: JudgeContext): BatchEvaluation {
  // Every signature of the set is checked in one call (the P-256 ones share their modular inversions,
  // about 1.5× faster than one by one); the rules then run in order with the answers.
  const devices = items.map(({ reading }) => knownDevice(reading.device, judge));
  const checks: VerifyDeviceSignatureParameters[] = [];
  const checked: number[] = [];
  items.forEach(({ reading, signature }, i) => {
    const device = devices[i];
    if (device === undefined) return;
    checks.push({ scheme: device.scheme, publicKey: device.publicKey, digest: judge.digester.digest(reading), signature });
    checked.push(i);
  });
  const authentic = new Array<boolean>(items.length).fill(false);
  verifyDeviceSignatures(checks).forEach((valid, k) => (authentic[checked[k]] = valid));

  const rewards: RewardItem[] = [];
  const rejected: BatchEvaluation["rejected"] = [];
  items.forEach(({ reading }, i) => {
    const reason = judgeReading(reading, devices[i], authentic[i], judge);
    if (typeof reason === "string") rejected.push({ device: reading.device, seq: reading.seq, reason });
    else rewards.push(reason);
  });
  return { status: "verified", rewards, rejected };
}

/** The device's registry entry as of the judging block; undefined when it is not registered then. */
function knownDevice(address: Address, judge: JudgeContext): IndexedDevice | undefined {
  const device = judge.registry.device(address);
  if (device === undefined || statusAsOf(device, BigInt(Number.MAX_SAFE_INTEGER), judge.judgeBlock) === DeviceStatus.Unknown)
    return undefined;
  return device;
}

/** One reading's verdict, given its registry entry and whether its signature verifies with that key. */
function judgeReading(
  reading: Reading,
  device: IndexedDevice | undefined,
  authentic: boolean,
  judge: JudgeContext,
): RewardItem | ReadingRejection {
  if (device === undefined) return "UNKNOWN_DEVICE";
  if (!authentic) return "INVALID_SIGNATURE";
  const time = judgeReadingTime({
    timestamp: reading.timestamp,
    anchoredAt: judge.anchoredAt,
    maxAnchorDelay: judge.maxAnchorDelay,
    statusAt: (t) => statusAsOf(device, t, judge.judgeBlock),
  });
  if (!time.ok) return time.code;
  const key = reading.device.toLowerCase();
  const s = judge.state.get(key) ?? { seqs: new Set<bigint>(), minutes: new Set<bigint>() };
  judge.state.set(key, s);
  if (s.seqs.has(reading.seq)) return "DUPLICATE_SEQUENCE";
  const minute = reading.timestamp / 60n;
  if (s.minutes.has(minute)) return "SAME_MINUTE";
  s.seqs.add(reading.seq);
  s.minutes.add(minute);
  return {
    device: reading.device,
    seq: reading.seq,
    timestamp: reading.timestamp,
    beneficiary: device.beneficiary,
    amount: judge.rules.rewardPerReading,
  };
}

/**
 * The audit-chain block range of an epoch: epoch `e` (from 1) covers
 * `[startBlock + (e − 1)·epochBlocks, startBlock + e·epochBlocks − 1]`.
 *
 * @example epochRange(2n, { startBlock: 0n, epochBlocks: 10n }); // { fromBlock: 10n, toBlock: 19n }
 */
export function epochRange(epoch: bigint, cut: { startBlock: bigint; epochBlocks: bigint }): { fromBlock: bigint; toBlock: bigint } {
  const fromBlock = cut.startBlock + (epoch - 1n) * cut.epochBlocks;
  return { fromBlock, toBlock: fromBlock + cut.epochBlocks - 1n };
}
