/**
 * SIMULATION ONLY: device keys derived from a seed, so a simulator can run 100,000 devices
 * without a key file each. Anyone who knows the seed has every key.
 *
 * @module
 */
import { createHmac } from "node:crypto";

import { p256 } from "@noble/curves/nist.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import type { Address } from "viem";

import { deviceIdFromPublicKey, publicKeyFromPrivate, signDigest, type KeyScheme } from "../core/keys.js";
import { DeviceConfigError } from "./errors.js";
import type { SecureElement } from "./secure-element.js";

/**
 * SIMULATION ONLY. The private key of simulated device `index`:
 * `HMAC-SHA256(seed, "sensorseal/simulation/v1/<scheme>/<index>/<counter>")` with the first
 * counter that gives a valid scalar. Anyone who knows the seed has every key: never use this
 * for a real device (use {@link SoftwareSecureElement.create} or hardware).
 *
 * @example
 * ```ts
 * const key = deriveSimulatedDeviceKey("demo-seed", "p256", 0); // 32 bytes, the same every time
 * key.length; // 32
 * ```
 */
export function deriveSimulatedDeviceKey(seed: string, scheme: KeyScheme, index: number): Uint8Array {
  if (typeof seed !== "string" || seed.length === 0) throw new DeviceConfigError("seed", "must be a non-empty string");
  for (let counter = 0; counter < 64; counter++) {
    const key = new Uint8Array(createHmac("sha256", seed).update(`sensorseal/simulation/v1/${scheme}/${index}/${counter}`).digest());
    // 0 < k < n; a miss has probability ~2^-32 (P-256) or ~2^-128 (secp256k1).
    if ((scheme === "p256" ? p256 : secp256k1).utils.isValidSecretKey(key)) return key;
  }
  throw new DeviceConfigError("seed", "derives no valid key"); // unreachable in practice
}

/**
 * SIMULATION ONLY. A secure element whose key is re-derived from a seed at each signature
 * ({@link deriveSimulatedDeviceKey}), so 100,000 of them cost almost nothing to keep.
 *
 * @example
 * ```ts
 * const se = new SeededSecureElement("demo-seed", "secp256k1", 42);
 * (await se.sign(new Uint8Array(32))).length; // 65
 * ```
 */
export class SeededSecureElement implements SecureElement {
  readonly scheme: KeyScheme;
  readonly address: Address;
  readonly #seed: string;
  readonly #index: number;

  constructor(seed: string, scheme: KeyScheme, index: number, address?: Address) {
    this.#seed = seed;
    this.scheme = scheme;
    this.#index = index;
    this.address = address ?? deviceIdFromPublicKey(publicKeyFromPrivate(scheme, deriveSimulatedDeviceKey(seed, scheme, index)));
  }

  get publicKey(): Uint8Array {
    return publicKeyFromPrivate(this.scheme, deriveSimulatedDeviceKey(this.#seed, this.scheme, this.#index));
  }

  async sign(digest: Uint8Array): Promise<Uint8Array> {
    return signDigest(this.scheme, deriveSimulatedDeviceKey(this.#seed, this.scheme, this.#index), digest);
  }
}
