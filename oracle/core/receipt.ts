/**
 * The relayer's signed inclusion receipt: "this reading will be in a batch anchored by `deadline`".
 *
 * EIP-712 `InclusionReceipt(address device,uint64 seq,bytes32 dataHash,uint64 deadline)` in domain
 * `{ name: "SensorSeal Relayer", version: "1", chainId: audit chain, verifyingContract: the anchor }`,
 * signed (secp256k1, 65 bytes r‖s‖v, low-s) by the relayer's receipt key. `deadline` is a unix time
 * in seconds. A device (or anyone it hands the receipt to) holding a valid receipt for a reading
 * that is not anchored by `deadline` holds proof that the relayer dropped it.
 *
 * A receipt root signs many receipts at once (a bulk submission's, one signature instead of one per
 * reading): EIP-712 `InclusionReceiptRoot(bytes32 root,uint32 count)` on the same domain, where `root`
 * is the `@openzeppelin/merkle-tree` StandardMerkleTree root of the receipts as
 * `["address","uint64","bytes32","uint64"]` values (device, seq, dataHash, deadline) and `count` the
 * number of leaves. One receipt under a root is the receipt's fields, the root's signature and its
 * Merkle proof: it proves exactly what a receipt signed alone proves.
 *
 * @module
 */
import { getAddress, recoverAddress, type Address, type Hex } from "viem";

import { bytesToHex, hexToBytes, toBytes, type BytesLike } from "./bytes.js";
import { InvalidArgumentError, InvalidHexError, InvalidSignatureError } from "./errors.js";
import { StaticStructEncoder, TypedDataDigester, eip712DomainSeparator } from "./eip712.js";
import { keccak256 } from "./keccak.js";
import { signDigest } from "./keys.js";
import { MerkleTree, verifyMerkleProof } from "./merkle.js";

/** A receipt as signed (uint64 fields as bigints). */
export type InclusionReceipt = {
  device: Address;
  seq: bigint;
  dataHash: Hex;
  deadline: bigint;
};

/**
 * A signed receipt in JSON form: uint64 fields as decimal strings, `signer` the receipt key's address.
 * A receipt under a root ({@link receiptsUnderRoot}) also carries the root, its leaf count and the
 * receipt's Merkle proof, and `signature` signs the root.
 */
export type SignedReceiptJson = {
  device: Address;
  seq: string;
  dataHash: Hex;
  deadline: string;
  signature: Hex;
  signer: Address;
  root?: Hex;
  count?: number;
  proof?: Hex[];
};

/** A receipt root as signed: the StandardMerkleTree root of the receipts and their number. */
export type InclusionReceiptRoot = { root: Hex; count: number };

/**
 * A signed receipt root in JSON form, as the relayer answers a bulk submission that asked for one
 * (`Prefer: receipt=root`): every leaf's deadline is `deadline` (decimal string).
 */
export type SignedReceiptRootJson = {
  root: Hex;
  count: number;
  deadline: string;
  signature: Hex;
  signer: Address;
};

/** EIP-712 domain of receipts. */
export type ReceiptDomain = {
  readonly name: "SensorSeal Relayer";
  readonly version: "1";
  readonly chainId: number;
  readonly verifyingContract: Address;
};

/** EIP-712 domain name of receipts. */
export const RECEIPT_DOMAIN_NAME = "SensorSeal Relayer";
/** EIP-712 domain version of receipts. */
export const RECEIPT_DOMAIN_VERSION = "1";
/** The EIP-712 type string of a receipt. */
export const RECEIPT_TYPE = "InclusionReceipt(address device,uint64 seq,bytes32 dataHash,uint64 deadline)";

/** The EIP-712 type string of a receipt root. */
export const RECEIPT_ROOT_TYPE = "InclusionReceiptRoot(bytes32 root,uint32 count)";
/** The StandardMerkleTree leaf encoding of the receipts under a root. */
export const RECEIPT_LEAF_ENCODING = ["address", "uint64", "bytes32", "uint64"] as const;

/** viem / wallet typed-data types of a receipt root. */
export const RECEIPT_ROOT_TYPES = {
  InclusionReceiptRoot: [
    { name: "root", type: "bytes32" },
    { name: "count", type: "uint32" },
  ],
} as const;

/** viem / wallet typed-data types of a receipt. */
export const RECEIPT_TYPES = {
  InclusionReceipt: [
    { name: "device", type: "address" },
    { name: "seq", type: "uint64" },
    { name: "dataHash", type: "bytes32" },
    { name: "deadline", type: "uint64" },
  ],
} as const;

const utf8 = new TextEncoder();
const TYPEHASH = keccak256(utf8.encode(RECEIPT_TYPE));
const ROOT_TYPEHASH = keccak256(utf8.encode(RECEIPT_ROOT_TYPE));
const UINT64_MAX = (1n << 64n) - 1n;

/** `keccak256(RECEIPT_TYPE)`. */
export const RECEIPT_TYPEHASH: Hex = bytesToHex(TYPEHASH);

/**
 * The EIP-712 domain of receipts for the anchor at `anchor` on chain `chainId`.
 *
 * @example
 * ```ts
 * receiptDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * // { name: "SensorSeal Relayer", version: "1", chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }
 * ```
 */
export function receiptDomain(chainId: number, anchor: Address): ReceiptDomain {
  return { name: RECEIPT_DOMAIN_NAME, version: RECEIPT_DOMAIN_VERSION, chainId, verifyingContract: getAddress(anchor) };
}

// typehash ‖ abi.encode(receipt) (5 × 32 bytes), reused: every call is synchronous. A bad hex field
// throws InvalidHexError (with the value, below), a bad number InvalidArgumentError.
const scratch = new StaticStructEncoder(TYPEHASH, 4, (field, reason) => new InvalidArgumentError(field, reason));

const rootScratch = new StaticStructEncoder(ROOT_TYPEHASH, 2, (field, reason) => new InvalidArgumentError(field, reason));

function writeHexField(encoder: StaticStructEncoder, value: unknown, offset: number, bytes: number, field: string): void {
  try {
    encoder.writeHex(value, offset, bytes, field);
  } catch {
    throw new InvalidHexError(value, bytes);
  }
}

/** Writes `abi.encode(device, seq, dataHash, deadline)` into the scratch encoder. */
function encodeReceipt(receipt: InclusionReceipt): void {
  if (typeof receipt !== "object" || receipt === null) throw new InvalidArgumentError("receipt", "must be an object");
  writeHexField(scratch, receipt.device, 44, 20, "device");
  scratch.writeUint(receipt.seq, 64, 64, "seq");
  writeHexField(scratch, receipt.dataHash, 96, 32, "dataHash");
  scratch.writeUint(receipt.deadline, 128, 64, "deadline");
}

/**
 * A receipt's leaf under a receipt root: `keccak256(keccak256(abi.encode(device, seq, dataHash, deadline)))`,
 * equal to `StandardMerkleTree.leafHash` over {@link RECEIPT_LEAF_ENCODING}.
 *
 * @throws {InvalidArgumentError | InvalidHexError}
 * @example
 * ```ts
 * receiptLeaf({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n,
 *   dataHash: `0x${"11".repeat(32)}`, deadline: 1_700_000_600n }); // 32 bytes
 * ```
 */
export function receiptLeaf(receipt: InclusionReceipt): Uint8Array {
  encodeReceipt(receipt);
  return keccak256(keccak256(scratch.encoded));
}

/**
 * The Merkle tree of receipts (StandardMerkleTree layout, leaves {@link receiptLeaf}); `root` and
 * `leafCount` are what a receipt root signs, `getProof(treeIndexOf(i))` receipt `i`'s proof.
 *
 * @throws {EmptyTreeError} with no receipt.
 * @example
 * ```ts
 * const tree = receiptTree([{ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n,
 *   dataHash: `0x${"11".repeat(32)}`, deadline: 1_700_000_600n }]);
 * tree.root; // the one leaf
 * ```
 */
export function receiptTree(receipts: readonly InclusionReceipt[]): MerkleTree {
  const packed = new Uint8Array(receipts.length * 32);
  receipts.forEach((receipt, i) => packed.set(receiptLeaf(receipt), i * 32));
  return MerkleTree.fromPackedLeaves(packed);
}

/** Digests of one typed message (a receipt, a receipt root) on the receipts' domain of one anchor. */
abstract class ReceiptDomainDigester<T> extends TypedDataDigester<T> {
  readonly anchor: Address;

  constructor(chainId: number, anchor: Address) {
    if (!Number.isSafeInteger(chainId) || chainId < 0) throw new InvalidArgumentError("chainId", "must be a non-negative safe integer");
    super(chainId, eip712DomainSeparator(RECEIPT_DOMAIN_NAME, RECEIPT_DOMAIN_VERSION, chainId, anchor));
    this.anchor = getAddress(anchor);
  }

  /** The EIP-712 domain of this digester. */
  get domain(): ReceiptDomain {
    return receiptDomain(this.chainId, this.anchor);
  }
}

/**
 * Computes EIP-712 digests of receipts for one domain (separator computed once). `digest` equals
 * viem's `hashTypedData(receiptTypedData(domain, receipt))`.
 *
 * @example
 * ```ts
 * const digester = new ReceiptDigester(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * digester.digest({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n,
 *   dataHash: `0x${"11".repeat(32)}`, deadline: 1_700_000_600n }); // 32 bytes
 * ```
 */
export class ReceiptDigester extends ReceiptDomainDigester<InclusionReceipt> {
  /** @throws {InvalidArgumentError | InvalidHexError} */
  protected hashStruct(receipt: InclusionReceipt): Uint8Array {
    encodeReceipt(receipt);
    return scratch.hashStruct();
  }
}

/**
 * Computes EIP-712 digests of receipt roots on the receipts' domain. `digest` equals viem's
 * `hashTypedData(receiptRootTypedData(domain, root))`.
 *
 * @example
 * ```ts
 * new ReceiptRootDigester(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
 *   .digest({ root: `0x${"11".repeat(32)}`, count: 100 }); // 32 bytes
 * ```
 */
export class ReceiptRootDigester extends ReceiptDomainDigester<InclusionReceiptRoot> {
  /** @throws {InvalidArgumentError | InvalidHexError} */
  protected hashStruct(message: InclusionReceiptRoot): Uint8Array {
    if (typeof message !== "object" || message === null) throw new InvalidArgumentError("receipt root", "must be an object");
    writeHexField(rootScratch, message.root, 32, 32, "root");
    rootScratch.writeUint32(message.count, 64, "count");
    return rootScratch.hashStruct();
  }
}

/**
 * Typed data of a receipt root for viem and EIP-1193 wallets.
 *
 * @example
 * ```ts
 * receiptRootTypedData(receiptDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
 *   { root: `0x${"11".repeat(32)}`, count: 100 }).primaryType; // "InclusionReceiptRoot"
 * ```
 */
export function receiptRootTypedData(domain: ReceiptDomain, root: InclusionReceiptRoot) {
  return { domain, types: RECEIPT_ROOT_TYPES, primaryType: "InclusionReceiptRoot", message: root } as const;
}

/**
 * Signs a receipt root with the relayer's receipt key (secp256k1, 65 bytes r‖s‖v, low-s), as hex.
 *
 * @example
 * ```ts
 * const tree = receiptTree([{ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n,
 *   dataHash: `0x${"11".repeat(32)}`, deadline: 1_700_000_600n }]);
 * signReceiptRoot(new ReceiptRootDigester(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
 *   "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a", { root: tree.root, count: tree.leafCount }); // 0x… (65 bytes)
 * ```
 */
export function signReceiptRoot(digester: ReceiptRootDigester, privateKey: BytesLike, root: InclusionReceiptRoot): Hex {
  return bytesToHex(signDigest("secp256k1", toBytes(privateKey, 32, "receipt private key"), digester.digest(root)));
}

/**
 * The receipts a signed root stands for, one per reading, each with its Merkle proof: what a device
 * keeps as evidence (the verifier's `--receipts` takes them). `readings` are the accepted readings of
 * the bulk, in any order.
 *
 * @throws {InvalidArgumentError} when the readings do not make the signed root (other readings, or a
 *   different number of them).
 * @example
 * ```ts
 * // A relayer's answer to a bulk sent with `Prefer: receipt=root`, and the bulk's accepted readings:
 * const accepted = [{ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: "1", dataHash: `0x${"11".repeat(32)}` }];
 * const tree = receiptTree(accepted.map((r) => ({ ...r, seq: 1n, deadline: 1_700_000_600n })));
 * const signature = signReceiptRoot(new ReceiptRootDigester(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"),
 *   "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a", { root: tree.root, count: 1 });
 * const body = { receipt: { root: tree.root, count: 1, deadline: "1700000600", signature,
 *   signer: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65" } } as const;
 * receiptsUnderRoot(body.receipt, accepted); // SignedReceiptJson[], each with root, count, proof
 * ```
 */
export function receiptsUnderRoot(
  signed: SignedReceiptRootJson,
  readings: readonly { device: string; seq: string | number | bigint; dataHash: string }[],
): SignedReceiptJson[] {
  const deadline = String(uint64FromJson(signed.deadline, "deadline"));
  const receipts = readings.map((r) => receiptFromJson({ device: r.device, seq: String(r.seq), dataHash: r.dataHash, deadline }));
  if (receipts.length === 0 || receipts.length !== signed.count)
    throw new InvalidArgumentError("readings", `the root covers ${signed.count} receipts, not ${receipts.length}`);
  const tree = receiptTree(receipts);
  if (tree.root !== signed.root.toLowerCase()) throw new InvalidArgumentError("readings", "these readings do not make the signed root");
  return receipts.map((r, i) => ({
    device: r.device,
    seq: r.seq.toString(),
    dataHash: r.dataHash,
    deadline: r.deadline.toString(),
    signature: signed.signature,
    signer: signed.signer,
    root: tree.root,
    count: tree.leafCount,
    proof: tree.getProof(tree.treeIndexOf(i)),
  }));
}

/**
 * Typed data of a receipt for viem (`hashTypedData`, `verifyTypedData`) and EIP-1193 wallets.
 *
 * @example
 * ```ts
 * import { hashTypedData } from "viem";
 * hashTypedData(receiptTypedData(receiptDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"), {
 *   device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n, dataHash: `0x${"11".repeat(32)}`,
 *   deadline: 1_700_000_600n }));
 * ```
 */
export function receiptTypedData(domain: ReceiptDomain, receipt: InclusionReceipt) {
  return { domain, types: RECEIPT_TYPES, primaryType: "InclusionReceipt", message: receipt } as const;
}

/**
 * Signs a receipt with the relayer's receipt key (secp256k1): 65 bytes r‖s‖v, low-s, as hex.
 *
 * @example
 * ```ts
 * const digester = new ReceiptDigester(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * const signature = signReceipt(digester, "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", {
 *   device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n, dataHash: `0x${"11".repeat(32)}`,
 *   deadline: 1_700_000_600n }); // "0x…" (65 bytes)
 * ```
 */
export function signReceipt(digester: ReceiptDigester, privateKey: BytesLike, receipt: InclusionReceipt): Hex {
  return bytesToHex(signDigest("secp256k1", toBytes(privateKey, 32, "receipt private key"), digester.digest(receipt)));
}

/**
 * Recovers the address that signed a receipt (the relayer's receipt key).
 *
 * @throws {InvalidSignatureError} when the signature is not 65 bytes or does not recover.
 * @example
 * ```ts
 * const digester = new ReceiptDigester(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * const receipt = { device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n,
 *   dataHash: `0x${"11".repeat(32)}`, deadline: 1_700_000_600n } as const;
 * const signature = signReceipt(digester, "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a", receipt);
 * const signer = await recoverReceiptSigner(digester, receipt, signature); // "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65"
 * ```
 */
export async function recoverReceiptSigner(
  digester: ReceiptDigester,
  receipt: InclusionReceipt,
  signature: Hex,
  underRoot?: { root: Hex; count: number; proof: readonly Hex[] },
): Promise<Address> {
  let digest: Uint8Array;
  if (underRoot === undefined) digest = digester.digest(receipt);
  else {
    if (!verifyMerkleProof(receiptLeaf(receipt), underRoot.proof, underRoot.root))
      throw new InvalidSignatureError("the receipt is not under the signed root (Merkle proof fails)");
    digest = new ReceiptRootDigester(digester.chainId, digester.anchor).digest({ root: underRoot.root, count: underRoot.count });
  }
  const bytes = hexToBytes(signature);
  if (bytes.length !== 65) throw new InvalidSignatureError("a receipt signature is 65 bytes r‖s‖v", { details: { length: bytes.length } });
  // EIP-2: reject high-s, as the relayer never makes one.
  const s = BigInt(bytesToHex(bytes.subarray(32, 64)));
  if (s > SECP256K1_HALF_N) throw new InvalidSignatureError("high-s receipt signature");
  try {
    return await recoverAddress({ hash: bytesToHex(digest), signature });
  } catch (cause) {
    throw new InvalidSignatureError("receipt signature does not recover", { cause });
  }
}

const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * Checks a JSON receipt: its signature recovers to `relayer` (the receipt key's address the verifier
 * trusts for this relayer) on the given domain. Answers false for a wrong signer or a bad signature.
 *
 * @example
 * ```ts
 * const anchor = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
 * const receipt = { device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n,
 *   dataHash: `0x${"11".repeat(32)}`, deadline: 1_700_000_600n } as const;
 * const signature = signReceipt(new ReceiptDigester(31337, anchor), "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a", receipt);
 * const ok = await verifyReceipt({ chainId: 31337, anchor, relayer: "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65",
 *   receipt: { ...receipt, seq: "1", deadline: "1700000600", signature } }); // true
 * ```
 */
export async function verifyReceipt(options: {
  chainId: number;
  anchor: Address;
  relayer: Address;
  receipt: Omit<SignedReceiptJson, "signer"> & { signer?: Address };
}): Promise<boolean> {
  const { receipt } = options;
  try {
    const digester = new ReceiptDigester(options.chainId, options.anchor);
    const signer = await recoverReceiptSigner(digester, receiptFromJson(receipt), receipt.signature, receiptRootOf(receipt));
    return signer === getAddress(options.relayer);
  } catch {
    return false;
  }
}

function uint64FromJson(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !/^(0|[1-9][0-9]{0,19})$/.test(value)) throw new InvalidArgumentError(field, "must be a decimal string");
  const x = BigInt(value);
  if (x > UINT64_MAX) throw new InvalidArgumentError(field, "must be a uint64");
  return x;
}

/**
 * The root, leaf count and proof of a JSON receipt signed under a root, or undefined for a receipt
 * signed alone.
 *
 * @throws {InvalidArgumentError} when only some of `root`, `count` and `proof` are there, or one is malformed.
 * @example
 * ```ts
 * receiptRootOf({ root: `0x${"11".repeat(32)}`, count: 1, proof: [] }); // { root, count: 1, proof: [] }
 * ```
 */
export function receiptRootOf(json: {
  root?: unknown;
  count?: unknown;
  proof?: unknown;
}): { root: Hex; count: number; proof: Hex[] } | undefined {
  if (json.root === undefined && json.count === undefined && json.proof === undefined) return undefined;
  const node = /^0x[0-9a-fA-F]{64}$/;
  if (typeof json.root !== "string" || !node.test(json.root)) throw new InvalidArgumentError("root", "must be 32 bytes of 0x hex");
  if (typeof json.count !== "number" || !Number.isInteger(json.count) || json.count < 1 || json.count > 0xffffffff)
    throw new InvalidArgumentError("count", "must be a uint32 number ≥ 1");
  if (!Array.isArray(json.proof) || !json.proof.every((p) => typeof p === "string" && node.test(p)))
    throw new InvalidArgumentError("proof", "must be an array of 32-byte 0x hex nodes");
  return { root: json.root.toLowerCase() as Hex, count: json.count, proof: json.proof.map((p: string) => p.toLowerCase() as Hex) };
}

/**
 * A receipt's fields from JSON (decimal-string uint64s), without checking any signature.
 *
 * @throws {InvalidArgumentError}
 * @example
 * ```ts
 * receiptFromJson({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: "1",
 *   dataHash: `0x${"11".repeat(32)}`, deadline: "1700000600" }).deadline; // 1700000600n
 * ```
 */
export function receiptFromJson(json: { device: string; seq: string; dataHash: string; deadline: string }): InclusionReceipt {
  if (typeof json.device !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(json.device))
    throw new InvalidArgumentError("device", "must be an address");
  if (typeof json.dataHash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(json.dataHash))
    throw new InvalidArgumentError("dataHash", "must be 32 bytes of 0x hex");
  return {
    device: getAddress(json.device),
    seq: uint64FromJson(json.seq, "seq"),
    dataHash: json.dataHash.toLowerCase() as Hex,
    deadline: uint64FromJson(json.deadline, "deadline"),
  };
}
