/**
 * Device signatures as the verifier checks them on the calling thread: a reading signed by its
 * device's registered key (EIP-712 `Reading` on the anchor's domain), and what a platform payload
 * says (its reading, its hash, whether the device signed it).
 *
 * @module
 */
import type { Hex } from "viem";

import { hexToBytes } from "../core/bytes.js";
import { verifyDeviceSignature } from "../core/keys.js";
import { dataHash } from "../core/payload.js";
import { readingFromPayload, type Reading, type ReadingDigester } from "../core/reading.js";
import type { DeviceDirectory } from "./audit.js";
import type { PlatformReading } from "./sources.js";

/** A platform payload, read: its bytes, hash, reading (when it parses) and whether the device signed it. */
export interface PayloadInfo {
  bytes: Uint8Array;
  hash: Hex;
  reading?: Reading;
  signed: boolean;
}

/** Checks readings against the registry's keys. */
export class DeviceSignatures {
  constructor(
    private readonly directory: DeviceDirectory,
    private readonly digester: ReadingDigester,
  ) {}

  /** True when `signature` over `reading` is by the device's registered key. */
  signed(reading: Reading, signature: Hex): boolean {
    const key = this.directory.device(reading.device);
    if (key === undefined) return false;
    try {
      return verifyDeviceSignature({
        scheme: key.scheme,
        publicKey: key.publicKey,
        digest: this.digester.digest(reading),
        signature: hexToBytes(signature),
      });
    } catch {
      return false;
    }
  }

  /** A raw payload's reading, whether its signature is valid, and its hash. */
  payloadInfo(raw: PlatformReading): PayloadInfo {
    const bytes = new Uint8Array(Buffer.from(raw.payload, "utf8"));
    const hash = dataHash(bytes);
    let reading: Reading | undefined;
    try {
      reading = readingFromPayload(bytes);
    } catch {
      reading = undefined;
    }
    return {
      bytes,
      hash,
      ...(reading === undefined ? {} : { reading }),
      signed: reading !== undefined && this.signed(reading, raw.signature),
    };
  }
}
