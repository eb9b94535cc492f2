/**
 * What the audit chain anchored of a batch, and the one rule that authenticates a manifest
 * against it: `keccak256(bytes)` = anchored manifest hash, the manifest is for this chain and
 * anchor, and `buildBatch(parseManifest(bytes))` gives the anchored leaf count, the same bytes
 * (leaf order) and the anchored root. The verifier and the committee's reward rules both use it.
 *
 * @module
 */
import { getAddress, type Address, type Hex } from "viem";

import { keccak256Hex } from "./keccak.js";
import { parseManifest, rebuildBatch, type Batch, type Manifest } from "./manifest.js";

/**
 * A batch as the chain records it (`getBatch` and its `BatchAnchored` log). On-chain integers are
 * bigints, as viem returns them.
 */
export interface AnchoredBatch {
  batchId: bigint;
  root: Hex;
  manifestHash: Hex;
  leafCount: number;
  /** The anchoring block. */
  blockNumber: bigint;
  /** The anchoring block's timestamp, seconds. */
  anchoredAt: bigint;
  /** The anchoring transaction, when read from the log. */
  txHash?: Hex;
  /** The account that anchored it (the event's `relayer`), when read from the log. */
  relayer?: Address;
}

/** Why a manifest does not authenticate against its anchored batch. */
export const ManifestIssue = {
  /** `keccak256(bytes)` is not the anchored manifest hash. */
  MANIFEST_HASH_MISMATCH: "MANIFEST_HASH_MISMATCH",
  /** The bytes do not parse as a manifest, do not build a batch, or are not in leaf order. */
  MANIFEST_INVALID: "MANIFEST_INVALID",
  /** The manifest is for another chain or anchor. */
  DOMAIN_MISMATCH: "DOMAIN_MISMATCH",
  /** The manifest's leaf count is not the anchored one. */
  LEAF_COUNT_MISMATCH: "LEAF_COUNT_MISMATCH",
  /** The manifest does not rebuild the anchored root. */
  ROOT_MISMATCH: "ROOT_MISMATCH",
} as const;
export type ManifestIssue = (typeof ManifestIssue)[keyof typeof ManifestIssue];

/** One thing wrong with a manifest, with the values that show it. */
export interface ManifestProblem {
  issue: ManifestIssue;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * The result of {@link authenticateManifest}: the manifest and the batch rebuilt from it, or the
 * first reason it does not authenticate (with every problem found, and what could be parsed).
 */
export type ManifestAuthentication =
  | { ok: true; manifest: Manifest; built: Batch }
  | { ok: false; reason: ManifestIssue; problems: ManifestProblem[]; manifest?: Manifest; built?: Batch };

/**
 * Authenticates manifest bytes against what the chain anchored, on this chain's domain. Checks,
 * in order: hash, parse, domain, leaf count, rebuild (leaf order), root. Throws nothing (but what
 * `onParsed` throws). The rebuild is `rebuildBatch` (= `buildBatch(manifest)`, without
 * re-serializing bytes already in leaf order).
 *
 * @param onParsed called with the parsed manifest before the hash and the rebuild, so that a caller can start
 *   work that needs only the manifest (the verifier's signature checks) while the tree is built.
 *
 * @example
 * const auth = authenticateManifest(bytes, anchored, { chainId: 31337, anchor });
 * if (auth.ok) auth.built.proofs[0]; else auth.reason; // e.g. "ROOT_MISMATCH"
 */
export function authenticateManifest(
  bytes: Uint8Array,
  anchored: Pick<AnchoredBatch, "root" | "manifestHash" | "leafCount">,
  domain: { chainId: number; anchor: Address },
  onParsed?: (manifest: Manifest) => void,
): ManifestAuthentication {
  // Parsed first so that onParsed's work overlaps the hashing too; problems keep their order.
  let manifest: Manifest | undefined;
  let parseError: unknown;
  try {
    manifest = parseManifest(bytes);
  } catch (error) {
    parseError = error;
  }
  if (manifest !== undefined) onParsed?.(manifest);
  const problems: ManifestProblem[] = [];
  const bytesHash = keccak256Hex(bytes).toLowerCase();
  if (bytesHash !== anchored.manifestHash.toLowerCase())
    problems.push({
      issue: ManifestIssue.MANIFEST_HASH_MISMATCH,
      message: "keccak256(manifest) is not the anchored manifest hash",
      details: { anchored: anchored.manifestHash, actual: bytesHash },
    });
  if (manifest === undefined) {
    problems.push({ issue: ManifestIssue.MANIFEST_INVALID, message: `manifest does not parse: ${(parseError as Error).message}` });
    return { ok: false, reason: problems[0].issue, problems };
  }
  if (manifest.chainId !== domain.chainId || manifest.anchor !== getAddress(domain.anchor))
    problems.push({
      issue: ManifestIssue.DOMAIN_MISMATCH,
      message: "manifest is for another chain or anchor",
      details: { chainId: manifest.chainId, anchor: manifest.anchor },
    });
  if (manifest.items.length !== anchored.leafCount)
    problems.push({
      issue: ManifestIssue.LEAF_COUNT_MISMATCH,
      message: "leaf count differs",
      details: { anchored: anchored.leafCount, manifest: manifest.items.length },
    });
  let built: Batch;
  try {
    built = rebuildBatch(manifest, bytes, bytesHash as Hex);
  } catch (error) {
    problems.push({ issue: ManifestIssue.MANIFEST_INVALID, message: `manifest does not build a batch: ${(error as Error).message}` });
    return { ok: false, reason: problems[0].issue, problems, manifest };
  }
  if (built.manifestHash !== bytesHash)
    problems.push({ issue: ManifestIssue.MANIFEST_INVALID, message: "manifest bytes are not in leaf order (rebuild gives other bytes)" });
  if (built.root !== anchored.root.toLowerCase())
    problems.push({
      issue: ManifestIssue.ROOT_MISMATCH,
      message: "manifest does not rebuild the anchored root",
      details: { anchored: anchored.root, rebuilt: built.root },
    });
  return problems.length === 0 ? { ok: true, manifest, built } : { ok: false, reason: problems[0].issue, problems, manifest, built };
}
