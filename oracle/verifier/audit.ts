/**
 * Full-batch audit, pure apart from the signature pool: given what the chain says of a batch
 * (root, manifest hash, leaf count, anchoring time) and the manifest bytes from anywhere, rebuild
 * the tree, compare, and recheck every signature and device status.
 *
 * @module
 */
import { getAddress, type Address } from "viem";

import { authenticateManifest, type AnchoredBatch } from "../core/anchored-batch.js";
import { hexToBytes } from "../core/bytes.js";
import type { DeviceStatus } from "../core/device-status.js";
import type { Batch, Manifest } from "../core/manifest.js";
import { ReadingDigester, type Reading } from "../core/reading.js";
import { judgeReadingTime, type ReadingTimeCode } from "../core/reading-time.js";
import { NO_KEY, packedJob, verifySignaturesInline, type DeviceKey, type SignatureJob, type SignaturePool } from "./pool.js";
import { BatchIssue, countStatuses, finish, ReadingVerdict, type BatchResult, type Problem, type ReadingResult } from "./types.js";

/** What the verifier needs of the registry (a started `RegistryIndex` fits). */
export interface DeviceDirectory {
  device(device: Address): DeviceKey | undefined;
  statusAt(device: Address, timestamp: number | bigint): number;
}

export type { AnchoredBatch } from "../core/anchored-batch.js";

/** Parameters of {@link auditManifest}. */
export interface AuditManifestParameters {
  batch: AnchoredBatch;
  /** The manifest bytes (from the relayer or any mirror), or undefined when none could be found. */
  manifestBytes: Uint8Array | undefined;
  /** The audit chain's id and ReadingAnchor: the domain every signature must be on. */
  chainId: number;
  anchor: Address;
  directory: DeviceDirectory;
  /** `ReadingAnchor.maxAnchorDelayAt(batch.anchoredAt)`, seconds. */
  maxAnchorDelay: bigint;
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
  const base = batchInfo(batch);
  if (p.manifestBytes === undefined) {
    const issues = [{ issue: BatchIssue.MANIFEST_MISSING, message: `no manifest found for batch ${batch.batchId}` }];
    return {
      result: { ...base, leafCount: batch.leafCount, ok: false, issues, readings: [], counts: countStatuses([]) },
      authentic: false,
    };
  }
  if (p.manifestBytes.length > 1_000_000) p.pool?.warm();
  // The pool's workers check the signatures while this thread rebuilds the tree: the job is sent as
  // soon as the manifest parses. Without a pool, they are checked after the rebuild, as before.
  // (What preparing the job throws is thrown where it was before: only once the manifest rebuilt.)
  let signatureJob: { job: AuditJob; checked?: Promise<Uint8Array> } | { error: unknown } | undefined;
  const auth = authenticateManifest(p.manifestBytes, batch, { chainId: p.chainId, anchor: p.anchor }, (parsed) => {
    try {
      const job = signatureJobOf(parsed, p);
      const n = parsed.items.length;
      const progress = p.onProgress === undefined ? undefined : (done: number) => p.onProgress!(done, n);
      signatureJob = { job, ...(p.pool === undefined ? {} : { checked: p.pool.verify(job, progress) }) };
    } catch (error) {
      signatureJob = { error };
    }
  });
  const issues: BatchResult["issues"] = auth.ok ? [] : auth.problems;
  if (auth.manifest === undefined || auth.built === undefined || signatureJob === undefined) {
    if (signatureJob !== undefined && "checked" in signatureJob) await signatureJob.checked?.catch(() => undefined); // unused: no rebuild
    return {
      result: { ...base, leafCount: batch.leafCount, ok: false, issues, readings: [], counts: countStatuses([]) },
      authentic: false,
    };
  }
  const { manifest, built: rebuilt } = auth;
  const authentic = auth.ok;
  const n = manifest.items.length;
  if ("error" in signatureJob) throw signatureJob.error;
  const { job, checked } = signatureJob;
  const { keyIndex } = job;

  const anchoring = { ...batch, maxAnchorDelay: p.maxAnchorDelay }; // one object for every reading
  const resultOf = (i: number, signatureOk: boolean): ReadingResult => {
    const { reading } = manifest.items[i];
    const problems = readingProblems(reading, signatureOk, keyIndex[i] !== NO_KEY, anchoring, p.directory);
    if (!authentic)
      problems.push({
        status: ReadingVerdict.MANIFEST_MISMATCH,
        message: `batch ${batch.batchId} does not match its manifest (${issues.map((x) => x.issue).join(", ")})`,
      });
    return finish({
      device: reading.device,
      seq: Number(reading.seq),
      timestamp: Number(reading.timestamp),
      problems,
      anchoredDataHash: reading.dataHash,
      anchor: { ...base, leaf: rebuilt.leaves[i] },
    });
  };
  const readings: ReadingResult[] = new Array(n);
  if (checked === undefined) {
    const ok = verifySignaturesInline(job);
    for (let i = 0; i < n; i++) readings[i] = resultOf(i, ok[i] === 1);
  } else {
    // While the workers still check: every result as if its signature were good, then the ones
    // whose signature is not made again (the same results, without a serial pass at the end).
    for (let i = 0; i < n; i++) readings[i] = resultOf(i, true);
    const ok = await checked;
    for (let i = 0; i < n; i++) if (ok[i] !== 1) readings[i] = resultOf(i, false);
  }
  const counts = countStatuses(readings);
  return {
    result: { ...base, leafCount: batch.leafCount, ok: authentic && counts.VERIFIED === n, issues, readings, counts },
    manifest,
    built: rebuilt,
    authentic,
  };
}

/** A manifest's signature job, with each item's key index (NO_KEY: the device is not registered). */
type AuditJob = SignatureJob & { keyIndex: Uint32Array };

/**
 * The signature checks of a parsed manifest: digests on this chain's domain (not the manifest's),
 * keys from the registry (an unknown device gets no key: a sure failure). Keys are looked up now
 * (`keyIndex`, also the audit's "registered"); digests and signatures are packed chunk by chunk as
 * the pool sends them.
 */
function signatureJobOf(manifest: Manifest, p: AuditManifestParameters): AuditJob {
  const { items } = manifest;
  const n = items.length;
  const digester = new ReadingDigester(p.chainId, getAddress(p.anchor));
  const keys: DeviceKey[] = [];
  const keyOf = new Map<string, number>();
  const keyIndex = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const { device } = items[i].reading;
    let k = keyOf.get(device);
    if (k === undefined) {
      const key = p.directory.device(device);
      k = key === undefined ? NO_KEY : keys.push({ scheme: key.scheme, publicKey: key.publicKey }) - 1;
      keyOf.set(device, k);
    }
    keyIndex[i] = k;
  }
  const job = packedJob(
    keys,
    keyIndex,
    (i) => digester.digest(items[i].reading),
    (i) => hexToBytes(items[i].signature),
  );
  return { ...job, keyIndex };
}

/** The batch's on-chain facts as the verifier's JSON results carry them (numbers, not bigints). */
function batchInfo(batch: AnchoredBatch) {
  return {
    batchId: Number(batch.batchId),
    root: batch.root,
    manifestHash: batch.manifestHash,
    anchoredAt: Number(batch.anchoredAt),
    blockNumber: Number(batch.blockNumber),
    ...(batch.txHash === undefined ? {} : { txHash: batch.txHash }),
  };
}

/** The verifier's status for each code of the one timestamp rule (oracle/core/reading-time.ts). */
export const TIME_VERDICTS: Record<ReadingTimeCode, Problem["status"]> = {
  FUTURE_TIMESTAMP: ReadingVerdict.INVALID_TIMESTAMP,
  ANCHORED_TOO_LATE: ReadingVerdict.INVALID_TIMESTAMP,
  DEVICE_NOT_ACTIVE: ReadingVerdict.DEVICE_NOT_ACTIVE,
  DEVICE_REVOKED: ReadingVerdict.DEVICE_REVOKED,
};

/**
 * The signature and time problems of an anchored reading, as `ReadingAnchor.verifyReading` judges it at
 * the latest block: the registered key's signature, then the one timestamp rule (`judgeReadingTime`)
 * with the registry directory's statuses (compromise honoured).
 *
 * @example readingProblems(reading, true, true, { anchoredAt, maxAnchorDelay: 86_400n }, registryIndex); // [] when fine
 */
export function readingProblems(
  reading: Reading,
  signatureOk: boolean,
  registered: boolean,
  anchoring: { anchoredAt: bigint; maxAnchorDelay: bigint },
  directory: DeviceDirectory,
): Problem[] {
  const problems: Problem[] = [];
  if (!registered) {
    problems.push({ status: ReadingVerdict.DEVICE_NOT_ACTIVE, message: "device is not in the registry" });
    problems.push({ status: ReadingVerdict.BAD_SIGNATURE, message: "no registered key to check the signature" });
    return problems;
  }
  if (!signatureOk) problems.push({ status: ReadingVerdict.BAD_SIGNATURE, message: "signature is not by the device's registered key" });
  const time = judgeReadingTime({
    timestamp: reading.timestamp,
    anchoredAt: anchoring.anchoredAt,
    maxAnchorDelay: anchoring.maxAnchorDelay,
    statusAt: (t) => directory.statusAt(reading.device, t) as DeviceStatus,
  });
  if (!time.ok) problems.push({ status: TIME_VERDICTS[time.code], message: time.message, details: { reason: time.code, ...time.details } });
  return problems;
}
