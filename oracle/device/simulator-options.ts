/**
 * What a fleet simulation is configured with (devices, keys, data source, clocks, delivery) and
 * what a run reports.
 *
 * @module
 */
import type { Address } from "viem";

import type { KeyScheme } from "../core/keys.js";
import type { SignedReading } from "./client.js";
import type { DeliveryStats, DeliveryWorkerOptions, RetryPolicy } from "./delivery.js";
import type { ScryptParams } from "./secure-element.js";
import type { ReplaySeries } from "./sensor-community.js";
import type { StationSeries } from "./station-import.js";

/** Most devices one simulator runs. */
export const MAX_SIMULATED_DEVICES = 100_000;

/** A simulated device as the registry sees it. */
export type DeviceIdentity = {
  index: number;
  scheme: KeyScheme;
  address: Address;
  /** 64 bytes x ‖ y. */
  publicKey: Uint8Array;
};

/** Where simulated devices' keys come from. */
export type SimulatorKeys =
  /** SIMULATION ONLY: derived from a seed ({@link deriveSimulatedDeviceKey}); scales to 100,000 devices. */
  | { kind: "seed"; seed: string }
  /**
   * Encrypted key files `device-<index>.json` in `dir` (made on first use, opened after).
   * Each costs one scrypt at start: meant for tens to hundreds of devices.
   */
  | { kind: "files"; dir: string; password: string; scrypt?: Partial<ScryptParams> }
  /**
   * Keys generated inside a PKCS#11 token (SoftHSM2 in `npm start`), labelled `sim-device-<index>`
   * (made on first use, opened after); the PIN from `pin` or SENSORSEAL_PKCS11_PIN.
   */
  | { kind: "pkcs11"; token: string; modulePath?: string; pin?: string };

/** What the devices measure. */
export type SimulatorSource =
  | { kind: "synthetic"; seed?: string }
  /** Device `i` replays series `i mod series.length`; `loop` restarts a finished series. */
  | { kind: "replay"; series: readonly ReplaySeries[]; loop?: boolean }
  /** The same for station archives (OpenAQ, EPA AQS: `loadOpenAq`, `loadEpaAqsHourly`); fields by `stationFields`. */
  | { kind: "stations"; series: readonly StationSeries[]; loop?: boolean };

/** Options of {@link Simulator.create}. */
export type SimulatorOptions = {
  /** 1 to 100,000. */
  devices: number;
  /** Key scheme of every device, or `"mixed"` (even index P-256, odd secp256k1). Default `"p256"`. */
  scheme?: KeyScheme | "mixed";
  keys: SimulatorKeys;
  /** Default synthetic. */
  source?: SimulatorSource;
  /** Synthetic: simulated seconds between two readings of a device (default 60). */
  intervalSeconds?: number;
  /** Simulated seconds per wall-clock second (default 1). */
  speedup?: number;
  /** Start of the simulated clock, unix s (default: now for synthetic, the earliest archive time for replay). */
  startTime?: number;
  /** Payload `ts`: wall clock (default) or simulated time. */
  timestamps?: "wall" | "simulated";
  /** Stop after this many simulated seconds: readings due in [start, start + duration) are made (default: no limit). */
  durationSeconds?: number;
  /** Stop after this many readings in all. */
  maxReadings?: number;
  chainId: number;
  anchor: Address;
  platformUrl: string;
  relayerUrl: string;
  /** One outbox for the whole fleet. */
  outboxFile: string;
  /** Send readings (default true); false only fills the outbox. */
  deliver?: boolean;
  /** Wait this long at the end for the outbox to drain (default 60 000 ms; 0 = don't wait). */
  drainTimeoutMs?: number;
  /** Readings in flight at once (default 64). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** 4xx codes retried for a while (default `UNKNOWN_DEVICE`, see {@link DeliveryWorkerOptions.retryCodes}). */
  retryCodes?: DeliveryWorkerOptions["retryCodes"];
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  /** Registers devices (e.g. on the audit chain) before any reading; called with batches. */
  register?: (devices: DeviceIdentity[]) => Promise<void>;
  /** Devices per `register` call (default 200). */
  registerBatchSize?: number;
  /** Progress lines (readings/s, sent, queued, failed); default stderr; false for none. */
  progress?: NodeJS.WritableStream | false;
  progressIntervalMs?: number;
  /** Called for every reading written to the outbox. */
  onReading?: (reading: SignedReading, deviceIndex: number) => void;
  /** Scheduler tick (default 50 ms) and most readings made per tick (default 2000). */
  tickMs?: number;
  maxPerTick?: number;
};

/** What a run did. */
export type SimulationSummary = {
  devices: number;
  readings: number;
  /** Wall-clock duration, ms. */
  elapsedMs: number;
  readingsPerSecond: number;
  delivery: DeliveryStats | undefined;
  /** Why it stopped. */
  reason: "duration" | "maxReadings" | "endOfData" | "stopped";
};
