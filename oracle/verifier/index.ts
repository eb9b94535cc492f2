/**
 * The verifier library: what other parts (the auditor, the dashboard, scripts) import. Names exported
 * here stay stable; new ones are added, none renamed or removed.
 *
 * @example
 * import { Verifier, ReadingVerdict } from "../verifier/index.js";
 * const verifier = await Verifier.create({ rpc: "http://127.0.0.1:8545", anchor });
 * const report = await verifier.verifyAll();
 * report.counts[ReadingVerdict.VERIFIED];
 * await verifier.close();
 *
 * @module
 */
export { Verifier, type Progress, type VerifierOptions } from "./verifier.js";
export {
  BatchIssue,
  countStatuses,
  emptyCounts,
  finish,
  OK_STATUSES,
  ReadingVerdict,
  STATUS_PRIORITY,
  VerifierError,
  type AnchorInfo,
  type BatchResult,
  type Problem,
  type ReadingResult,
  type Report,
} from "./types.js";
export { checkBundleOnChain, exportBundle, type BundleCheckResult, type BundleVerdict } from "./bundle.js";
export {
  censorshipProblem,
  parseReceipts,
  readRelayerRegistrations,
  type CensorshipContext,
  type ReceiptEvidence,
  type RelayerRegistration,
} from "./censorship.js";
export { directInfo, directProblems, readDirectSubmissions, type DirectEntry, type DirectInfo } from "./direct.js";
export { auditManifest, type DeviceDirectory, type ManifestAudit } from "./audit.js";
export { fetchManifest, maxManifestBytes, type ManifestFetchFailure, type ManifestFetchResult } from "./manifest-fetch.js";
export { verifyReadingOnChain, type ContractVerdict } from "./contract-verdict.js";
export {
  ChainReader,
  PlatformClient,
  RelayerClient,
  type PlatformEquivocation,
  type PlatformReading,
  type RelayerReading,
} from "./sources.js";
export { SignaturePool, type DeviceKey } from "./pool.js";
export { report } from "./report.js";
export { checkAnyBundleOnChain, exportAnyBundle } from "./evidence-bundle.js";
export { inFlightUntil, pendingProblem, type ChainClock } from "./in-flight.js";
export { judgeReading, type JudgeInput } from "./judge.js";
export { Sightings, readingKey, type AnchoredOccurrence, type UnavailableBatch } from "./sightings.js";
export { DeviceSignatures, type PayloadInfo } from "./device-signatures.js";
export { exportBundleSet, type BundleRef } from "./bundle-set.js";
export { fetchBatchPayloads, precheckPayloads, PrecheckedSignatures, type BatchVerdicts } from "./batch-verdicts.js";
