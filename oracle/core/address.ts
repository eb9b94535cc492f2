/**
 * EIP-55 checksummed addresses on hot paths: every reading names its device, and the same few
 * thousand devices come back every minute.
 *
 * @module
 */
import { getAddress, type Address } from "viem";

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const MAX_CACHED = 65_536;
// A plain Map, emptied when full: viem's own LRU moves an entry on every hit, which on the intake path
// cost more than the keccak it saves.
const checksummed = new Map<string, Address>();

/**
 * The EIP-55 form of a 20-byte hex address in any letter case (as viem's `getAddress`), or undefined
 * when `value` is not one.
 *
 * @example
 * ```ts
 * checksumAddress("0x70997970c51812dc3a010c7d01b50e0d17dc79c8"); // "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
 * checksumAddress("0x1234"); // undefined
 * ```
 */
export function checksumAddress(value: string): Address | undefined {
  let address = checksummed.get(value);
  if (address !== undefined) return address;
  if (!ADDRESS.test(value)) return undefined;
  address = getAddress(value);
  if (checksummed.size >= MAX_CACHED) checksummed.clear();
  checksummed.set(value, address);
  return address;
}
