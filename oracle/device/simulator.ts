/**
 * A fleet simulator: N devices (1 to 100,000) taking air-quality readings on a simulated clock
 * (with a speed-up), from synthetic data or an archive replay (Sensor.Community, or OpenAQ and EPA
 * AQS stations), each reading signed by its device key and delivered through one shared outbox and
 * delivery worker.
 *
 * Memory stays bounded for 100,000 devices: no key file is held open (seeded keys are derived
 * on demand, key files are read once), and per-device state is a few numbers in typed arrays
 * plus a cached address. Readings go to disk (the outbox) before they are sent.
 *
 * Clocks: the simulated clock runs `speedup` × wall time from `startTime`. It drives the data
 * (synthetic diurnal curves, replay position). A payload's `ts` is the wall-clock time of
 * signing by default (`timestamps: "wall"`, what a real device does, and what the platform,
 * relayer and anchor accept: they refuse timestamps in the future and before registration), or
 * the simulated time (`timestamps: "simulated"`, e.g. to replay the archive at its own dates
 * into an outbox).
 *
 * @module
 */
import path from "node:path";

import type { Address } from "viem";

import type { KeyScheme } from "../core/keys.js";
import { ReadingDigester } from "../core/reading.js";
import { signReading, type ReadingFields, type SignedReading } from "./client.js";
import { DeliveryWorker } from "./delivery.js";
import { DeviceConfigError, KeyFileNotFoundError } from "./errors.js";
import { DueHeap } from "./due-heap.js";
import { Outbox } from "./outbox.js";
import { TokenError } from "./pkcs11-errors.js";
import { Pkcs11SecureElement } from "./pkcs11-secure-element.js";
import { formatPkcs11Uri } from "./pkcs11-uri.js";
import { ProgressReporter } from "./simulation-progress.js";
import { replayFields, type ReplaySeries } from "./sensor-community.js";
import { stationFields, type StationSeries } from "./station-import.js";
import { SoftwareSecureElement, type SecureElement } from "./secure-element.js";
import { SeededSecureElement } from "./simulated-keys.js";
import {
  MAX_SIMULATED_DEVICES,
  type DeviceIdentity,
  type SimulationSummary,
  type SimulatorKeys,
  type SimulatorOptions,
} from "./simulator-options.js";
import { SyntheticWeather } from "./synthetic.js";

export { deriveSimulatedDeviceKey, SeededSecureElement } from "./simulated-keys.js";
export * from "./simulator-options.js";

/**
 * Runs a fleet of simulated devices.
 *
 * @example
 * ```ts
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Simulator } from "./simulator.js";
 * const sim = await Simulator.create({
 *   devices: 1000, keys: { kind: "seed", seed: "demo" }, speedup: 3600, durationSeconds: 120,
 *   chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
 *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547",
 *   outboxFile: join(mkdtempSync(join(tmpdir(), "sensorseal-sim-")), "outbox.sqlite"),
 *   deliver: false, // only fill the outbox; with the stack running, leave this out
 *   progress: false,
 * });
 * const summary = await sim.run(); // 1000 devices × 2 readings (one per simulated minute)
 * summary.readings; // 2000
 * ```
 */
export class Simulator {
  readonly options: Readonly<SimulatorOptions>;
  readonly outbox: Outbox;
  readonly worker: DeliveryWorker | undefined;
  readonly digester: ReadingDigester;
  readonly #devices: number;
  readonly #addresses: (Address | undefined)[];
  readonly #nextSeq: Float64Array;
  readonly #elements: (SecureElement | undefined)[];
  readonly #weather: SyntheticWeather | undefined;
  readonly #cursor: Uint32Array | undefined;
  /** Replay: time shift of a looped series, per device (seconds). */
  readonly #loopShift: Float64Array | undefined;
  readonly #heap: DueHeap;
  readonly #startTime: number;
  readonly #interval: number;
  readonly #speedup: number;
  #stopRequested = false;
  #registered = false;
  #readings = 0;

  private constructor(options: SimulatorOptions, elements: (SecureElement | undefined)[]) {
    this.options = options;
    this.#devices = options.devices;
    this.#elements = elements;
    this.#addresses = new Array<Address | undefined>(options.devices);
    for (let i = 0; i < elements.length; i++) this.#addresses[i] = elements[i]?.address;
    this.#nextSeq = new Float64Array(options.devices);
    this.#interval = options.intervalSeconds ?? 60;
    this.#speedup = options.speedup ?? 1;
    this.digester = new ReadingDigester(options.chainId, options.anchor);
    const source = options.source ?? { kind: "synthetic" };
    this.#heap = new DueHeap(options.devices);
    if (source.kind === "replay" || source.kind === "stations") {
      this.#cursor = new Uint32Array(options.devices);
      this.#loopShift = new Float64Array(options.devices);
      let earliest = Infinity;
      for (let i = 0; i < Math.min(options.devices, source.series.length); i++) {
        earliest = Math.min(earliest, source.series[i]!.readings[0]!.ts);
      }
      this.#startTime = options.startTime ?? earliest;
      const shift = this.#startTime - earliest;
      for (let i = 0; i < options.devices; i++) {
        this.#loopShift[i] = shift;
        this.#heap.push(i, source.series[i % source.series.length]!.readings[0]!.ts + shift);
      }
    } else {
      this.#weather = new SyntheticWeather(
        source.seed ?? (options.keys.kind === "seed" ? options.keys.seed : "synthetic"),
        options.devices,
      );
      this.#startTime = options.startTime ?? Math.floor(Date.now() / 1000);
      // Stagger the fleet evenly over one interval.
      for (let i = 0; i < options.devices; i++) this.#heap.push(i, this.#startTime + (i * this.#interval) / options.devices);
    }
    this.outbox = Outbox.open(options.outboxFile, { retention: "delete", durability: "normal" });
    try {
      this.worker =
        options.deliver === false
          ? undefined
          : new DeliveryWorker({
              outbox: this.outbox,
              endpoints: { platform: options.platformUrl, relayer: options.relayerUrl },
              concurrency: options.concurrency ?? 64,
              autoStart: false,
              ...(options.retry === undefined ? {} : { retry: options.retry }),
              ...(options.retryCodes === undefined ? {} : { retryCodes: options.retryCodes }),
              ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
              ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
            });
    } catch (error) {
      this.outbox.close();
      throw error;
    }
  }

  /**
   * Validates the options, loads or creates key files (files mode) and opens the outbox.
   *
   * @throws {DeviceConfigError} on a bad option.
   * @example
   * ```ts
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * const sim = await Simulator.create({
   *   devices: 10, keys: { kind: "seed", seed: "demo" }, chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547",
   *   outboxFile: join(mkdtempSync(join(tmpdir(), "sensorseal-sim-")), "outbox.sqlite"),
   *   deliver: false, speedup: 1e6, maxReadings: 20, progress: false,
   * });
   * sim.devices; // 10
   * await sim.run();
   * ```
   */
  static async create(options: SimulatorOptions): Promise<Simulator> {
    const n = options.devices;
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_SIMULATED_DEVICES) {
      throw new DeviceConfigError("devices", `must be an integer from 1 to ${MAX_SIMULATED_DEVICES}`);
    }
    for (const [name, value] of [
      ["intervalSeconds", options.intervalSeconds],
      ["speedup", options.speedup],
      ["durationSeconds", options.durationSeconds],
    ] as const) {
      if (value !== undefined && !(Number.isFinite(value) && value > 0)) throw new DeviceConfigError(name, "must be a positive number");
    }
    if (options.maxReadings !== undefined && !(Number.isSafeInteger(options.maxReadings) && options.maxReadings > 0)) {
      throw new DeviceConfigError("maxReadings", "must be a positive integer");
    }
    const source = options.source ?? { kind: "synthetic" };
    if (source.kind !== "synthetic" && (source.series.length === 0 || source.series.some((s) => s.readings.length === 0))) {
      throw new DeviceConfigError("source.series", "must hold at least one series, each with readings");
    }
    const scheme = options.scheme ?? "p256";
    if (scheme !== "p256" && scheme !== "secp256k1" && scheme !== "mixed") {
      throw new DeviceConfigError("scheme", 'must be "p256", "secp256k1" or "mixed"');
    }
    const elements: (SecureElement | undefined)[] = [];
    const keys = options.keys;
    if (keys.kind === "files") {
      for (let i = 0; i < n; i++) {
        const file = path.join(keys.dir, `device-${i}.json`);
        try {
          elements.push(await SoftwareSecureElement.open(file, keys.password));
        } catch (error) {
          if (!(error instanceof KeyFileNotFoundError)) throw error;
          elements.push(
            await SoftwareSecureElement.create(schemeOf(scheme, i), file, keys.password, keys.scrypt ? { scrypt: keys.scrypt } : {}),
          );
        }
      }
    } else if (keys.kind === "pkcs11") {
      try {
        for (let i = 0; i < n; i++) elements.push(await tokenElement(keys, schemeOf(scheme, i), i));
      } catch (error) {
        await closeTokenElements(elements);
        throw error;
      }
    } else if (keys.kind !== "seed" || typeof keys.seed !== "string" || keys.seed.length === 0) {
      throw new DeviceConfigError("keys", 'must be { kind: "seed", seed }, { kind: "files", dir, password } or { kind: "pkcs11", token }');
    }
    return new Simulator({ ...options, scheme }, elements);
  }

  /** Number of devices. */
  get devices(): number {
    return this.#devices;
  }

  /** Readings made so far. */
  get readings(): number {
    return this.#readings;
  }

  /**
   * The secure element of device `index` (seeded elements are made on demand, addresses cached).
   *
   * @example
   * ```ts
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * const sim = await Simulator.create({
   *   devices: 10, keys: { kind: "seed", seed: "demo" }, chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547",
   *   outboxFile: join(mkdtempSync(join(tmpdir(), "sensorseal-sim-")), "outbox.sqlite"),
   *   deliver: false, speedup: 1e6, maxReadings: 20, progress: false,
   * });
   * sim.element(0).address; // "0x…"
   * await sim.run();
   * ```
   */
  element(index: number): SecureElement {
    const existing = this.#elements[index];
    if (existing !== undefined) return existing;
    const keys = this.options.keys as { kind: "seed"; seed: string };
    const element = new SeededSecureElement(keys.seed, schemeOf(this.options.scheme ?? "p256", index), index, this.#addresses[index]);
    this.#addresses[index] = element.address;
    return element;
  }

  /**
   * Device `index` as the registry needs it.
   *
   * @example
   * ```ts
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * const sim = await Simulator.create({
   *   devices: 10, keys: { kind: "seed", seed: "demo" }, chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547",
   *   outboxFile: join(mkdtempSync(join(tmpdir(), "sensorseal-sim-")), "outbox.sqlite"),
   *   deliver: false, speedup: 1e6, maxReadings: 20, progress: false,
   * });
   * const { address, scheme, publicKey } = sim.identity(3); // scheme "p256", publicKey 64 bytes
   * await sim.run();
   * ```
   */
  identity(index: number): DeviceIdentity {
    const element = this.element(index);
    return { index, scheme: element.scheme, address: element.address, publicKey: element.publicKey };
  }

  /**
   * Calls `options.register` with every device, in batches (done by {@link Simulator.run} first,
   * unless already done).
   *
   * @example
   * ```ts
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * const registered: string[] = [];
   * const sim = await Simulator.create({
   *   devices: 10, keys: { kind: "seed", seed: "demo" }, chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547",
   *   outboxFile: join(mkdtempSync(join(tmpdir(), "sensorseal-sim-")), "outbox.sqlite"),
   *   deliver: false, speedup: 1e6, maxReadings: 20, progress: false,
   *   register: async (batch) => void registered.push(...batch.map((d) => d.address)),
   * });
   * await sim.registerAll();
   * registered.length; // 10
   * await sim.run();
   * ```
   */
  async registerAll(): Promise<void> {
    const register = this.options.register;
    if (register === undefined || this.#registered) return;
    const size = this.options.registerBatchSize ?? 200;
    for (let start = 0; start < this.#devices; start += size) {
      const batch: DeviceIdentity[] = [];
      for (let i = start; i < Math.min(this.#devices, start + size); i++) batch.push(this.identity(i));
      await register(batch);
    }
    this.#registered = true;
  }

  /**
   * Asks a running {@link Simulator.run} to stop after the current tick.
   *
   * @example
   * ```ts
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * const sim = await Simulator.create({
   *   devices: 10, keys: { kind: "seed", seed: "demo" }, chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547",
   *   outboxFile: join(mkdtempSync(join(tmpdir(), "sensorseal-sim-")), "outbox.sqlite"),
   *   deliver: false, speedup: 1e6, maxReadings: 20, progress: false,
   * });
   * const stopOnCtrlC = () => sim.stop();
   * process.once("SIGINT", stopOnCtrlC);
   * await sim.run();
   * process.off("SIGINT", stopOnCtrlC);
   * ```
   */
  stop(): void {
    this.#stopRequested = true;
  }

  #simNow(wallStart: number): number {
    return this.#startTime + ((Date.now() - wallStart) / 1000) * this.#speedup;
  }

  /** The fields of device `index`'s next reading at simulated time `due`, and when its next one is due. */
  #produce(index: number, seq: number, due: number): { fields: ReadingFields; next: number | undefined } {
    const source = this.options.source ?? { kind: "synthetic" };
    if (source.kind === "synthetic") {
      return { fields: this.#weather!.reading(index, seq, due), next: due + this.#interval };
    }
    const series = source.series[index % source.series.length]!;
    const cursor = this.#cursor!;
    const shift = this.#loopShift!;
    const reading = series.readings[cursor[index]!]!;
    const fields =
      source.kind === "replay"
        ? replayFields(reading as ReplaySeries["readings"][number], (series as ReplaySeries).sensorId)
        : stationFields(reading as StationSeries["readings"][number], series as StationSeries);
    cursor[index]!++;
    if (cursor[index]! >= series.readings.length) {
      if (source.loop !== true) return { fields, next: undefined };
      // Loop: start over one median interval after the end.
      const first = series.readings[0]!.ts;
      const last = series.readings.at(-1)!.ts;
      const step = series.readings.length > 1 ? (last - first) / (series.readings.length - 1) : this.#interval;
      shift[index]! += last - first + step;
      cursor[index] = 0;
    }
    return { fields, next: series.readings[cursor[index]!]!.ts + shift[index]! };
  }

  /**
   * Registers the devices (if asked), then makes and sends readings until the duration, the
   * reading limit or the data runs out, or {@link Simulator.stop}; then waits for the outbox to
   * drain (up to `drainTimeoutMs`), stops the worker and closes the outbox (and the token sessions of
   * `pkcs11` keys).
   *
   * @example
   * ```ts
   * import { mkdtempSync } from "node:fs";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * const sim = await Simulator.create({
   *   devices: 10, keys: { kind: "seed", seed: "demo" }, chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547",
   *   outboxFile: join(mkdtempSync(join(tmpdir(), "sensorseal-sim-")), "outbox.sqlite"),
   *   deliver: false, speedup: 1e6, maxReadings: 20, progress: false,
   * });
   * const { readings, readingsPerSecond, delivery, reason } = await sim.run();
   * [readings, reason]; // [20, "maxReadings"]; delivery is undefined with deliver: false
   * ```
   */
  /** Signs every reading due by `simNow` (at most `maxPerTick`), appends them to the outbox and wakes the worker. */
  async #tick(simNow: number, endSim: number, maxPerTick: number): Promise<void> {
    const o = this.options;
    const batch: SignedReading[] = [];
    const indices: number[] = [];
    const tickStarted = Date.now();
    while (
      batch.length < maxPerTick &&
      this.#heap.size > 0 &&
      this.#heap.peekDue() <= simNow &&
      this.#heap.peekDue() < endSim &&
      // Leave the event loop to deliveries and progress at least every 25 ms.
      (batch.length % 64 !== 0 || Date.now() - tickStarted < 25)
    ) {
      if (o.maxReadings !== undefined && this.#readings + batch.length >= o.maxReadings) break;
      const { index, due } = this.#heap.pop();
      const element = this.element(index);
      if (this.#nextSeq[index] === 0) this.#nextSeq[index] = this.outbox.nextSeq(element.address);
      const seq = this.#nextSeq[index]!;
      const { fields, next } = this.#produce(index, seq, due);
      const ts = o.timestamps === "simulated" ? Math.floor(due) : Math.floor(Date.now() / 1000);
      batch.push(await signReading(element, this.digester, { seq, ts, fields }));
      indices.push(index);
      this.#nextSeq[index] = seq + 1;
      if (next !== undefined) this.#heap.push(index, next);
    }
    if (batch.length === 0) return;
    this.outbox.appendMany(batch);
    this.#readings += batch.length;
    this.worker?.kick();
    if (o.onReading) for (let k = 0; k < batch.length; k++) o.onReading(batch[k]!, indices[k]!);
  }

  async run(): Promise<SimulationSummary> {
    const o = this.options;
    const progress = o.progress === undefined ? process.stderr : o.progress;
    await this.registerAll();
    const wallStart = Date.now();
    const endSim = o.durationSeconds === undefined ? Infinity : this.#startTime + o.durationSeconds;
    const maxPerTick = o.maxPerTick ?? 2000;
    const tickMs = o.tickMs ?? 50;
    let reason: SimulationSummary["reason"] | undefined;
    this.worker?.start();

    const reporter = new ProgressReporter(progress, {
      wallStart,
      readings: () => this.#readings,
      pending: () => this.outbox.pendingCount("relayer"),
      stats: () => this.worker?.stats(),
      behindSeconds: () => Math.max(0, this.#simNow(wallStart) - Math.min(this.#heap.peekDue(), endSim)),
    });
    reporter.start(o.progressIntervalMs ?? 1000);

    try {
      while (reason === undefined) {
        if (this.#stopRequested) {
          reason = "stopped";
          break;
        }
        await this.#tick(Math.min(this.#simNow(wallStart), endSim), endSim, maxPerTick);
        if (o.maxReadings !== undefined && this.#readings >= o.maxReadings) reason = "maxReadings";
        else if (this.#heap.size === 0) reason = "endOfData";
        else if (this.#heap.peekDue() >= endSim) reason = "duration";
        else if (this.#heap.peekDue() <= this.#simNow(wallStart)) await new Promise((r) => setImmediate(r));
        else {
          const wait = ((this.#heap.peekDue() - this.#simNow(wallStart)) / this.#speedup) * 1000;
          await new Promise((r) => setTimeout(r, Math.max(0, Math.min(tickMs, wait))));
        }
      }
      if (this.worker !== undefined && (o.drainTimeoutMs ?? 60_000) > 0) {
        await this.worker.drain(o.drainTimeoutMs ?? 60_000).catch(() => undefined);
      }
    } finally {
      reporter.stop();
      await this.worker?.stop();
      reporter.write(true);
    }
    const delivery = this.worker?.stats();
    this.outbox.close();
    await closeTokenElements(this.#elements);
    const elapsedMs = Date.now() - wallStart;
    return {
      devices: this.#devices,
      readings: this.#readings,
      elapsedMs,
      readingsPerSecond: this.#readings / Math.max(0.001, elapsedMs / 1000),
      delivery,
      reason: reason ?? "stopped",
    };
  }
}

function schemeOf(scheme: KeyScheme | "mixed", index: number): KeyScheme {
  if (scheme !== "mixed") return scheme;
  return index % 2 === 0 ? "p256" : "secp256k1";
}

/** Device `index`'s key in the token: opened, or generated there on first use. */
async function tokenElement(keys: Extract<SimulatorKeys, { kind: "pkcs11" }>, scheme: KeyScheme, index: number): Promise<SecureElement> {
  const uri = formatPkcs11Uri({
    token: keys.token,
    object: `sim-device-${index}`,
    ...(keys.modulePath ? { modulePath: keys.modulePath } : {}),
  });
  const options = { uri, ...(keys.pin ? { pin: keys.pin } : {}) };
  try {
    return await Pkcs11SecureElement.open(options);
  } catch (error) {
    if (!(error instanceof TokenError && error.code === "TOKEN_OBJECT_NOT_FOUND")) throw error;
    return Pkcs11SecureElement.generate(scheme, options);
  }
}

/** Ends the token sessions (the last one finalizes the PKCS#11 module); other elements hold nothing. */
async function closeTokenElements(elements: readonly (SecureElement | undefined)[]): Promise<void> {
  await Promise.all(elements.map((e) => (e instanceof Pkcs11SecureElement ? e.close() : undefined)));
}
