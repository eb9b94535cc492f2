/**
 * The reward rules: a pure, deterministic function from what the audit chain anchored (a batch's
 * manifest, the registry as of the anchoring block, and what earlier batches left behind) to reward
 * entitlements. Independent oracles that see the same chain compute the same ledger, hence the same root.
 *
 * Rules v1:
 * - a batch counts only if `keccak256(manifest) = manifestHash` and the rebuilt root and leaf count
 *   equal the anchored ones, on this audit chain's domain;
 * - a reading counts only if its signature verifies with the device's registered key, the device
 *   was Active at the reading's timestamp and not Revoked at or before the anchoring block (the
 *   registry as of the anchoring block: later changes never alter an old verdict), and its `seq` is
 *   above every seq already seen for the device (duplicates and replays earn nothing);
 * - within a batch a device's readings are taken in ascending seq; batches in chain order;
 * - a counted reading earns `rewardPerReading` (1e18 wei) for the device's beneficiary if its UTC
 *   minute (`floor(timestamp / 60)`) is after the device's last rewarded minute: at most one
 *   rewarded reading per device per minute (a clock going backwards earns nothing).
 *
 * @module
 */
import type { Address } from "viem";

import type { IndexedDevice } from "../chain/registry-index.js";
import { hexToBytes } from "../core/bytes.js";
import { DeviceStatus, revokedAsOf, statusAsOf } from "../core/device-status.js";
import { authenticateManifest, type AnchoredBatch as ChainBatch, type ManifestIssue } from "../core/anchored-batch.js";
import { verifyDeviceSignature } from "../core/keys.js";
import type { Manifest } from "../core/manifest.js";
import type { ReadingDigester } from "../core/reading.js";

/** A versioned reward rule set. */
export interface RewardRules {
  /** Goes into every oracle message (`rulesVersion`). */
  version: number;
  /** Wei per rewarded reading. */
  rewardPerReading: bigint;
}

/** Rules v1: 1e18 wei per verified reading, at most one per device per UTC minute. */
export const RULES_V1: RewardRules = Object.freeze({ version: 1, rewardPerReading: 10n ** 18n });

/** Why a whole batch earns nothing. */
export type BatchRejection = "INVALID_MANIFEST" | "WRONG_DOMAIN" | "ROOT_MISMATCH" | "LEAF_COUNT_MISMATCH";

/** Why one reading earns nothing. */
export type ReadingRejection =
  "UNKNOWN_DEVICE" | "INVALID_SIGNATURE" | "DEVICE_NOT_ACTIVE" | "DEVICE_REVOKED" | "DUPLICATE_SEQUENCE" | "SAME_MINUTE" | BatchRejection;

/** What earlier batches left behind for one device. */
export interface DeviceRewardState {
  /** Highest seq counted so far. */
  lastSeq: bigint;
  /** UTC minute of the last rewarded reading (−1: none). */
  lastMinute: bigint;
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

/** What a batch earns. */
export interface BatchEvaluation {
  status: "verified" | "rejected";
  reason?: BatchRejection;
  rewards: RewardItem[];
  rejected: { device: Address; seq: bigint; reason: ReadingRejection }[];
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
export function checkManifest(
  bytes: Uint8Array,
  anchored: AnchoredBatch,
  domain: { chainId: number; anchor: Address },
): { manifest: Manifest } | { reason: BatchRejection } {
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

/**
 * Applies the rules to one anchored batch whose manifest bytes hash to `anchored.manifestHash`.
 * Mutates `state` (per device: last seq and last rewarded minute) as later batches must see it.
 *
 * @example
 * const state = new Map<string, DeviceRewardState>();
 * const result = evaluateBatch({ manifestBytes, anchored, domain: { chainId: 31337, anchor }, digester,
 *   registry: index, state, rules: RULES_V1 });
 * result.rewards; // [{ device, seq, timestamp, beneficiary, amount: 10n ** 18n }, …]
 */
export function evaluateBatch(input: {
  manifestBytes: Uint8Array;
  anchored: AnchoredBatch;
  domain: { chainId: number; anchor: Address };
  digester: ReadingDigester;
  registry: RegistryLookup;
  /** Keyed by lowercase device address. */
  state: Map<string, DeviceRewardState>;
  rules: RewardRules;
}): BatchEvaluation {
  const { anchored, registry, state, rules, digester } = input;
  const checked = checkManifest(input.manifestBytes, anchored, input.domain);
  if ("reason" in checked) return { status: "rejected", reason: checked.reason, rewards: [], rejected: [] };

  const items = [...checked.manifest.items].sort((a, b) => {
    const da = a.reading.device.toLowerCase();
    const db = b.reading.device.toLowerCase();
    if (da !== db) return da < db ? -1 : 1;
    return a.reading.seq < b.reading.seq ? -1 : a.reading.seq > b.reading.seq ? 1 : 0;
  });
  const rewards: RewardItem[] = [];
  const rejected: BatchEvaluation["rejected"] = [];
  for (const { reading, signature } of items) {
    const reject = (reason: ReadingRejection) => rejected.push({ device: reading.device, seq: reading.seq, reason });
    const device = registry.device(reading.device);
    if (device === undefined || statusAsOf(device, BigInt(Number.MAX_SAFE_INTEGER), anchored.blockNumber) === DeviceStatus.Unknown) {
      reject("UNKNOWN_DEVICE");
      continue;
    }
    const valid = verifyDeviceSignature({
      scheme: device.scheme,
      publicKey: device.publicKey,
      digest: digester.digest(reading),
      signature: hexToBytes(signature),
    });
    if (!valid) {
      reject("INVALID_SIGNATURE");
      continue;
    }
    if (statusAsOf(device, reading.timestamp, anchored.blockNumber) !== DeviceStatus.Active) {
      reject("DEVICE_NOT_ACTIVE");
      continue;
    }
    if (revokedAsOf(device, anchored.blockNumber)) {
      reject("DEVICE_REVOKED");
      continue;
    }
    const key = reading.device.toLowerCase();
    const s = state.get(key) ?? { lastSeq: 0n, lastMinute: -1n };
    if (reading.seq <= s.lastSeq) {
      reject("DUPLICATE_SEQUENCE");
      continue;
    }
    s.lastSeq = reading.seq;
    const minute = reading.timestamp / 60n;
    if (minute <= s.lastMinute) {
      state.set(key, s);
      reject("SAME_MINUTE");
      continue;
    }
    s.lastMinute = minute;
    state.set(key, s);
    rewards.push({
      device: reading.device,
      seq: reading.seq,
      timestamp: reading.timestamp,
      beneficiary: device.beneficiary,
      amount: rules.rewardPerReading,
    });
  }
  return { status: "verified", rewards, rejected };
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
