/**
 * The signed Reading: its EIP-712 digest (what the device signs) and its
 * Merkle batch leaf (what the relayer anchors), both built by hand from bytes.
 *
 * `Reading(address device,uint64 seq,uint64 timestamp,bytes32 dataHash)` in
 * domain `{ name: "SensorSeal", version: "1", chainId, verifyingContract: anchor }`.
 *
 * The EIP-712 `encodeData` of a Reading and `abi.encode(device, seq,
 * timestamp, dataHash)` are the same 128 bytes; the digest hashes
 * `typehash ‖ those bytes` and the leaf double-hashes them.
 *
 * @module
 */
import { getAddress, type Address, type Hex } from "viem";

import { checksumAddress } from "./address.js";
import { bytesToHex } from "./bytes.js";
import { StaticStructEncoder, TypedDataDigester, eip712DomainSeparator } from "./eip712.js";
import { InvalidArgumentError, InvalidReadingError } from "./errors.js";
import { keccak256 } from "./keccak.js";
import { dataHash, parsePayload } from "./payload.js";

/** A reading as signed and anchored (uint64 fields as bigints). */
export type Reading = {
  device: Address;
  seq: bigint;
  timestamp: bigint;
  dataHash: Hex;
};

/** A {@link Reading} in JSON form: uint64 fields as decimal strings. */
export type ReadingJson = {
  device: Address;
  seq: string;
  timestamp: string;
  dataHash: Hex;
};

/** EIP-712 domain of the ReadingAnchor contract. */
export type ReadingDomain = {
  readonly name: "SensorSeal";
  readonly version: "1";
  readonly chainId: number;
  readonly verifyingContract: Address;
};

/** EIP-712 domain name of the ReadingAnchor contract. */
export const READING_DOMAIN_NAME = "SensorSeal";
/** EIP-712 domain version of the ReadingAnchor contract. */
export const READING_DOMAIN_VERSION = "1";
/** The EIP-712 type string of a Reading. */
export const READING_TYPE = "Reading(address device,uint64 seq,uint64 timestamp,bytes32 dataHash)";

/** viem / wallet typed-data types of a Reading. */
export const READING_TYPES = {
  Reading: [
    { name: "device", type: "address" },
    { name: "seq", type: "uint64" },
    { name: "timestamp", type: "uint64" },
    { name: "dataHash", type: "bytes32" },
  ],
} as const;

/** Leaf encoding of a reading for `@openzeppelin/merkle-tree`'s StandardMerkleTree. */
export const READING_LEAF_ENCODING = ["address", "uint64", "uint64", "bytes32"] as const;

const utf8 = new TextEncoder();
const TYPEHASH = keccak256(utf8.encode(READING_TYPE));

/** `keccak256(READING_TYPE)`. */
export const READING_TYPEHASH: Hex = bytesToHex(TYPEHASH);

const UINT64_MAX = (1n << 64n) - 1n;

// typehash ‖ abi.encode(reading) (5 × 32 bytes), reused: every call is synchronous.
const scratch = new StaticStructEncoder(TYPEHASH, 4, (field, reason) => new InvalidReadingError(field, reason));

/** Writes abi.encode(reading) into the scratch. */
function encodeIntoScratch(reading: Reading): void {
  if (typeof reading !== "object" || reading === null) throw new InvalidReadingError("$", "must be an object");
  scratch.writeHex(reading.device, 44, 20, "device");
  scratch.writeUint(reading.seq, 64, 64, "seq");
  scratch.writeUint(reading.timestamp, 96, 64, "timestamp");
  scratch.writeHex(reading.dataHash, 128, 32, "dataHash");
}

/**
 * `abi.encode(device, seq, timestamp, dataHash)`: 128 bytes, also the EIP-712 `encodeData` of the reading.
 *
 * @throws {InvalidReadingError}
 * @example
 * ```ts
 * encodeReading({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n, timestamp: 1_700_000_000n,
 *   dataHash: `0x${"11".repeat(32)}` }).length; // 128
 * ```
 */
export function encodeReading(reading: Reading): Uint8Array {
  encodeIntoScratch(reading);
  return scratch.encoded.slice();
}

/**
 * The batch leaf of a reading: `keccak256(keccak256(abi.encode(device, seq, timestamp, dataHash)))`,
 * equal to `StandardMerkleTree.leafHash` over `["address","uint64","uint64","bytes32"]`.
 *
 * @throws {InvalidReadingError}
 * @example
 * ```ts
 * readingLeaf({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n, timestamp: 1_700_000_000n,
 *   dataHash: `0x${"11".repeat(32)}` }); // 32 bytes
 * ```
 */
export function readingLeaf(reading: Reading): Uint8Array {
  encodeIntoScratch(reading);
  return keccak256(keccak256(scratch.encoded));
}

/**
 * The EIP-712 domain of the ReadingAnchor at `anchor` on chain `chainId`.
 *
 * @example
 * ```ts
 * readingDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * // { name: "SensorSeal", version: "1", chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" }
 * ```
 */
export function readingDomain(chainId: number, anchor: Address): ReadingDomain {
  return { name: READING_DOMAIN_NAME, version: READING_DOMAIN_VERSION, chainId, verifyingContract: anchor };
}

/**
 * The EIP-712 domain separator of the ReadingAnchor at `anchor` on chain `chainId`.
 *
 * @throws {InvalidReadingError} on a bad chain id or address.
 * @example
 * ```ts
 * readingDomainSeparator(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"); // 32 bytes
 * ```
 */
export function readingDomainSeparator(chainId: number | bigint, anchor: Address): Uint8Array {
  try {
    return eip712DomainSeparator(READING_DOMAIN_NAME, READING_DOMAIN_VERSION, chainId, anchor);
  } catch (cause) {
    if (!(cause instanceof InvalidArgumentError)) throw cause;
    const { argument, reason } = cause.details as { argument: string; reason: string };
    throw new InvalidReadingError(argument, reason);
  }
}

/**
 * Computes EIP-712 digests of Readings for one domain, with the domain
 * separator computed once. `digest` equals viem's `hashTypedData(readingTypedData(domain, reading))`.
 *
 * @example
 * ```ts
 * const digester = new ReadingDigester(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * const digest = digester.digest({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n,
 *   timestamp: 1_700_000_000n, dataHash: `0x${"11".repeat(32)}` }); // 32 bytes, what the device signs
 * ```
 */
export class ReadingDigester extends TypedDataDigester<Reading> {
  readonly anchor: Address;

  constructor(chainId: number, anchor: Address) {
    super(chainId, readingDomainSeparator(chainId, anchor));
    this.anchor = anchor;
  }

  /** The EIP-712 domain of this digester. */
  get domain(): ReadingDomain {
    return readingDomain(this.chainId, this.anchor);
  }

  /** @throws {InvalidReadingError} */
  protected hashStruct(reading: Reading): Uint8Array {
    encodeIntoScratch(reading);
    return scratch.hashStruct();
  }
}

/**
 * Typed data of a reading for viem (`hashTypedData`, `signTypedData`,
 * `verifyTypedData`) and EIP-1193 wallets.
 *
 * @example
 * ```ts
 * import { hashTypedData } from "viem";
 * const domain = readingDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * hashTypedData(readingTypedData(domain, { device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1n,
 *   timestamp: 1_700_000_000n, dataHash: `0x${"11".repeat(32)}` }));
 * ```
 */
export function readingTypedData(domain: ReadingDomain, reading: Reading) {
  return {
    domain,
    types: READING_TYPES,
    primaryType: "Reading",
    message: reading,
  } as const;
}

/**
 * The Reading of a canonical payload: device (checksummed), seq, ts as
 * `timestamp`, and `dataHash = keccak256(bytes)`.
 *
 * @throws {NonCanonicalJsonError | InvalidPayloadError}
 * @example
 * ```ts
 * import { buildPayload } from "./payload.js";
 * const { bytes } = buildPayload({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1, ts: 1_700_000_000 });
 * readingFromPayload(bytes); // { device, seq: 1n, timestamp: 1700000000n, dataHash: "0x…" }
 * ```
 */
export function readingFromPayload(bytes: Uint8Array): Reading {
  const value = parsePayload(bytes);
  return {
    device: getAddress(value.device),
    seq: BigInt(value.seq),
    timestamp: BigInt(value.ts),
    dataHash: dataHash(bytes),
  };
}

/**
 * A reading in JSON form (uint64 fields as decimal strings, device checksummed, dataHash lowercase).
 *
 * @throws {InvalidReadingError}
 * @example
 * ```ts
 * readingToJson({ device: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", seq: 1n, timestamp: 2n,
 *   dataHash: `0x${"AB".repeat(32)}` });
 * // { device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: "1", timestamp: "2", dataHash: "0xabab…" }
 * ```
 */
export function readingToJson(reading: Reading): ReadingJson {
  encodeIntoScratch(reading); // validates every field
  return {
    device: getAddress(reading.device),
    seq: reading.seq.toString(),
    timestamp: reading.timestamp.toString(),
    dataHash: reading.dataHash.toLowerCase() as Hex,
  };
}

const UINT_RE = /^(0|[1-9][0-9]{0,19})$/;

function parseUint64(value: unknown, field: string): bigint {
  if (typeof value !== "string" || !UINT_RE.test(value))
    throw new InvalidReadingError(field, "must be a decimal string without leading zeros");
  const x = BigInt(value);
  if (x > UINT64_MAX) throw new InvalidReadingError(field, "must be a uint64");
  return x;
}

/**
 * Parses a {@link ReadingJson} strictly: exact keys, checksummed device,
 * lowercase dataHash, canonical decimal uint64s (the form {@link readingToJson} makes).
 *
 * @throws {InvalidReadingError}
 * @example
 * ```ts
 * readingFromJson({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: "1", timestamp: "2",
 *   dataHash: `0x${"ab".repeat(32)}` }).seq; // 1n
 * ```
 */
export function readingFromJson(json: unknown): Reading {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new InvalidReadingError("$", "must be an object");
  const o = json as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (key !== "device" && key !== "seq" && key !== "timestamp" && key !== "dataHash") throw new InvalidReadingError(key, "unknown field");
  const { device, dataHash: hash } = o;
  if (typeof device !== "string" || checksumAddress(device) !== device)
    throw new InvalidReadingError("device", "must be a checksummed address");
  if (typeof hash !== "string" || !/^0x[0-9a-f]{64}$/.test(hash))
    throw new InvalidReadingError("dataHash", "must be 32 bytes of lowercase 0x hex");
  return {
    device: device as Address,
    seq: parseUint64(o.seq, "seq"),
    timestamp: parseUint64(o.timestamp, "timestamp"),
    dataHash: hash as Hex,
  };
}
