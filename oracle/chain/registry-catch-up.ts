/**
 * The one "unknown device → catch the registry index up once" rule of the services that take
 * readings in: a device registered since the index's last poll is found after one forced sync, and
 * a flood of readings from devices that do not exist forces at most one sync per interval.
 *
 * @module
 */
import type { Address } from "viem";

import type { AdmissionDevice, AdmissionRegistry } from "../core/admission.js";
import type { DeviceStatus } from "../core/device-status.js";
import { SensorSealError } from "../core/errors.js";

/** What the catch-up needs of a registry index (a `RegistryIndex` has it). */
export interface SyncableRegistry<D extends AdmissionDevice> {
  device(device: Address): D | undefined;
  statusAt(device: Address, timestamp: number | bigint): DeviceStatus;
  sync(): Promise<void>;
}

/** Options of {@link RegistryCatchUp}. */
export interface RegistryCatchUpOptions {
  /** Least time between two syncs forced by an unknown device, ms. */
  minIntervalMs: number;
  /** The clock, ms (tests may pin it). */
  now?: () => number;
  /**
   * When the forced sync fails: false (default) throws {@link RegistryUnavailableError}; true
   * answers "unknown" from what the index has.
   */
  ignoreSyncErrors?: boolean;
}

/** The registry could not be read to catch up with a device it does not know yet. */
export class RegistryUnavailableError extends SensorSealError {
  override name = "RegistryUnavailableError" as const;
  declare readonly code: "REGISTRY_UNAVAILABLE";
  constructor(options: { cause?: unknown } = {}) {
    super("REGISTRY_UNAVAILABLE", "device registry cannot be read now", { cause: options.cause });
  }
}

/**
 * A registry view for reading admission whose lookup catches the index up once (rate-limited)
 * when it does not know a device.
 *
 * @example
 * const registry = new RegistryCatchUp(index, { minIntervalMs: 1000 });
 * const verdict = await admitReading({ reading, signature, registry, digester, nowMs: Date.now(), maxClockSkewSeconds: 300 });
 */
export class RegistryCatchUp<D extends AdmissionDevice> implements AdmissionRegistry<D> {
  readonly #registry: SyncableRegistry<D>;
  readonly #options: Required<RegistryCatchUpOptions>;
  #lastForcedSync = Number.NEGATIVE_INFINITY;
  #forcedSync: Promise<void> | undefined;

  constructor(registry: SyncableRegistry<D>, options: RegistryCatchUpOptions) {
    this.#registry = registry;
    this.#options = { now: Date.now, ignoreSyncErrors: false, ...options };
  }

  /** The device; one it does not know triggers one catch-up (concurrent callers share the sync). */
  async lookUp(device: Address): Promise<D | undefined> {
    const known = this.#registry.device(device);
    if (known !== undefined) return known;
    // A sync already under way may bring this device too: wait for it rather than answer "unknown"
    // (readings of one request are admitted concurrently).
    if (this.#forcedSync !== undefined) {
      await this.#forcedSync;
      return this.#registry.device(device);
    }
    const nowMs = this.#options.now();
    if (nowMs - this.#lastForcedSync < this.#options.minIntervalMs) return undefined;
    this.#lastForcedSync = nowMs;
    this.#forcedSync = this.#sync().finally(() => {
      this.#forcedSync = undefined;
    });
    await this.#forcedSync;
    return this.#registry.device(device);
  }

  async #sync(): Promise<void> {
    try {
      await this.#registry.sync();
    } catch (cause) {
      if (!this.#options.ignoreSyncErrors) throw new RegistryUnavailableError({ cause });
    }
  }

  statusAt(device: Address, timestamp: number | bigint): DeviceStatus {
    return this.#registry.statusAt(device, timestamp);
  }
}
