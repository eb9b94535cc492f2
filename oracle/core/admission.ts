/**
 * Reading admission, written once for every service that takes readings in (the platform and the
 * relayer): one check order, one verdict type, one code per refusal. The HTTP status of each code
 * is `ERROR_STATUS` in ./error-codes.ts.
 *
 * Check order (the first failing check is the verdict):
 * 1. FUTURE_TIMESTAMP: the reading's timestamp is more than the allowed skew ahead of the clock;
 * 2. UNKNOWN_DEVICE: the registry does not know the device;
 * 3. INVALID_SIGNATURE: the signature does not verify with the device's registered key and scheme
 *    over the EIP-712 Reading digest on the audit domain (chain id, anchor);
 * 4. DEVICE_REVOKED: the device is revoked now (its key may be in other hands; the anchor refuses
 *    its readings whatever their timestamp);
 * 5. DEVICE_NOT_ACTIVE: the device was not Active at the reading's timestamp.
 *
 * Refusals 4 and 5 come after the signature check, so they are `authentic`: the device did sign
 * the reading (a service may still answer an identical resend of an accepted reading with its receipt).
 *
 * Pure: the registry view is passed in (its lookup may be async, e.g. to catch an index up once).
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { DeviceStatus, deviceStatusName } from "./device-status.js";
import { SensorSealError } from "./errors.js";
import { verifyDeviceSignature, type KeyScheme } from "./keys.js";
import type { Reading, ReadingDigester } from "./reading.js";

/** The codes a reading can be refused with by admission (a subset of `ERROR_STATUS`). */
export const ADMISSION_CODES = ["FUTURE_TIMESTAMP", "UNKNOWN_DEVICE", "INVALID_SIGNATURE", "DEVICE_REVOKED", "DEVICE_NOT_ACTIVE"] as const;
export type AdmissionCode = (typeof ADMISSION_CODES)[number];

/** What admission needs of a registered device (a registry index's `IndexedDevice` has it). */
export interface AdmissionDevice {
  scheme: KeyScheme;
  /** 64 bytes x‖y. */
  publicKey: Uint8Array;
  /** The status now. */
  status: DeviceStatus;
}

/** The registry as admission sees it. */
export interface AdmissionRegistry<D extends AdmissionDevice = AdmissionDevice> {
  /** The device, or undefined when the registry does not know it. */
  lookUp(device: Address): D | undefined | Promise<D | undefined>;
  /** The status in force at `timestamp` (seconds). */
  statusAt(device: Address, timestamp: number | bigint): DeviceStatus;
}

/** A refusal: the code, a message for people, and the values that caused it. */
export interface AdmissionRefusal {
  ok: false;
  code: AdmissionCode;
  message: string;
  details: Record<string, unknown>;
  /** True when the signature verified (refused by the device's registry status only). */
  authentic: boolean;
}

/** The one verdict of reading admission. */
export type AdmissionVerdict<D extends AdmissionDevice = AdmissionDevice> = { ok: true; device: D } | AdmissionRefusal;

/** Parameters of {@link admitReading}. */
export interface AdmitReadingParameters<D extends AdmissionDevice> {
  reading: Reading;
  /** The device's signature (64-byte P-256 or 65-byte secp256k1), bytes or hex. */
  signature: Uint8Array | Hex;
  registry: AdmissionRegistry<D>;
  /** Reading digests on the audit domain (chain id, anchor). */
  digester: ReadingDigester;
  /** The service's clock, ms since the epoch. */
  nowMs: number;
  /** Largest accepted `timestamp − now`, seconds (the anchor's MAX_CLOCK_SKEW is 300). */
  maxClockSkewSeconds: number;
  /**
   * Checks the signature elsewhere (e.g. a worker-thread pool, oracle/service/signature-pool.ts), true
   * when it verifies; by default it is checked on the calling thread.
   */
  verifySignature?: (device: D, digest: Uint8Array, signature: Uint8Array | Hex) => boolean | Promise<boolean>;
}

/**
 * Judges one parsed reading (see the module doc for the check order). Throws nothing for a bad
 * reading: every refusal is a verdict.
 *
 * @example
 * const verdict = await admitReading({ reading, signature, registry, digester, nowMs: Date.now(), maxClockSkewSeconds: 300 });
 * if (!verdict.ok) throw ServiceError.of(verdict.code, verdict.message, verdict.details);
 */
export async function admitReading<D extends AdmissionDevice>(p: AdmitReadingParameters<D>): Promise<AdmissionVerdict<D>> {
  const { reading } = p;
  const nowSeconds = Math.floor(p.nowMs / 1000);
  if (reading.timestamp > BigInt(nowSeconds + p.maxClockSkewSeconds))
    return refuse("FUTURE_TIMESTAMP", `timestamp is more than ${p.maxClockSkewSeconds} s ahead of the service's clock`, false, {
      timestamp: reading.timestamp.toString(),
      now: String(nowSeconds),
      maxClockSkewSeconds: p.maxClockSkewSeconds,
    });
  const device = await p.registry.lookUp(reading.device);
  if (device === undefined) return refuse("UNKNOWN_DEVICE", "device is not in the registry", false, { device: reading.device });
  const digest = p.digester.digest(reading);
  const valid =
    p.verifySignature === undefined ? signatureValid(device, digest, p.signature) : await p.verifySignature(device, digest, p.signature);
  if (!valid)
    return refuse("INVALID_SIGNATURE", `signature does not verify for the device's ${device.scheme} key on this chain and anchor`, false, {
      device: reading.device,
      scheme: device.scheme,
    });
  if (device.status === DeviceStatus.Revoked)
    return refuse("DEVICE_REVOKED", "device is revoked", true, { device: reading.device, status: deviceStatusName(device.status) });
  const status = p.registry.statusAt(reading.device, reading.timestamp);
  if (status !== DeviceStatus.Active)
    return refuse("DEVICE_NOT_ACTIVE", `device was ${deviceStatusName(status)} at the reading's timestamp`, true, {
      device: reading.device,
      timestamp: reading.timestamp.toString(),
      status: deviceStatusName(status),
      statusNow: deviceStatusName(device.status),
    });
  return { ok: true, device };
}

function refuse(code: AdmissionCode, message: string, authentic: boolean, details: Record<string, unknown>): AdmissionRefusal {
  return { ok: false, code, message, details, authentic };
}

function signatureValid(device: AdmissionDevice, digest: Uint8Array, signature: Uint8Array | Hex): boolean {
  try {
    return verifyDeviceSignature({ scheme: device.scheme, publicKey: device.publicKey, digest, signature });
  } catch (error) {
    // Malformed for the device's scheme (length, high s, not on the curve): it does not verify.
    if (error instanceof SensorSealError) return false;
    throw error;
  }
}
