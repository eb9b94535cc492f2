import type { Address } from "viem";

import { admitReading } from "../core/admission.js";
import { hexToBytes } from "../core/bytes.js";
import { SensorSealError } from "../core/errors.js";
import { ReadingDigester, readingFromPayload, type Reading } from "../core/reading.js";
import { RegistryCatchUp, RegistryUnavailableError } from "../chain/registry-catch-up.js";
import type { RegistryIndex } from "../chain/registry-index.js";
import { ServiceError } from "../service/errors.js";
import type { SignaturePool } from "../service/signature-pool.js";

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
  /** Checks signatures on worker threads; without it they are checked on the event loop. */
  signatures?: SignaturePool;
}

const utf8 = new TextEncoder();
const SIGNATURE_RE = /^0x(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/;

/**
 * Checks submitted readings: shape and size, canonical, well-formed payload (oracle/core
 * `readingFromPayload`), then the shared reading admission (oracle/core/admission.ts: not in the
 * future, device known, signature, not revoked, Active at `ts`). Throws the {@link ServiceError}
 * the client gets, its status from the one code table; changes nothing.
 *
 * @example
 * const verifier = new ReadingVerifier({ domain: { chainId, anchor }, registry, maxPayloadBytes: 4096,
 *   maxClockSkewSeconds: 300, registryResyncMs: 1000 });
 * const verified = await verifier.verify({ payload: text, signature: "0x…" });
 */
export class ReadingVerifier {
  readonly #options: VerifierOptions;
  readonly #digester: ReadingDigester;
  readonly #registry: RegistryCatchUp<NonNullable<ReturnType<DeviceDirectory["device"]>>>;
  readonly #now: () => number;

  constructor(options: VerifierOptions) {
    this.#options = options;
    this.#digester = new ReadingDigester(options.domain.chainId, options.domain.anchor);
    this.#now = options.now ?? Date.now;
    this.#registry = new RegistryCatchUp(options.registry, { minIntervalMs: options.registryResyncMs, now: this.#now });
  }

  /** Verifies one submission (see the class doc); throws a {@link ServiceError} when it is refused. */
  async verify(item: unknown): Promise<VerifiedReading> {
    const { payload: text, signature: signatureHex } = checkShape(item);
    const payload = utf8.encode(text);
    if (payload.length > this.#options.maxPayloadBytes) {
      throw new ServiceError("PAYLOAD_TOO_LARGE", `payload is larger than ${this.#options.maxPayloadBytes} bytes`, {
        bytes: payload.length,
        maxBytes: this.#options.maxPayloadBytes,
      });
    }
    const reading = parseReading(text, payload);
    const signature = hexToBytes(signatureHex);
    const pool = this.#options.signatures;
    let verdict;
    try {
      verdict = await admitReading({
        ...(pool === undefined
          ? {}
          : {
              verifySignature: (device, digest) => pool.verify({ scheme: device.scheme, publicKey: device.publicKey, digest, signature }),
            }),
        reading,
        signature,
        registry: this.#registry,
        digester: this.#digester,
        nowMs: this.#now(),
        maxClockSkewSeconds: this.#options.maxClockSkewSeconds,
      });
    } catch (error) {
      if (error instanceof RegistryUnavailableError)
        throw ServiceError.of("REGISTRY_UNAVAILABLE", error.shortMessage, undefined, { cause: error });
      throw error;
    }
    if (!verdict.ok) throw ServiceError.of(verdict.code, verdict.message, verdict.details);
    return { reading, payload, signature };
  }
}

function checkShape(item: unknown): Submission {
  if (typeof item !== "object" || item === null || Array.isArray(item)) {
    throw new ServiceError("INVALID_PAYLOAD", "a reading is an object { payload, signature }");
  }
  const { payload, signature } = item as Record<string, unknown>;
  if (typeof payload !== "string") {
    throw new ServiceError("INVALID_PAYLOAD", "payload must be the payload's canonical JSON text", { field: "payload" });
  }
  if (typeof signature !== "string" || !SIGNATURE_RE.test(signature)) {
    throw new ServiceError("INVALID_SIGNATURE", "signature must be 0x hex of 64 (P-256) or 65 (secp256k1) bytes", {
      field: "signature",
    });
  }
  return { payload, signature };
}

function parseReading(text: string, payload: Uint8Array): Reading {
  try {
    JSON.parse(text);
  } catch {
    throw new ServiceError("INVALID_PAYLOAD", "payload is not JSON", { field: "payload" });
  }
  try {
    return readingFromPayload(payload);
  } catch (error) {
    if (error instanceof SensorSealError && error.code === "NON_CANONICAL_JSON") {
      throw new ServiceError("NON_CANONICAL_PAYLOAD", "payload is not canonical JSON (RFC 8785)", error.details, {
        cause: error,
      });
    }
    if (error instanceof SensorSealError) {
      throw new ServiceError("INVALID_PAYLOAD", error.shortMessage, error.details, { cause: error });
    }
    throw error;
  }
}
