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
