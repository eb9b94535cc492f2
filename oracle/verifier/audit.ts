/**
 * Full-batch audit, pure apart from the signature pool: given what the chain says of a batch
 * (root, manifest hash, leaf count, anchoring time) and the manifest bytes from anywhere, rebuild
 * the tree, compare, and recheck every signature and device status.
 *
 * @module
 */
import { getAddress, type Address, type Hex } from "viem";

import { hexToBytes } from "../core/bytes.js";
import { keccak256Hex } from "../core/keccak.js";
import { buildBatch, parseManifest, type Batch, type Manifest } from "../core/manifest.js";
import { ReadingDigester, type Reading } from "../core/reading.js";
import type { DeviceKey, SignaturePool } from "./pool.js";
import { verifySignaturesInline } from "./pool.js";
import {
  BatchIssue,
  countStatuses,
  finish,
  ReadingStatus,
  type BatchResult,
  type Problem,
  type ReadingResult,
} from "./types.js";

/** `ReadingAnchor.MAX_CLOCK_SKEW`: a reading may be at most this far ahead of its batch's anchoring. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** Device status numbers of IDeviceRegistry.sol. */
const ACTIVE = 1;
const REVOKED = 3;
const STATUS_NAMES = ["unknown", "active", "suspended", "revoked", "rotated"];

/** What the verifier needs of the registry (a started `RegistryIndex` fits). */
export interface DeviceDirectory {
  device(device: Address): DeviceKey | undefined;
  statusAt(device: Address, timestamp: number | bigint): number;
}

/** A batch as the chain records it (`getBatch` + its `BatchAnchored` log). */
export interface AnchoredBatch {
  batchId: number;
  root: Hex;
  manifestHash: Hex;
  leafCount: number;
  anchoredAt: number;
  blockNumber: number;
  txHash?: Hex;
}

/** Parameters of {@link auditManifest}. */
export interface AuditManifestParameters {
  batch: AnchoredBatch;
  /** The manifest bytes (from the relayer or any mirror), or undefined when none could be found. */
  manifestBytes: Uint8Array | undefined;
  /** The audit chain's id and ReadingAnchor: the domain every signature must be on. */
  chainId: number;
  anchor: Address;
  directory: DeviceDirectory;
  /** Parallel signature checks; without it they run on the calling thread. */
  pool?: SignaturePool;
  onProgress?: (done: number, total: number) => void;
}

/** The audit of one batch, with the parsed manifest when it could be parsed. */
export interface ManifestAudit {
  result: BatchResult;
  manifest?: Manifest;
  /** The batch rebuilt from the manifest (tree, leaves, proofs in manifest order). */
  built?: Batch;
  /** True when the manifest is authenticated by the chain (hash, root, leaf count, domain). */
  authentic: boolean;
}

/**
 * Audits one anchored batch from its manifest: `keccak256(bytes)` = anchored manifest hash,
 * `buildBatch(parseManifest(bytes))` gives the anchored root and leaf count, domain = this chain and
 * anchor, then for every reading: signature by the registered key, device Active at the reading's
 * time, not Revoked at the anchoring time, timestamp ≤ anchoredAt + 300 s.
 *
 * @example
 * const { result } = await auditManifest({ batch, manifestBytes, chainId: 31337, anchor, directory: registryIndex });
 * result.ok; // true when every check passed
 */
export async function auditManifest(p: AuditManifestParameters): Promise<ManifestAudit> {
  const { batch } = p;
  const issues: BatchResult["issues"] = [];
  const base = {
    batchId: batch.batchId,
    root: batch.root,
    manifestHash: batch.manifestHash,
    leafCount: batch.leafCount,
    anchoredAt: batch.anchoredAt,
    blockNumber: batch.blockNumber,
    ...(batch.txHash === undefined ? {} : { txHash: batch.txHash }),
  };
  const fail = (): ManifestAudit => ({ result: { ...base, ok: false, issues, readings: [], counts: countStatuses([]) }, authentic: false });
  if (p.manifestBytes === undefined) {
    issues.push({ issue: BatchIssue.MANIFEST_MISSING, message: `no manifest found for batch ${batch.batchId}` });
    return fail();
  }
  if (p.manifestBytes.length > 1_000_000) p.pool?.warm();
  const bytesHash = keccak256Hex(p.manifestBytes);
  if (bytesHash !== batch.manifestHash.toLowerCase())
    issues.push({
      issue: BatchIssue.MANIFEST_HASH_MISMATCH,
      message: "keccak256(manifest) is not the anchored manifest hash",
      details: { anchored: batch.manifestHash, actual: bytesHash },
    });
  let manifest: Manifest;
  try {
    manifest = parseManifest(p.manifestBytes);
  } catch (error) {
    issues.push({ issue: BatchIssue.MANIFEST_INVALID, message: `manifest does not parse: ${(error as Error).message}` });
    return fail();
  }
  if (manifest.chainId !== p.chainId || manifest.anchor !== getAddress(p.anchor))
    issues.push({
      issue: BatchIssue.DOMAIN_MISMATCH,
      message: "manifest is for another chain or anchor",
      details: { chainId: manifest.chainId, anchor: manifest.anchor },
    });
  const rebuilt = buildBatch(manifest);
  if (rebuilt.manifestHash !== bytesHash)
    issues.push({ issue: BatchIssue.MANIFEST_INVALID, message: "manifest bytes are not in leaf order (rebuild gives other bytes)" });
  if (rebuilt.root !== batch.root.toLowerCase())
    issues.push({ issue: BatchIssue.ROOT_MISMATCH, message: "manifest does not rebuild the anchored root", details: { anchored: batch.root, rebuilt: rebuilt.root } });
  if (rebuilt.leafCount !== batch.leafCount)
    issues.push({ issue: BatchIssue.LEAF_COUNT_MISMATCH, message: "leaf count differs", details: { anchored: batch.leafCount, manifest: rebuilt.leafCount } });
  const authentic = issues.length === 0;

  // Signatures: digests on this chain's domain (not the manifest's), keys from the registry.
  const n = manifest.items.length;
  const digester = new ReadingDigester(p.chainId, getAddress(p.anchor));
  const keys: DeviceKey[] = [];
  const keyOf = new Map<string, number>();
  const digests = new Uint8Array(n * 32);
  const signatures = new Uint8Array(n * 65);
  const sigLens = new Uint8Array(n);
  const keyIndex = new Uint32Array(n).fill(0xffffffff);
  for (let i = 0; i < n; i++) {
    const { reading, signature } = manifest.items[i];
    digests.set(digester.digest(reading), i * 32);
    const sig = hexToBytes(signature);
    signatures.set(sig, i * 65);
    sigLens[i] = sig.length;
    let k = keyOf.get(reading.device);
    if (k === undefined) {
      const key = p.directory.device(reading.device);
      k = key === undefined ? 0xffffffff : keys.push({ scheme: key.scheme, publicKey: key.publicKey }) - 1;
      keyOf.set(reading.device, k);
    }
    keyIndex[i] = k;
  }
  const job = { keys, digests, signatures, sigLens, keyIndex };
  const progress = p.onProgress === undefined ? undefined : (done: number) => p.onProgress!(done, n);
  const ok = p.pool === undefined ? verifySignaturesInline(job) : await p.pool.verify(job, progress);

  const readings: ReadingResult[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const { reading } = manifest.items[i];
    const problems = readingProblems(reading, ok[i] === 1, keyIndex[i] !== 0xffffffff, batch, p.directory);
    if (!authentic)
      problems.push({
        status: ReadingStatus.MANIFEST_MISMATCH,
        message: `batch ${batch.batchId} does not match its manifest (${issues.map((x) => x.issue).join(", ")})`,
      });
    readings[i] = finish({
      device: reading.device,
      seq: Number(reading.seq),
      timestamp: Number(reading.timestamp),
      problems,
      anchoredDataHash: reading.dataHash,
      anchor: { ...anchorInfo(batch), leaf: rebuilt.leaves[i] },
    });
  }
  const counts = countStatuses(readings);
  return {
    result: { ...base, ok: authentic && counts.VERIFIED === n, issues, readings, counts },
    manifest,
    built: rebuilt,
    authentic,
  };
}

function anchorInfo(batch: AnchoredBatch) {
  return {
    batchId: batch.batchId,
    root: batch.root,
    manifestHash: batch.manifestHash,
    anchoredAt: batch.anchoredAt,
    blockNumber: batch.blockNumber,
    ...(batch.txHash === undefined ? {} : { txHash: batch.txHash }),
  };
}

/**
 * The signature and status problems of an anchored reading (as `ReadingAnchor.verifyReading`
 * judges it, from the registry directory).
 *
 * @example readingProblems(reading, true, true, batch, registryIndex); // [] when fine
 */
export function readingProblems(
  reading: Reading,
  signatureOk: boolean,
  registered: boolean,
  batch: Pick<AnchoredBatch, "anchoredAt">,
  directory: DeviceDirectory,
): Problem[] {
  const problems: Problem[] = [];
  if (!registered) {
    problems.push({ status: ReadingStatus.DEVICE_NOT_ACTIVE, message: "device is not in the registry" });
    problems.push({ status: ReadingStatus.BAD_SIGNATURE, message: "no registered key to check the signature" });
    return problems;
  }
  if (!signatureOk) problems.push({ status: ReadingStatus.BAD_SIGNATURE, message: "signature is not by the device's registered key" });
  const ts = Number(reading.timestamp);
  const atReading = directory.statusAt(reading.device, reading.timestamp);
  if (atReading !== ACTIVE)
    problems.push({
      status: ReadingStatus.DEVICE_NOT_ACTIVE,
      message: `device was ${STATUS_NAMES[atReading] ?? atReading} at the reading's time`,
      details: { at: ts, status: STATUS_NAMES[atReading] },
    });
  if (directory.statusAt(reading.device, batch.anchoredAt) === REVOKED)
    problems.push({
      status: ReadingStatus.DEVICE_NOT_ACTIVE,
      message: "device was revoked at or before the batch's anchoring",
      details: { anchoredAt: batch.anchoredAt },
    });
  if (ts > batch.anchoredAt + MAX_CLOCK_SKEW_SECONDS)
    problems.push({
      status: ReadingStatus.DEVICE_NOT_ACTIVE,
      message: `reading timestamp is more than ${MAX_CLOCK_SKEW_SECONDS} s after its batch's anchoring`,
      details: { timestamp: ts, anchoredAt: batch.anchoredAt },
    });
  return problems;
}

