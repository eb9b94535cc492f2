/**
 * Portable proof bundle: everything needed to check one reading against nothing but an audit-chain
 * RPC endpoint. A pure format (build, serialize, parse, the checks that need no chain), so the
 * relayer or the verifier can export it and anyone can check it.
 *
 * Bundle JSON (canonical, RFC 8785), `v: 1`:
 * `{"anchor","batchId","block","chainId","device":{"publicKey","scheme"},"leaf","manifestHash","payload",
 *   "proof":[…],"reading":{"dataHash","device","seq","timestamp"},"registry","root","signature","tx","v"}`
 * - `payload`: the exact payload text, never re-serialized;
 * - `batchId`, `block`, `reading.seq`, `reading.timestamp`: decimal strings; `chainId`: a number;
 * - hex lowercase except addresses (EIP-55).
 *
 * @module
 */
import { getAddress, isAddress, type Address, type Hex } from "viem";

import { bytesToHex, hexToBytes } from "./bytes.js";
import { canonicalize, parseCanonical } from "./canonical.js";
import { SensorSealError, type InvalidArgumentError, type SensorSealErrorOptions } from "./errors.js";
import { deviceIdFromPublicKey, verifyDeviceSignature, type KeyScheme } from "./keys.js";
import { verifyMerkleProof } from "./merkle.js";
import { dataHash } from "./payload.js";
import { receiptRootOf } from "./receipt.js";
import { ReadingDigester, readingFromJson, readingFromPayload, readingLeaf, readingToJson, type Reading } from "./reading.js";

/** Bundle format version. */
export const BUNDLE_VERSION = 1;

/** A proof bundle, parsed. */
export interface ProofBundle {
  v: 1;
  /** The exact payload text (UTF-8). */
  payload: string;
  /** Device signature over the EIP-712 Reading (65 or 64 bytes). */
  signature: Hex;
  reading: Reading;
  leaf: Hex;
  proof: Hex[];
  batchId: bigint;
  root: Hex;
  manifestHash: Hex;
  /** Anchoring transaction hash. */
  tx: Hex;
  /** Anchoring block number. */
  block: bigint;
  chainId: number;
  anchor: Address;
  registry: Address;
  device: { scheme: KeyScheme; publicKey: Hex };
}

/** One check of {@link checkBundle}. */
export interface BundleCheck {
  name: "payloadHash" | "payloadFields" | "leaf" | "proof" | "deviceKey" | "signature";
  ok: boolean;
  message: string;
}

/**
 * The canonical JSON text of a bundle.
 *
 * @example
 * ```ts
 * import { bytesToHex } from "./bytes.js";
 * import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest } from "./keys.js";
 * import { buildBatch } from "./manifest.js";
 * import { buildPayload } from "./payload.js";
 * import { ReadingDigester, readingFromPayload } from "./reading.js";
 * const anchor = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
 * const privateKey = generatePrivateKey("p256");
 * const publicKey = publicKeyFromPrivate("p256", privateKey);
 * const payload = buildPayload({ device: deviceIdFromPublicKey(publicKey), seq: 1, ts: 1_700_000_000, temperature_c: 7.5 });
 * const reading = readingFromPayload(payload.bytes);
 * const signature = bytesToHex(signDigest("p256", privateKey, new ReadingDigester(31337, anchor).digest(reading)));
 * const batch = buildBatch({ chainId: 31337, anchor, items: [{ reading, signature }] });
 * const bundle = { v: 1, payload: payload.text, signature, reading, leaf: batch.leaves[0], proof: batch.proofs[0],
 *   batchId: 1n, root: batch.root, manifestHash: batch.manifestHash, tx: `0x${"ab".repeat(32)}`, block: 5n,
 *   chainId: 31337, anchor, registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
 *   device: { scheme: "p256", publicKey: bytesToHex(publicKey) } } as const;
 * const text = bundleToJson(bundle); // '{"anchor":"0x…",…,"v":1}'
 * parseBundle(text).root === bundle.root; // true
 * ```
 */
export function bundleToJson(bundle: ProofBundle): string {
  return canonicalize({
    anchor: getAddress(bundle.anchor),
    batchId: bundle.batchId.toString(),
    block: bundle.block.toString(),
    chainId: bundle.chainId,
    device: { publicKey: bundle.device.publicKey.toLowerCase(), scheme: bundle.device.scheme },
    leaf: bundle.leaf.toLowerCase(),
    manifestHash: bundle.manifestHash.toLowerCase(),
    payload: bundle.payload,
    proof: bundle.proof.map((p) => p.toLowerCase()),
    reading: readingToJson(bundle.reading),
    registry: getAddress(bundle.registry),
    root: bundle.root.toLowerCase(),
    signature: bundle.signature.toLowerCase(),
    tx: bundle.tx.toLowerCase(),
    v: BUNDLE_VERSION,
  });
}

const HEX32 = /^0x[0-9a-fA-F]{64}$/;
const UINT = /^(0|[1-9][0-9]{0,19})$/;

/** A proof bundle is malformed (`details.field` names the field). */
export class InvalidBundleError extends SensorSealError {
  override name = "InvalidBundleError" as const;
  declare readonly code: "INVALID_BUNDLE";
  constructor(field: string, reason: string, options: SensorSealErrorOptions = {}) {
    super("INVALID_BUNDLE", `Invalid bundle at ${field}: ${reason}.`, { details: { field, reason }, cause: options.cause });
  }
}

function fail(field: string, reason: string): never {
  throw new InvalidBundleError(field, reason);
}

/**
 * Parses bundle JSON (text or bytes) strictly: every field present and well-formed. It does not
 * check anything cryptographic: see {@link checkBundle}.
 *
 * @throws {InvalidBundleError} with `details.field`.
 * @example
 * ```ts
 * try {
 *   parseBundle('{"v":2}');
 * } catch (error) {
 *   error instanceof InvalidBundleError; // true: not a version-1 bundle
 * }
 * ```
 */
export function parseBundle(input: string | Uint8Array): ProofBundle {
  let value: unknown;
  try {
    value = typeof input === "string" ? JSON.parse(input) : parseCanonical(input);
  } catch (cause) {
    throw new InvalidBundleError("$", "not JSON", { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("$", "must be an object");
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON, checked field by field right here
  const o = value as Record<string, any>;
  if (o.v !== BUNDLE_VERSION) fail("v", `must be ${BUNDLE_VERSION}`);
  if (typeof o.payload !== "string") fail("payload", "must be a string");
  if (typeof o.signature !== "string" || !/^0x([0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/.test(o.signature))
    fail("signature", "must be 64 or 65 bytes of hex");
  for (const f of ["leaf", "root", "manifestHash", "tx"])
    if (typeof o[f] !== "string" || !HEX32.test(o[f])) fail(f, "must be 32 bytes of hex");
  if (!Array.isArray(o.proof) || !o.proof.every((p: unknown) => typeof p === "string" && HEX32.test(p)))
    fail("proof", "must be a list of 32-byte hex");
  for (const f of ["batchId", "block"]) if (typeof o[f] !== "string" || !UINT.test(o[f])) fail(f, "must be a decimal string");
  if (typeof o.chainId !== "number" || !Number.isSafeInteger(o.chainId) || o.chainId <= 0) fail("chainId", "must be a positive integer");
  for (const f of ["anchor", "registry"])
    if (typeof o[f] !== "string" || !isAddress(o[f], { strict: false })) fail(f, "must be an address");
  const d = o.device;
  if (typeof d !== "object" || d === null || (d.scheme !== "secp256k1" && d.scheme !== "p256"))
    fail("device.scheme", "must be secp256k1 or p256");
  if (typeof d.publicKey !== "string" || !/^0x[0-9a-fA-F]{128}$/.test(d.publicKey)) fail("device.publicKey", "must be 64 bytes of hex");
  let reading: Reading;
  try {
    reading = readingFromJson(o.reading);
  } catch (cause) {
    throw new InvalidBundleError("reading", (cause as Error).message, { cause });
  }
  return {
    v: BUNDLE_VERSION,
    payload: o.payload,
    signature: o.signature.toLowerCase() as Hex,
    reading,
    leaf: o.leaf.toLowerCase() as Hex,
    proof: o.proof.map((p: string) => p.toLowerCase() as Hex),
    batchId: BigInt(o.batchId),
    root: o.root.toLowerCase(),
    manifestHash: o.manifestHash.toLowerCase(),
    tx: o.tx.toLowerCase(),
    block: BigInt(o.block),
    chainId: o.chainId,
    anchor: getAddress(o.anchor),
    registry: getAddress(o.registry),
    device: { scheme: d.scheme, publicKey: d.publicKey.toLowerCase() },
  };
}

/**
 * The checks that need no chain: payload hash = reading.dataHash, payload fields = reading,
 * leaf = readingLeaf(reading), proof from leaf to root, device id = key, signature by the key on
 * the anchor's EIP-712 domain. The chain checks (root anchored, tx log, registry status,
 * `verifyReading`) are the caller's.
 *
 * @example
 * ```ts
 * import { bytesToHex } from "./bytes.js";
 * import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest } from "./keys.js";
 * import { buildBatch } from "./manifest.js";
 * import { buildPayload } from "./payload.js";
 * import { ReadingDigester, readingFromPayload } from "./reading.js";
 * const anchor = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
 * const privateKey = generatePrivateKey("p256");
 * const publicKey = publicKeyFromPrivate("p256", privateKey);
 * const payload = buildPayload({ device: deviceIdFromPublicKey(publicKey), seq: 1, ts: 1_700_000_000, temperature_c: 7.5 });
 * const reading = readingFromPayload(payload.bytes);
 * const signature = bytesToHex(signDigest("p256", privateKey, new ReadingDigester(31337, anchor).digest(reading)));
 * const batch = buildBatch({ chainId: 31337, anchor, items: [{ reading, signature }] });
 * const bundle = { v: 1, payload: payload.text, signature, reading, leaf: batch.leaves[0], proof: batch.proofs[0],
 *   batchId: 1n, root: batch.root, manifestHash: batch.manifestHash, tx: `0x${"ab".repeat(32)}`, block: 5n,
 *   chainId: 31337, anchor, registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
 *   device: { scheme: "p256", publicKey: bytesToHex(publicKey) } } as const;
 * const failed = checkBundle(bundle).filter((check) => !check.ok); // [] when the bundle is consistent
 * ```
 */
export function checkBundle(bundle: ProofBundle): BundleCheck[] {
  const { reading } = bundle;
  const bytes = new TextEncoder().encode(bundle.payload);
  const checks: BundleCheck[] = [];
  const hash = dataHash(bytes);
  checks.push({
    name: "payloadHash",
    ok: hash === reading.dataHash,
    message: `keccak256(payload) ${hash === reading.dataHash ? "=" : "≠"} reading.dataHash`,
  });
  let fieldsOk = false;
  try {
    const fromPayload = readingFromPayload(bytes);
    fieldsOk = fromPayload.device === reading.device && fromPayload.seq === reading.seq && fromPayload.timestamp === reading.timestamp;
  } catch {
    fieldsOk = false;
  }
  checks.push({
    name: "payloadFields",
    ok: fieldsOk,
    message: fieldsOk ? "payload device/seq/ts = reading" : "payload is not a valid payload of this reading",
  });
  const leaf = bytesToHex(readingLeaf(reading));
  checks.push({
    name: "leaf",
    ok: leaf === bundle.leaf,
    message: leaf === bundle.leaf ? "leaf = readingLeaf(reading)" : "leaf ≠ readingLeaf(reading)",
  });
  const proofOk = verifyMerkleProof(readingLeaf(reading), bundle.proof, bundle.root);
  checks.push({ name: "proof", ok: proofOk, message: proofOk ? "Merkle proof leads to root" : "Merkle proof does not lead to root" });
  const keyOk = deviceIdFromPublicKey(bundle.device.publicKey) === reading.device;
  checks.push({ name: "deviceKey", ok: keyOk, message: keyOk ? "device id = key" : "device id is not derived from the bundle's key" });
  let sigOk = false;
  try {
    sigOk = verifyDeviceSignature({
      scheme: bundle.device.scheme,
      publicKey: bundle.device.publicKey,
      digest: new ReadingDigester(bundle.chainId, bundle.anchor).digest(reading),
      signature: hexToBytes(bundle.signature),
    });
  } catch {
    sigOk = false;
  }
  checks.push({ name: "signature", ok: sigOk, message: sigOk ? "signature by the device key" : "signature is not by the device key" });
  return checks;
}

/**
 * A reading submitted directly on-chain (`submitReading`, TRUST-MODEL §5): the `ReadingSubmitted` log
 * (tx, block, log index) is the anchoring; its block's timestamp is the anchoring time.
 * JSON: `{"anchor","block","chainId","device","kind":"direct","logIndex","payload","reading","registry","signature","tx","v"}`.
 */
export interface DirectProofBundle {
  v: 1;
  kind: "direct";
  payload: string;
  signature: Hex;
  reading: Reading;
  tx: Hex;
  block: bigint;
  logIndex: number;
  chainId: number;
  anchor: Address;
  registry: Address;
  device: { scheme: KeyScheme; publicKey: Hex };
}

/**
 * Evidence of a CENSORED reading (TRUST-MODEL §6): the device-signed reading, the relayer's receipt
 * (`deadline`, 65-byte signature; for a receipt under a root also `root`, `count` and the Merkle
 * `proof`, the signature then the root's) and the relayer's on-chain registration naming the receipt signer.
 * JSON: `{"anchor","chainId","device","kind":"censored","payload","reading","receipt":{["count",]"deadline",["proof","root",]"signature"},
 *   "registration":{"block","receiptSigner","relayer","tx"},"registry","signature","v"}`.
 */
export interface CensoredEvidenceBundle {
  v: 1;
  kind: "censored";
  payload: string;
  signature: Hex;
  reading: Reading;
  receipt: { deadline: bigint; signature: Hex; root?: Hex; count?: number; proof?: Hex[] };
  registration: { relayer: Address; receiptSigner: Address; tx: Hex; block: bigint };
  chainId: number;
  anchor: Address;
  registry: Address;
  device: { scheme: KeyScheme; publicKey: Hex };
}

/** Any bundle: an anchored-batch proof (no `kind`), a direct submission, or CENSORED evidence. */
export type AnyBundle = ProofBundle | DirectProofBundle | CensoredEvidenceBundle;

/**
 * The canonical JSON text of any bundle (a batch proof is {@link bundleToJson}'s text, unchanged).
 *
 * @example
 * ```ts
 * import { bytesToHex } from "./bytes.js";
 * import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest } from "./keys.js";
 * import { buildPayload } from "./payload.js";
 * import { ReadingDigester, readingFromPayload } from "./reading.js";
 * const anchor = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
 * const privateKey = generatePrivateKey("p256");
 * const publicKey = publicKeyFromPrivate("p256", privateKey);
 * const payload = buildPayload({ device: deviceIdFromPublicKey(publicKey), seq: 7, ts: 1_700_000_000, temperature_c: 7.5 });
 * const reading = readingFromPayload(payload.bytes);
 * const signature = bytesToHex(signDigest("p256", privateKey, new ReadingDigester(31337, anchor).digest(reading)));
 * const direct = { v: 1, kind: "direct", payload: payload.text, signature, reading, tx: `0x${"ab".repeat(32)}`,
 *   block: 5n, logIndex: 0, chainId: 31337, anchor, registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
 *   device: { scheme: "p256", publicKey: bytesToHex(publicKey) } } as const;
 * anyBundleToJson(direct); // '{"anchor":"0x…",…,"kind":"direct",…,"v":1}'
 * ```
 */
export function anyBundleToJson(bundle: AnyBundle): string {
  if (!("kind" in bundle)) return bundleToJson(bundle);
  const common = {
    anchor: getAddress(bundle.anchor),
    chainId: bundle.chainId,
    device: { publicKey: bundle.device.publicKey.toLowerCase(), scheme: bundle.device.scheme },
    kind: bundle.kind,
    payload: bundle.payload,
    reading: readingToJson(bundle.reading),
    registry: getAddress(bundle.registry),
    signature: bundle.signature.toLowerCase(),
    v: BUNDLE_VERSION,
  };
  if (bundle.kind === "direct")
    return canonicalize({ ...common, block: bundle.block.toString(), logIndex: bundle.logIndex, tx: bundle.tx.toLowerCase() });
  return canonicalize({
    ...common,
    receipt: {
      deadline: bundle.receipt.deadline.toString(),
      signature: bundle.receipt.signature.toLowerCase(),
      ...receiptRootOf(bundle.receipt),
    },
    registration: {
      block: bundle.registration.block.toString(),
      receiptSigner: getAddress(bundle.registration.receiptSigner),
      relayer: getAddress(bundle.registration.relayer),
      tx: bundle.registration.tx.toLowerCase(),
    },
  });
}

/**
 * Parses any bundle strictly: `kind` "direct" or "censored", else a batch proof ({@link parseBundle}).
 *
 * @throws {InvalidBundleError} with `details.field`.
 * @example
 * ```ts
 * try {
 *   parseAnyBundle('{"kind":"elsewhere","v":1}');
 * } catch (error) {
 *   error instanceof InvalidBundleError; // true: neither "direct", "censored" nor a batch proof
 * }
 * ```
 */
export function parseAnyBundle(input: string | Uint8Array): AnyBundle {
  let value: unknown;
  try {
    value = typeof input === "string" ? JSON.parse(input) : parseCanonical(input);
  } catch (cause) {
    throw new InvalidBundleError("$", "not JSON", { cause });
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON, checked field by field right here
  const o = value as Record<string, any>;
  if (typeof o !== "object" || o === null || o.kind === undefined) return parseBundle(input);
  if (o.kind !== "direct" && o.kind !== "censored") fail("kind", "must be direct or censored");
  // The shared fields are checked by parseBundle's rules on a stand-in batch part.
  const standIn: Record<string, unknown> = {
    ...o,
    leaf: ZERO32,
    root: ZERO32,
    manifestHash: ZERO32,
    proof: [],
    batchId: "0",
    tx: o.tx ?? ZERO32,
    block: o.block ?? "0",
  };
  delete standIn.kind;
  const base = parseBundle(JSON.stringify(standIn));
  const common = { v: 1 as const, payload: base.payload, signature: base.signature, reading: base.reading, chainId: base.chainId };
  const where = { anchor: base.anchor, registry: base.registry, device: base.device };
  if (o.kind === "direct") {
    if (typeof o.logIndex !== "number" || !Number.isSafeInteger(o.logIndex) || o.logIndex < 0)
      fail("logIndex", "must be a non-negative integer");
    return { ...common, ...where, kind: "direct", tx: base.tx, block: base.block, logIndex: o.logIndex };
  }
  const r = o.receipt ?? {};
  if (typeof r.deadline !== "string" || !UINT.test(r.deadline)) fail("receipt.deadline", "must be a decimal string");
  if (typeof r.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(r.signature)) fail("receipt.signature", "must be 65 bytes of hex");
  let underRoot: ReturnType<typeof receiptRootOf>;
  try {
    underRoot = receiptRootOf(r);
  } catch (error) {
    const { argument, reason } = (error as InvalidArgumentError).details as { argument: string; reason: string };
    fail(`receipt.${argument}`, reason);
  }
  const g = o.registration ?? {};
  for (const f of ["relayer", "receiptSigner"])
    if (typeof g[f] !== "string" || !isAddress(g[f], { strict: false })) fail(`registration.${f}`, "must be an address");
  if (typeof g.tx !== "string" || !HEX32.test(g.tx)) fail("registration.tx", "must be 32 bytes of hex");
  if (typeof g.block !== "string" || !UINT.test(g.block)) fail("registration.block", "must be a decimal string");
  return {
    ...common,
    ...where,
    kind: "censored",
    receipt: { deadline: BigInt(r.deadline), signature: r.signature.toLowerCase(), ...underRoot },
    registration: {
      relayer: getAddress(g.relayer),
      receiptSigner: getAddress(g.receiptSigner),
      tx: g.tx.toLowerCase(),
      block: BigInt(g.block),
    },
  };
}

const ZERO32 = `0x${"00".repeat(32)}`;

/**
 * The chain-free checks of a direct or CENSORED bundle's reading: payload hash and fields, device
 * id = key, signature by the key on the anchor's domain (as {@link checkBundle} without leaf and proof).
 *
 * @example
 * ```ts
 * import { bytesToHex } from "./bytes.js";
 * import { deviceIdFromPublicKey, generatePrivateKey, publicKeyFromPrivate, signDigest } from "./keys.js";
 * import { buildPayload } from "./payload.js";
 * import { ReadingDigester, readingFromPayload } from "./reading.js";
 * const anchor = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
 * const privateKey = generatePrivateKey("p256");
 * const publicKey = publicKeyFromPrivate("p256", privateKey);
 * const payload = buildPayload({ device: deviceIdFromPublicKey(publicKey), seq: 7, ts: 1_700_000_000, temperature_c: 7.5 });
 * const reading = readingFromPayload(payload.bytes);
 * const signature = bytesToHex(signDigest("p256", privateKey, new ReadingDigester(31337, anchor).digest(reading)));
 * const direct = { v: 1, kind: "direct", payload: payload.text, signature, reading, tx: `0x${"ab".repeat(32)}`,
 *   block: 5n, logIndex: 0, chainId: 31337, anchor, registry: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
 *   device: { scheme: "p256", publicKey: bytesToHex(publicKey) } } as const;
 * checkReadingEvidence(direct).every((c) => c.ok); // true
 * ```
 */
export function checkReadingEvidence(bundle: DirectProofBundle | CensoredEvidenceBundle): BundleCheck[] {
  const standIn = {
    ...bundle,
    leaf: ZERO32,
    proof: [],
    batchId: 0n,
    root: ZERO32,
    manifestHash: ZERO32,
    tx: ZERO32,
    block: 0n,
  } as ProofBundle;
  return checkBundle(standIn).filter((c) => c.name !== "leaf" && c.name !== "proof");
}
