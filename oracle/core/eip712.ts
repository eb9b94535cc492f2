/**
 * EIP-712 hashing shared by every typed message of SensorSeal (readings, receipts, oracle messages,
 * claims): the domain separator of `{name, version, chainId, verifyingContract}` and the final
 * `keccak256(0x1901 ‖ domainSeparator ‖ structHash)`, computed with the fast keccak.
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { bytesToHex, hexToBytes } from "./bytes.js";
import { InvalidArgumentError } from "./errors.js";
import { keccak256 } from "./keccak.js";

const utf8 = new TextEncoder();
const DOMAIN_TYPEHASH = keccak256(utf8.encode("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
const UINT256_MAX = (1n << 256n) - 1n;

/**
 * `hashStruct(EIP712Domain{name, version, chainId, verifyingContract})`.
 *
 * @throws {InvalidArgumentError} on a chain id that is not a uint256 or a bad address.
 * @example
 * ```ts
 * eip712DomainSeparator("SensorSeal", "1", 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"); // 32 bytes
 * ```
 */
export function eip712DomainSeparator(name: string, version: string, chainId: number | bigint, verifyingContract: Address): Uint8Array {
  const id = typeof chainId === "number" && Number.isSafeInteger(chainId) ? BigInt(chainId) : chainId;
  if (typeof id !== "bigint" || id < 0n || id > UINT256_MAX) throw new InvalidArgumentError("chainId", "must be a uint256");
  let address: Uint8Array;
  try {
    address = hexToBytes(verifyingContract, 20);
  } catch {
    throw new InvalidArgumentError("verifyingContract", "must be a 20-byte 0x address");
  }
  const enc = new Uint8Array(160);
  enc.set(DOMAIN_TYPEHASH, 0);
  enc.set(keccak256(utf8.encode(name)), 32);
  enc.set(keccak256(utf8.encode(version)), 64);
  let x = id;
  for (let i = 127; i >= 96 && x > 0n; i--, x >>= 8n) enc[i] = Number(x & 0xffn);
  enc.set(address, 140);
  return keccak256(enc);
}

/**
 * Final EIP-712 digests for one domain: the separator is computed once and kept in a reused
 * 66-byte buffer `0x1901 ‖ domainSeparator ‖ structHash` (calls are synchronous).
 *
 * @example
 * ```ts
 * const hasher = new TypedDataHasher(eip712DomainSeparator("SensorSeal", "1", 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"));
 * hasher.digest(new Uint8Array(32)); // 32 bytes
 * ```
 */
export class TypedDataHasher {
  /** The EIP-712 domain separator, hex. */
  readonly domainSeparator: Hex;
  readonly #prefix = new Uint8Array(66);

  constructor(separator: Uint8Array) {
    this.domainSeparator = bytesToHex(separator);
    this.#prefix[0] = 0x19;
    this.#prefix[1] = 0x01;
    this.#prefix.set(separator, 2);
  }

  /** `keccak256(0x1901 ‖ domainSeparator ‖ structHash)`. */
  digest(structHash: Uint8Array): Uint8Array {
    this.#prefix.set(structHash, 34);
    return keccak256(this.#prefix);
  }
}

const UINT64_MAX = (1n << 64n) - 1n;
const UINT32_MAX = 0xffffffff;

/**
 * A reused scratch buffer `typehash ‖ encodeData` for a struct whose fields are all static, so that
 * `encodeData` is its `abi.encode` (one 32-byte word a field). Fields are written at byte offsets
 * into the whole buffer (the first field's word starts at 32); the padding is never written, so it
 * stays zero. Calls are synchronous: encode, then read {@link StaticStructEncoder.encoded} or
 * {@link StaticStructEncoder.hashStruct} before the next encode. A bad field throws the error that
 * `invalid(field, reason)` makes.
 *
 * @example
 * ```ts
 * import { keccak256 } from "./keccak.js";
 * const typehash = keccak256(new TextEncoder().encode("Pair(address who,uint64 n)"));
 * const pair = new StaticStructEncoder(typehash, 2, (field, reason) => new Error(`${field} ${reason}`));
 * pair.writeHex("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 44, 20, "who");
 * pair.writeUint(7n, 64, 64, "n");
 * pair.encoded.length; // 64, = abi.encode(who, n)
 * pair.hashStruct(); // 32 bytes
 * ```
 */
export class StaticStructEncoder {
  /** `encodeData`: the buffer after the typehash (a view, overwritten by the next encode). */
  readonly encoded: Uint8Array;
  readonly #scratch: Uint8Array;
  readonly #view: DataView;
  readonly #buf: Buffer;
  readonly #invalid: (field: string, reason: string) => Error;

  constructor(typehash: Uint8Array, fields: number, invalid: (field: string, reason: string) => Error) {
    this.#scratch = new Uint8Array(32 * (fields + 1));
    this.#scratch.set(typehash, 0);
    this.#view = new DataView(this.#scratch.buffer);
    this.#buf = Buffer.from(this.#scratch.buffer);
    this.encoded = this.#scratch.subarray(32);
    this.#invalid = invalid;
  }

  /** Writes `bytes` bytes of `0x` hex at byte `offset` (an address at word + 12). */
  writeHex(hex: unknown, offset: number, bytes: number, field: string): void {
    if (
      typeof hex !== "string" ||
      hex.length !== 2 + 2 * bytes ||
      hex.charCodeAt(0) !== 48 ||
      hex.charCodeAt(1) !== 120 ||
      this.#buf.write(hex.slice(2), offset, bytes, "hex") !== bytes
    )
      throw this.#invalid(field, `must be ${bytes} bytes of 0x hex`);
  }

  /** Writes a uint64 or uint256 bigint into the word at byte `offset`. */
  writeUint(value: unknown, offset: number, bits: 64 | 256, field: string): void {
    if (typeof value !== "bigint" || value < 0n || value > (bits === 64 ? UINT64_MAX : UINT256_MAX))
      throw this.#invalid(field, `must be a uint${bits} bigint`);
    if (bits === 64) {
      this.#view.setBigUint64(offset + 24, value);
      return;
    }
    let x = value;
    for (let w = offset + 24; w >= offset; w -= 8, x >>= 64n) this.#view.setBigUint64(w, x & 0xffffffffffffffffn);
  }

  /** Writes a uint32 number into the word at byte `offset`. */
  writeUint32(value: unknown, offset: number, field: string): void {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > UINT32_MAX)
      throw this.#invalid(field, "must be a uint32 number");
    this.#view.setUint32(offset + 28, value);
  }

  /** `hashStruct = keccak256(typehash ‖ encodeData)` of what was written last. */
  hashStruct(): Uint8Array {
    return keccak256(this.#scratch);
  }
}

/**
 * Base of the digesters of one typed message on one domain (readings, receipts, oracle messages):
 * the domain separator is computed once; subclasses give `hashStruct`.
 *
 * @example
 * ```ts
 * import { keccak256 } from "./keccak.js";
 * class BytesDigester extends TypedDataDigester<Uint8Array> {
 *   protected hashStruct(message: Uint8Array): Uint8Array { return keccak256(message); }
 * }
 * new BytesDigester(31337, eip712DomainSeparator("SensorSeal", "1", 31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3"))
 *   .digestHex(new Uint8Array(32)); // "0x…"
 * ```
 */
export abstract class TypedDataDigester<T> {
  readonly chainId: number;
  /** The EIP-712 domain separator, hex. */
  readonly domainSeparator: Hex;
  readonly #hasher: TypedDataHasher;

  constructor(chainId: number, separator: Uint8Array) {
    this.#hasher = new TypedDataHasher(separator);
    this.chainId = chainId;
    this.domainSeparator = this.#hasher.domainSeparator;
  }

  /** `hashStruct(message)`: `keccak256(typehash ‖ encodeData(message))`. */
  protected abstract hashStruct(message: T): Uint8Array;

  /** `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(message))`. */
  digest(message: T): Uint8Array {
    return this.#hasher.digest(this.hashStruct(message));
  }

  /** {@link TypedDataDigester.digest} as hex. */
  digestHex(message: T): Hex {
    return bytesToHex(this.digest(message));
  }
}
