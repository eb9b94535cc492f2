/**
 * Random values and assertions for the core tests. Helper only: importing it does nothing.
 */
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";

import { getAddress, type Address, type Hex } from "viem";

import { SensorSealError } from "../../oracle/core/errors.js";
import type { Reading } from "../../oracle/core/reading.js";

/** A random checksummed address. */
export function randomAddress(): Address {
  return getAddress(`0x${randomBytes(20).toString("hex")}`);
}

/** Random 32 bytes as hex. */
export function randomHash(): Hex {
  return `0x${randomBytes(32).toString("hex")}`;
}

/** A random uint64 as a bigint, sometimes at the edges of the range. */
export function randomUint64(): bigint {
  switch (randomInt(8)) {
    case 0:
      return 0n;
    case 1:
      return (1n << 64n) - 1n;
    case 2:
      return BigInt(randomInt(1, 1000));
    default:
      return randomBytes(8).readBigUInt64BE();
  }
}

/** A random reading (seq and timestamp anywhere in uint64). */
export function randomReading(): Reading {
  return { device: randomAddress(), seq: randomUint64(), timestamp: randomUint64(), dataHash: randomHash() };
}

/** The StandardMerkleTree value of a reading. */
export function readingValue(r: Reading): [Address, bigint, bigint, Hex] {
  return [r.device, r.seq, r.timestamp, r.dataHash];
}

/**
 * Asserts that `fn` throws a SensorSeal error with this `name`, and whose
 * `details` include the given entries (other entries are ignored).
 */
export function assertThrowsTyped(fn: () => unknown, name: string, details: Record<string, unknown> = {}, message?: string): void {
  assert.throws(
    fn,
    (err: unknown) => {
      assert.ok(err instanceof SensorSealError, `${message ?? ""}: not a SensorSealError: ${String(err)}`);
      assert.equal(err.name, name, message);
      for (const [k, v] of Object.entries(details)) assert.deepEqual(err.details?.[k], v, `${message ?? ""}: details.${k}`);
      return true;
    },
    message,
  );
}
