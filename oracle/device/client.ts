/**
 * The device client: builds each reading's canonical payload (fresh salt), hashes it, signs the
 * EIP-712 Reading with the secure element, writes it to the durable outbox with its seq, and only
 * then sends it — raw payload + signature to the platform and the signed header to the relayer,
 * at the same time (see {@link DeliveryWorker} for retries, ordering and how answers are taken).
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { bytesToHex } from "../core/bytes.js";
import { buildPayload, dataHash as payloadDataHash, type BuildPayloadParameters } from "../core/payload.js";
import { ReadingDigester, type Reading } from "../core/reading.js";
import {
  DeliveryWorker,
  type DeliveryEndpoints,
  type DeliveryEvent,
  type DeliveryTransport,
  type DeliveryWorkerOptions,
  type RetryPolicy,
} from "./delivery.js";
import { BacklogMeter, type Backlog } from "./backlog.js";
import { DeviceConfigError } from "./errors.js";
import { Outbox, type DeliveryTarget, type OutboxEntry } from "./outbox.js";
import type { SecureElement } from "./secure-element.js";

/** Sensor fields of one reading (everything in the payload except `v`, `device`, `seq`, `ts`, `salt`). */
export type ReadingFields = Omit<BuildPayloadParameters, "device" | "seq" | "ts" | "salt" | "v">;

/** A reading as signed and written to the outbox. */
export type SignedReading = OutboxEntry & {
  /** The payload bytes (UTF-8 of `payload`). */
  bytes: Uint8Array;
  /** The EIP-712 Reading that was signed. */
  reading: Reading;
};

/**
 * Builds and signs one reading: canonical payload with a fresh random salt (unless `salt` is
 * given), `dataHash = keccak256(payload)`, EIP-712 digest of the Reading in the digester's domain,
 * signature by the secure element. Pure apart from the salt and the element; writes nothing.
 *
 * @example
 * ```ts
 * import { ReadingDigester } from "../core/reading.js";
 * import { SoftwareSecureElement } from "./secure-element.js";
 * const element = SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7));
 * const digester = new ReadingDigester(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
 * const signed = await signReading(element, digester, { seq: 1, ts: 1_700_000_000, fields: { temperature_c: 8.5 } });
 * signed.payload; // {"device":"0x…","salt":"0x…","seq":1,"temperature_c":8.5,"ts":1700000000,"v":1}
 * ```
 */
export async function signReading(
  element: SecureElement,
  digester: ReadingDigester,
  input: { seq: number; ts: number; fields?: ReadingFields; salt?: Hex | Uint8Array },
): Promise<SignedReading> {
  const payload = buildPayload({
    ...input.fields,
    device: element.address,
    seq: input.seq,
    ts: input.ts,
    ...(input.salt === undefined ? {} : { salt: input.salt }),
  });
  const hash = payloadDataHash(payload.bytes);
  const reading: Reading = {
    device: payload.value.device,
    seq: BigInt(input.seq),
    timestamp: BigInt(input.ts),
    dataHash: hash,
  };
  const signature = await element.sign(digester.digest(reading));
  return {
    device: payload.value.device,
    seq: input.seq,
    ts: input.ts,
    payload: payload.text,
    dataHash: hash,
    signature: bytesToHex(signature),
    bytes: payload.bytes,
    reading,
  };
}

/** Options of {@link DeviceClient.open}. */
export type DeviceClientOptions = {
  element: SecureElement;
  /** Audit chain id (EIP-712 domain). */
  chainId: number;
  /** ReadingAnchor address (EIP-712 verifying contract). */
  anchor: Address;
  /** Data platform base URL (`POST {platformUrl}/v1/readings`); not needed with `transport`. */
  platformUrl?: string;
  /** Relayer base URL (`POST {relayerUrl}/v1/readings`); not needed with `transport`. */
  relayerUrl?: string;
  /**
   * For the client's own worker: how readings reach the services (default HTTP to the two URLs),
   * e.g. an `MqttDeliveryTransport` (docs/MQTT.md). Owned by the caller: the client does not close it.
   */
  transport?: DeliveryTransport;
  /** Outbox file path (opened and owned by the client) or an open outbox (shared, not closed by the client). */
  outbox: string | Outbox;
  /** A worker to share (e.g. one per simulator); when omitted the client runs its own. */
  worker?: DeliveryWorker;
  /** For the client's own worker: readings in flight at once (default 4). */
  concurrency?: number;
  /** For the client's own worker. */
  retry?: Partial<RetryPolicy>;
  /** For the client's own worker (default 10 000). */
  requestTimeoutMs?: number;
  /** For the client's own worker. */
  fetch?: typeof fetch;
  /** For the client's own worker. */
  onEvent?: (event: DeliveryEvent) => void;
  /** For the client's own worker (default: `UNKNOWN_DEVICE`, 10 attempts; see delivery.ts). */
  retryCodes?: DeliveryWorkerOptions["retryCodes"];
  /** Clock, epoch ms: a reading's `ts` is `floor(now() / 1000)` unless given. */
  now?: () => number;
  /** The services' per-device quota, readings per minute (default 120, their default; see backlog.ts). */
  quotaPerMinute?: number;
};

/**
 * One device: signs readings, keeps them in a durable outbox and delivers them.
 *
 * @example
 * ```ts
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { SoftwareSecureElement } from "./secure-element.js";
 * import { DeviceClient } from "./client.js";
 * const dir = mkdtempSync(join(tmpdir(), "sensorseal-device-"));
 * // A real device opens its key file: SoftwareSecureElement.open(file, password).
 * const element = await SoftwareSecureElement.create("p256", join(dir, "key.json"), "pw", { scrypt: { N: 1 << 12 } });
 * const client = DeviceClient.open({
 *   element, chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
 *   platformUrl: "http://127.0.0.1:9", relayerUrl: "http://127.0.0.1:9", // nothing listens: readings wait in the outbox
 *   outbox: join(dir, "outbox.sqlite"),
 * });
 * const { seq } = await client.record({ temperature_c: 8.5, humidity_pct: 81.2, pm2_5_ugm3: 4.1, pm10_ugm3: 7.9 });
 * seq; // 1
 * client.pending(); // { platform: 1, relayer: 1 } until the services answer
 * await client.close(); // the next DeviceClient.open on this outbox sends them, then continues at seq 2
 * ```
 */
export class DeviceClient {
  readonly element: SecureElement;
  readonly outbox: Outbox;
  readonly worker: DeliveryWorker;
  readonly digester: ReadingDigester;
  readonly #ownsOutbox: boolean;
  readonly #ownsWorker: boolean;
  readonly #now: () => number;
  readonly #meter: BacklogMeter;
  /** Serializes `record` so seqs are taken and written in order. */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(options: DeviceClientOptions) {
    if (options.element === undefined || typeof options.element.sign !== "function") {
      throw new DeviceConfigError("element", "must be a SecureElement");
    }
    this.element = options.element;
    this.digester = new ReadingDigester(options.chainId, options.anchor);
    this.#now = options.now ?? Date.now;
    if (typeof options.outbox === "string") {
      this.outbox = Outbox.open(options.outbox);
      this.#ownsOutbox = true;
    } else {
      this.outbox = options.outbox;
      this.#ownsOutbox = false;
    }
    this.#meter = new BacklogMeter(this.outbox, options.quotaPerMinute);
    try {
      if (options.worker !== undefined) {
        if (options.worker.outbox !== this.outbox) throw new DeviceConfigError("worker", "must deliver the client's outbox");
        this.worker = options.worker;
        this.#ownsWorker = false;
      } else {
        const endpoints: DeliveryEndpoints = { platform: options.platformUrl ?? "", relayer: options.relayerUrl ?? "" };
        this.worker = new DeliveryWorker({
          outbox: this.outbox,
          ...(options.transport === undefined ? { endpoints } : { transport: options.transport }),
          concurrency: options.concurrency ?? 4,
          ...(options.retry === undefined ? {} : { retry: options.retry }),
          ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
          ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
          onEvent: this.#meter.listener(options.onEvent),
          ...(options.retryCodes === undefined ? {} : { retryCodes: options.retryCodes }),
        });
        this.#ownsWorker = true;
      }
    } catch (error) {
      if (this.#ownsOutbox) this.outbox.close();
      throw error;
    }
  }

  /**
   * Opens a client; undelivered readings left in the outbox by an earlier run are sent first.
   *
   * @throws {DeviceConfigError} on a bad option.
   * @example
   * ```ts
   * import { SoftwareSecureElement } from "./secure-element.js";
   * const client = DeviceClient.open({
   *   element: SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7)),
   *   chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547", outbox: ":memory:",
   * });
   * client.address; // the element's device id
   * await client.close();
   * ```
   */
  static open(options: DeviceClientOptions): DeviceClient {
    return new DeviceClient(options);
  }

  /** The device id. */
  get address(): Address {
    return this.element.address;
  }

  /**
   * The seq of the next reading (persisted: a restart continues from here).
   *
   * @example
   * ```ts
   * import { SoftwareSecureElement } from "./secure-element.js";
   * const client = DeviceClient.open({
   *   element: SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7)),
   *   chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547", outbox: ":memory:",
   * });
   * client.nextSeq; // 1 for a new device
   * await client.close();
   * ```
   */
  get nextSeq(): number {
    return this.outbox.nextSeq(this.element.address);
  }

  /**
   * Takes one reading: signs it, writes it to the outbox (durably) and starts sending it to the
   * platform and the relayer at once. Resolves once it is in the outbox, with the client's
   * {@link Backlog} (what is still to send, quota back-offs, seconds the quota needs to drain it);
   * delivery goes on in the background (see {@link DeviceClient.flush}).
   *
   * @throws {DeviceConfigError} after {@link DeviceClient.close}.
   * @example
   * ```ts
   * import { SoftwareSecureElement } from "./secure-element.js";
   * const client = DeviceClient.open({
   *   element: SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7)),
   *   chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:9", relayerUrl: "http://127.0.0.1:9", outbox: ":memory:",
   * });
   * const r = await client.record({ temperature_c: 8.5, pm2_5_ugm3: 4.1 }, { ts: 1_700_000_000 });
   * r.seq; // 1, then 2, 3… per device
   * r.payload; // the canonical JSON sent to the platform, verbatim
   * await client.close();
   * ```
   */
  record(
    fields: ReadingFields = {},
    options: { ts?: number; salt?: Hex | Uint8Array } = {},
  ): Promise<SignedReading & { backlog: Backlog }> {
    const run = async (): Promise<SignedReading & { backlog: Backlog }> => {
      if (this.#closed) throw new DeviceConfigError("client", "is closed");
      const seq = this.outbox.nextSeq(this.element.address);
      const ts = options.ts ?? Math.floor(this.#now() / 1000);
      const signed = await signReading(this.element, this.digester, {
        seq,
        ts,
        fields,
        ...(options.salt === undefined ? {} : { salt: options.salt }),
      });
      this.outbox.append(signed);
      this.worker.kick();
      return { ...signed, backlog: this.#meter.backlog() };
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Pending deliveries of every device in this client's outbox, per target.
   *
   * @example
   * ```ts
   * import { SoftwareSecureElement } from "./secure-element.js";
   * const client = DeviceClient.open({
   *   element: SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7)),
   *   chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547", outbox: ":memory:",
   * });
   * client.pending(); // { platform: 0, relayer: 0 }
   * await client.close();
   * ```
   */
  pending(): Record<DeliveryTarget, number> {
    return { platform: this.outbox.pendingCount("platform"), relayer: this.outbox.pendingCount("relayer") };
  }

  /**
   * Waits until the outbox has nothing pending (each reading delivered to or rejected by each target).
   *
   * @throws {DeliveryTimeoutError} after `timeoutMs`.
   * @example
   * ```ts
   * import { SoftwareSecureElement } from "./secure-element.js";
   * const client = DeviceClient.open({
   *   element: SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7)),
   *   chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547", outbox: ":memory:",
   * });
   * await client.drain(60_000); // nothing pending: resolves at once
   * await client.close();
   * ```
   */
  async drain(timeoutMs = 60_000): Promise<void> {
    await this.#queue;
    await this.worker.drain(timeoutMs);
  }

  /**
   * What is still to send and what holds it back (see {@link Backlog}).
   *
   * @example
   * ```ts
   * import { SoftwareSecureElement } from "./secure-element.js";
   * const client = DeviceClient.open({
   *   element: SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7)),
   *   chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:9", relayerUrl: "http://127.0.0.1:9", outbox: ":memory:",
   * });
   * client.backlog(); // { pending: { platform: 0, relayer: 0 }, retries: …, quotaBackoffs: …, quotaPerMinute: 120, drainSeconds: 0 }
   * await client.close();
   * ```
   */
  backlog(): Backlog {
    return this.#meter.backlog();
  }

  /**
   * {@link DeviceClient.drain} that reports: calls `onProgress` with the {@link Backlog} every
   * `everyMs` (default 1000) until the outbox is empty, then answers the final backlog. For
   * catching up after an outage: the quota's pace is in `drainSeconds`, back-offs in `quotaBackoffs`.
   *
   * @throws {DeliveryTimeoutError} after `timeoutMs` (default: the backlog's `drainSeconds` plus a minute).
   * @example
   * ```ts
   * import { SoftwareSecureElement } from "./secure-element.js";
   * const client = DeviceClient.open({
   *   element: SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7)),
   *   chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:9", relayerUrl: "http://127.0.0.1:9", outbox: ":memory:",
   * });
   * (await client.flush({ onProgress: (b) => console.log(b.pending, b.drainSeconds) })).drainSeconds; // 0
   * await client.close();
   * ```
   */
  async flush(options: { timeoutMs?: number; onProgress?: (backlog: Backlog) => void; everyMs?: number } = {}): Promise<Backlog> {
    await this.#queue;
    const timeoutMs = options.timeoutMs ?? (this.backlog().drainSeconds + 60) * 1000;
    const timer =
      options.onProgress === undefined ? undefined : setInterval(() => options.onProgress!(this.backlog()), options.everyMs ?? 1000);
    try {
      await this.worker.drain(timeoutMs);
    } finally {
      if (timer !== undefined) clearInterval(timer);
    }
    const final = this.backlog();
    options.onProgress?.(final);
    return final;
  }

  /**
   * Stops the client's own worker (waiting for requests in flight) and closes its own outbox.
   * What is not delivered stays in the outbox for the next run.
   *
   * @example
   * ```ts
   * import { SoftwareSecureElement } from "./secure-element.js";
   * const client = DeviceClient.open({
   *   element: SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(7)),
   *   chainId: 31337, anchor: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
   *   platformUrl: "http://127.0.0.1:8080", relayerUrl: "http://127.0.0.1:8547", outbox: ":memory:",
   * });
   * await client.close();
   * ```
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue;
    if (this.#ownsWorker) await this.worker.stop();
    if (this.#ownsOutbox) this.outbox.close();
  }
}
