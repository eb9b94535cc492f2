/**
 * Batches: the Merkle tree over a batch's reading leaves and the batch
 * manifest, the canonical JSON list of the batch's readings with their
 * signatures in leaf order, whose keccak256 is anchored with the root.
 *
 * Manifest bytes (RFC 8785), keys in canonical order:
 * `{"anchor":"0x…","chainId":31337,"readings":[{"dataHash":"0x…","device":"0x…","seq":"1","signature":"0x…","timestamp":"1700000000"},…],"v":1}`
 * - `anchor`, `device`: EIP-55 checksummed; `dataHash`, `signature`: lowercase hex;
 * - `seq`, `timestamp`: uint64 as decimal strings (JSON numbers stop being exact at 2^53);
 * - leaf order: ascending leaf hash, i.e. the order in which StandardMerkleTree
 *   places the leaves (readings[k] is at tree index `2n − 2 − k`).
 *
 * Anyone holding the bytes can recheck a batch: `keccak256(bytes)` must be the
 * anchored manifest hash, and `buildBatch(parseManifest(bytes))` must give the
 * anchored root and leaf count and the same `manifestHash` (which also proves
 * the bytes were in leaf order); then check each signature. {@link rebuildBatch}
 * gives that batch without re-serializing bytes already in leaf order.
 *
 * @module
 */
import { getAddress, isAddress, type Address, type Hex } from "viem";

import { bytesToHex, isHex } from "./bytes.js";
import { canonicalize, parseCanonical } from "./canonical.js";
import { EmptyTreeError, InvalidManifestError, InvalidSignatureError, SensorSealError } from "./errors.js";
import { keccak256Hex } from "./keccak.js";
import { MerkleTree } from "./merkle.js";
import { readingFromJson, readingLeaf, readingToJson, type Reading } from "./reading.js";

/** Manifest format version. */
export const MANIFEST_VERSION = 1;

/** A signed reading, as given to {@link buildBatch}. */
export type BatchItem = {
  reading: Reading;
  /** 65 bytes (secp256k1) or 64 bytes (P-256). */
  signature: Hex | Uint8Array;
};

/** A batch manifest, parsed: items in leaf order, normalized (checksummed addresses, lowercase hex). */
export type Manifest = {
  v: 1;
  chainId: number;
  anchor: Address;
  items: { reading: Reading; signature: Hex }[];
};

/** Parameters of {@link buildBatch}. */
export type BuildBatchParameters = {
  /** Chain id of the audit chain. */
  chainId: number;
  /** ReadingAnchor contract address. */
  anchor: Address;
  /** The batch's signed readings, in any order. */
  items: readonly BatchItem[];
};

/** A built batch. */
export type Batch = {
  tree: MerkleTree;
  /** Merkle root, to anchor. */
  root: Hex;
  leafCount: number;
  /** The manifest, items in leaf order. */
  manifest: Manifest;
  /** The canonical manifest bytes, to store and serve verbatim. */
  manifestBytes: Uint8Array;
  /** `keccak256(manifestBytes)`, to anchor. */
  manifestHash: Hex;
  /** `proofs[i]`: Merkle proof of input item `i` (same order as `items`); built on first read. */
  proofs: Hex[][];
  /** `leaves[i]`: leaf hash of input item `i`. */
  leaves: Hex[];
};

const utf8 = new TextEncoder();

function checkChainId(chainId: unknown, fail: (reason: string) => never): number {
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) fail("must be a positive safe integer");
  return chainId as number;
}

function signatureHex(signature: unknown): Hex | undefined {
  if (signature instanceof Uint8Array) return signature.length === 64 || signature.length === 65 ? bytesToHex(signature) : undefined;
  if (isHex(signature) && (signature.length === 130 || signature.length === 132)) return signature.toLowerCase() as Hex;
  return undefined;
}

/**
 * Builds a batch: leaves, tree (StandardMerkleTree-identical), manifest in
 * leaf order, its bytes and hash, and a proof for each input item.
 * Signatures are only checked for shape (64 or 65 bytes) here.
 *
 * @throws {EmptyTreeError} if `items` is empty.
 * @throws {InvalidReadingError | InvalidSignatureError | InvalidManifestError} on a malformed item or parameter.
 * @example
 * ```ts
 * const batch = buildBatch({
 *   chainId: 31337,
 *   anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
 *   items: [{
 *     reading: { device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n, timestamp: 1_700_000_000n,
 *       dataHash: `0x${"11".repeat(32)}` },
 *     signature: `0x${"22".repeat(64)}1b`,
 *   }],
 * });
 * batch.root; // = batch.leaves[0] for a single reading
 * batch.manifestHash; // keccak256(batch.manifestBytes)
 * ```
 */
export function buildBatch({ chainId, anchor, items }: BuildBatchParameters): Batch {
  checkBatchParameters({ chainId, anchor, items });
  const n = items.length;
  const { packed, signatures, tree, ordered } = leafTree(items);

  const manifestItems: Manifest["items"] = new Array(n);
  const readingsJson = new Array<Record<string, string>>(n);
  for (let k = 0; k < n; k++) {
    const i = ordered[k];
    const json = readingToJson(items[i].reading);
    manifestItems[k] = {
      reading: { device: json.device, seq: items[i].reading.seq, timestamp: items[i].reading.timestamp, dataHash: json.dataHash },
      signature: signatures[i],
    };
    readingsJson[k] = { ...json, signature: signatures[i] };
  }
  const checksummedAnchor = getAddress(anchor);
  const manifestBytes = utf8.encode(canonicalize({ anchor: checksummedAnchor, chainId, readings: readingsJson, v: MANIFEST_VERSION }));
  return batchOf(
    tree,
    packed,
    { v: MANIFEST_VERSION, chainId, anchor: checksummedAnchor, items: manifestItems },
    manifestBytes,
    keccak256Hex(manifestBytes),
  );
}

/**
 * The batch `buildBatch(manifest)` gives, for a `manifest` that {@link parseManifest} parsed from
 * `bytes`, without re-serializing it when it is in leaf order (the verifier's hot path).
 *
 * Why no re-serialization is needed then: `parseManifest` accepts only bytes that are the canonical
 * serialization of what they parse to (parseCanonical), with exactly the manifest's keys, version 1,
 * and every field in the normal form buildBatch writes (checksummed addresses, lowercase hex,
 * decimal uint64s without leading zeros). So buildBatch's bytes equal `bytes` exactly when it keeps
 * the items in their order, i.e. when item `k` is sorted leaf `k` (the same tree and the same stable
 * order settle duplicates). Otherwise this is `buildBatch(manifest)`, whose bytes then differ.
 * The signatures' shape is not checked again (parseManifest did).
 *
 * @param bytesHash `keccak256(bytes)`, when the caller already has it.
 * @throws as {@link buildBatch}.
 * @example
 * ```ts
 * const batch = buildBatch({ chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3", items: [{
 *   reading: { device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n, timestamp: 1n, dataHash: `0x${"11".repeat(32)}` },
 *   signature: `0x${"22".repeat(64)}1b` }] });
 * rebuildBatch(parseManifest(batch.manifestBytes), batch.manifestBytes).root === batch.root; // true
 * ```
 */
export function rebuildBatch(manifest: Manifest, bytes: Uint8Array, bytesHash?: Hex): Batch {
  const { items } = manifest;
  const n = items.length;
  checkBatchParameters(manifest);
  const { packed, tree, ordered } = leafTree(items, false); // parseManifest checked the signatures
  for (let k = 0; k < n; k++) if (ordered[k] !== k) return buildBatch(manifest);
  const copy: Manifest = { v: MANIFEST_VERSION, chainId: manifest.chainId, anchor: manifest.anchor, items };
  return batchOf(tree, packed, copy, bytes, bytesHash ?? keccak256Hex(bytes));
}

function checkBatchParameters({ chainId, anchor, items }: BuildBatchParameters): void {
  checkChainId(chainId, (reason) => {
    throw new InvalidManifestError("chainId", reason);
  });
  if (typeof anchor !== "string" || !isAddress(anchor, { strict: false })) throw new InvalidManifestError("anchor", "must be an address");
  if (items.length === 0) throw new EmptyTreeError();
}

/**
 * Leaves packed in input order, normalized signatures (when `withSignatures`; else left empty), the
 * tree, and `ordered[k]` = input index of sorted leaf `k`.
 */
function leafTree(items: readonly BatchItem[], withSignatures = true) {
  const n = items.length;
  const packed = new Uint8Array(n * 32);
  const signatures = new Array<Hex>(withSignatures ? n : 0);
  for (let i = 0; i < n; i++) {
    const item = items[i];
    packed.set(readingLeaf(item.reading), i * 32);
    if (!withSignatures) continue;
    const sig = signatureHex(item.signature);
    if (sig === undefined) throw new InvalidSignatureError("must be 64 (P-256) or 65 (secp256k1) bytes", { details: { item: i } });
    signatures[i] = sig;
  }
  const tree = MerkleTree.fromPackedLeaves(packed);
  const last = tree.nodeCount - 1;
  const ordered = new Uint32Array(n);
  for (let i = 0; i < n; i++) ordered[last - tree.treeIndexOf(i)] = i;
  return { packed, signatures, tree, ordered };
}

/** A {@link Batch}; its proofs are built on first use (an audit needs none; a bundle needs one). */
function batchOf(tree: MerkleTree, packed: Uint8Array, manifest: Manifest, manifestBytes: Uint8Array, manifestHash: Hex): Batch {
  const n = tree.leafCount;
  const leaves = new Array<Hex>(n);
  for (let i = 0; i < n; i++) leaves[i] = bytesToHex(packed.subarray(i * 32, i * 32 + 32));
  let proofs: Hex[][] | undefined;
  return {
    tree,
    root: tree.root,
    leafCount: n,
    manifest,
    manifestBytes,
    manifestHash,
    get proofs(): Hex[][] {
      if (proofs === undefined) {
        proofs = new Array<Hex[]>(n);
        for (let i = 0; i < n; i++) proofs[i] = tree.getProof(tree.treeIndexOf(i));
      }
      return proofs;
    },
    leaves,
  };
}

const MANIFEST_KEYS = ["anchor", "chainId", "readings", "v"];
const READING_KEYS = ["dataHash", "device", "seq", "signature", "timestamp"];

function checkKeys(value: unknown, keys: readonly string[], path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidManifestError(path, "must be an object");
  const actual = Object.keys(value);
  for (const key of actual) if (!keys.includes(key)) throw new InvalidManifestError(`${path}.${key}`, "unknown field");
  for (const key of keys) if (!actual.includes(key)) throw new InvalidManifestError(`${path}.${key}`, "missing");
  return value as Record<string, unknown>;
}

/**
 * Parses manifest bytes strictly: canonical JSON, exact keys, version 1,
 * checksummed addresses, lowercase hex, canonical decimal uint64s,
 * signatures of 64 or 65 bytes, at least one reading. It does not recompute
 * leaves or check signatures: see {@link buildBatch} to rebuild the batch.
 *
 * @throws {InvalidManifestError} (with the underlying error as `cause`).
 * @example
 * ```ts
 * const batch = buildBatch({ chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3", items: [{
 *   reading: { device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n, timestamp: 1n, dataHash: `0x${"11".repeat(32)}` },
 *   signature: `0x${"22".repeat(64)}1b` }] });
 * const manifest = parseManifest(batch.manifestBytes);
 * buildBatch(manifest).manifestHash === batch.manifestHash; // true
 * ```
 */
export function parseManifest(bytes: Uint8Array): Manifest {
  let value: unknown;
  try {
    value = parseCanonical(bytes);
  } catch (cause) {
    throw new InvalidManifestError("$", "not canonical JSON", { cause });
  }
  const o = checkKeys(value, MANIFEST_KEYS, "$");
  if (o.v !== MANIFEST_VERSION) throw new InvalidManifestError("$.v", `must be ${MANIFEST_VERSION}`);
  const chainId = checkChainId(o.chainId, (reason) => {
    throw new InvalidManifestError("$.chainId", reason);
  });
  const anchor = o.anchor;
  if (typeof anchor !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(anchor) || getAddress(anchor) !== anchor)
    throw new InvalidManifestError("$.anchor", "must be a checksummed address");
  if (!Array.isArray(o.readings) || o.readings.length === 0) throw new InvalidManifestError("$.readings", "must be a non-empty array");
  const items: Manifest["items"] = new Array(o.readings.length);
  for (let k = 0; k < o.readings.length; k++) {
    const path = `$.readings[${k}]`;
    const r = checkKeys(o.readings[k], READING_KEYS, path);
    const sig = r.signature;
    if (typeof sig !== "string" || !/^0x[0-9a-f]*$/.test(sig) || (sig.length !== 130 && sig.length !== 132))
      throw new InvalidManifestError(`${path}.signature`, "must be 64 or 65 bytes of lowercase 0x hex");
    let reading: Reading;
    try {
      reading = readingFromJson({ dataHash: r.dataHash, device: r.device, seq: r.seq, timestamp: r.timestamp });
    } catch (cause) {
      const field = cause instanceof SensorSealError ? String(cause.details?.field ?? "") : "";
      throw new InvalidManifestError(`${path}${field ? `.${field}` : ""}`, "invalid reading", { cause });
    }
    items[k] = { reading, signature: sig as Hex };
  }
  return { v: MANIFEST_VERSION, chainId, anchor: anchor as Address, items };
}
