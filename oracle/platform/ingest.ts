import type { Address } from "viem";

import { hexToBytes } from "../core/bytes.js";
import { SensorSealError } from "../core/errors.js";
import { verifyDeviceSignature } from "../core/keys.js";
import { ReadingDigester, readingFromPayload, type Reading } from "../core/reading.js";
import { DEVICE_STATUS_NAMES, DeviceStatus, type RegistryIndex } from "../chain/registry-index.js";
import { ServiceError } from "../service/errors.js";

/** What the platform needs of the registry index (a {@link RegistryIndex} has it). */
export type DeviceDirectory = Pick<RegistryIndex, "device" | "statusAt" | "sync">;

/** One submitted reading as sent: the payload as text and the signature as hex. */
export interface Submission {
  payload: string;
  signature: string;
}

/** A submission that passed every check, ready to store. */
export interface VerifiedReading {
  reading: Reading;
  payload: Uint8Array;
  signature: Uint8Array;
}

export interface VerifierOptions {
  /** The EIP-712 domain readings are signed on: the audit chain and its ReadingAnchor. */
  domain: { chainId: number; anchor: Address };
  registry: DeviceDirectory;
  /** Largest payload in bytes (UTF-8). */
  maxPayloadBytes: number;
  /** How far past the platform's clock a reading's `ts` may be (the anchor allows 300 s). */
  maxClockSkewSeconds: number;
  /** Least time between two registry syncs forced by a reading of a device the index does not know. */
  registryResyncMs: number;
  /** The clock, in ms (tests may pin it). */
  now?: () => number;
}

const utf8 = new TextEncoder();
const SIGNATURE_RE = /^0x(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/;

/**
 * Checks submitted readings: canonical, well-formed payload (oracle/core `readingFromPayload`),
 * signature over the EIP-712 Reading digest by the device's registered key and scheme, device
 * Active at the payload's `ts` and not revoked now, `ts` not in the future. Throws the
 * {@link ServiceError} the client gets; changes nothing.
 *
 * @example
 * const verifier = new ReadingVerifier({ domain: { chainId, anchor }, registry, maxPayloadBytes: 4096,
 *   maxClockSkewSeconds: 300, registryResyncMs: 1000 });
 * const verified = await verifier.verify({ payload: text, signature: "0x…" });
 */
export class ReadingVerifier {
  readonly #options: VerifierOptions;
  readonly #digester: ReadingDigester;
  readonly #now: () => number;
  #lastForcedSync = 0;

  constructor(options: VerifierOptions) {
    this.#options = options;
    this.#digester = new ReadingDigester(options.domain.chainId, options.domain.anchor);
    this.#now = options.now ?? Date.now;
  }

  /** Verifies one submission (see the class doc); throws a {@link ServiceError} when it is refused. */
  async verify(item: unknown): Promise<VerifiedReading> {
    const { payload: text, signature: signatureHex } = checkShape(item);
    const payload = utf8.encode(text);
    if (payload.length > this.#options.maxPayloadBytes) {
      throw new ServiceError(413, "PAYLOAD_TOO_LARGE", `payload is larger than ${this.#options.maxPayloadBytes} bytes`, {
        bytes: payload.length,
        maxBytes: this.#options.maxPayloadBytes,
      });
    }
    const reading = parseReading(text, payload);
    const signature = hexToBytes(signatureHex);

    const now = Math.floor(this.#now() / 1000);
    if (Number(reading.timestamp) > now + this.#options.maxClockSkewSeconds) {
      throw new ServiceError(400, "INVALID_PAYLOAD", "reading timestamp is in the future", {
        field: "ts",
        ts: Number(reading.timestamp),
        now,
        maxClockSkewSeconds: this.#options.maxClockSkewSeconds,
      });
    }

    const device = await this.#lookUp(reading.device);
    if (device === undefined) {
      throw new ServiceError(422, "UNKNOWN_DEVICE", "device is not registered", { device: reading.device });
    }
    let valid: boolean;
    try {
      valid = verifyDeviceSignature({
        scheme: device.scheme,
        publicKey: device.publicKey,
        digest: this.#digester.digest(reading),
        signature,
      });
    } catch (error) {
      if (!(error instanceof SensorSealError)) throw error;
      valid = false; // malformed for the device's scheme (length, high s, not on the curve)
    }
    if (!valid) {
      throw new ServiceError(400, "INVALID_SIGNATURE", "signature does not verify for the device's registered key", {
        device: reading.device,
        scheme: device.scheme,
      });
    }

    // Active at the reading's time, and not revoked since: a revoked device's key may be in other
    // hands, and the anchor refuses its readings whatever their timestamp.
    const status = this.#options.registry.statusAt(reading.device, reading.timestamp);
    if (status !== DeviceStatus.Active || device.status === DeviceStatus.Revoked) {
      throw new ServiceError(422, "DEVICE_NOT_ACTIVE", "device is not active for this reading", {
        device: reading.device,
        at: Number(reading.timestamp),
        statusAt: DEVICE_STATUS_NAMES[status],
        statusNow: DEVICE_STATUS_NAMES[device.status],
      });
    }
    return { reading, payload, signature };
  }

  /** The device from the index; a device it does not know yet triggers one (rate-limited) catch-up. */
  async #lookUp(device: Address): Promise<ReturnType<DeviceDirectory["device"]>> {
    const known = this.#options.registry.device(device);
    if (known !== undefined) return known;
    const nowMs = this.#now();
    if (nowMs - this.#lastForcedSync < this.#options.registryResyncMs) return undefined;
    this.#lastForcedSync = nowMs;
    try {
      await this.#options.registry.sync();
    } catch (cause) {
      throw new ServiceError(503, "REGISTRY_UNAVAILABLE", "device registry cannot be read now", undefined, { cause });
    }
    return this.#options.registry.device(device);
  }
}

function checkShape(item: unknown): Submission {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    throw new ServiceError(400, "INVALID_PAYLOAD", "a reading is an object { payload, signature }");
  }
  const { payload, signature } = item as Record<string, unknown>;
  if (typeof payload !== "string") {
    throw new ServiceError(400, "INVALID_PAYLOAD", "payload must be the payload's canonical JSON text", { field: "payload" });
  }
  if (typeof signature !== "string" || !SIGNATURE_RE.test(signature)) {
    throw new ServiceError(400, "INVALID_SIGNATURE", "signature must be 0x hex of 64 (P-256) or 65 (secp256k1) bytes", {
      field: "signature",
    });
  }
  return { payload, signature };
}

function parseReading(text: string, payload: Uint8Array): Reading {
  try {
    JSON.parse(text);
  } catch {
    throw new ServiceError(400, "INVALID_PAYLOAD", "payload is not JSON", { field: "payload" });
  }
  try {
    return readingFromPayload(payload);
  } catch (error) {
    if (error instanceof SensorSealError && error.code === "NON_CANONICAL_JSON") {
      throw new ServiceError(400, "NON_CANONICAL_PAYLOAD", "payload is not canonical JSON (RFC 8785)", error.details, {
        cause: error,
      });
    }
    if (error instanceof SensorSealError) {
      throw new ServiceError(400, "INVALID_PAYLOAD", error.shortMessage, error.details, { cause: error });
    }
    throw error;
  }
}
