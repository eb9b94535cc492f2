/**
 * Delivers the outbox: sends each reading's raw payload + signature to the platform and its
 * signed header to the relayer, at the same time, in seq order per device and target, retrying
 * with backoff until each target has it or rejects it.
 *
 * The parts: `delivery-transport.ts` (the seam: one attempt on the wire, HTTP by default or MQTT,
 * docs/MQTT.md), `delivery-request.ts` (the HTTP wire format and one attempt), `answers.ts` (what an
 * answer means, by exact code of `oracle/core/error-codes.ts`), `retry-policy.ts` (backoff), and
 * here the worker that schedules attempts and records their outcomes in the outbox:
 * - delivered (2xx, duplicates included): the body, e.g. the relayer's signed receipt, is kept.
 * - rejected: recorded with the status and code; never retried.
 * - a retry of the target (429/503 codes, network errors): the whole target pauses for the delay
 *   (`Retry-After` or backoff), so a service that is down is not hammered by every device.
 * - a retry of one device (`DEVICE_QUOTA_EXCEEDED`) or one reading (the retry codes, default
 *   `UNKNOWN_DEVICE`, up to `maxAttempts`, then rejected): the target is not paused.
 *
 * Ordering: at most one request per (device, target) is in flight, and only the device's oldest
 * pending reading at that target is sent, so each service sees a device's readings in seq order.
 *
 * @module
 */
import type { Address } from "viem";

import { DEFAULT_RETRY_CODES, type DeliveryOutcome, type RetryCodes } from "./answers.js";
import { HttpDeliveryTransport, type DeliveryTransport } from "./delivery-transport.js";
import { DeliveryTimeoutError, DeviceConfigError } from "./errors.js";
import { FairScan } from "./fair-scan.js";
import { DELIVERY_TARGETS, type DeliveryHead, type DeliveryTarget, type Outbox } from "./outbox.js";
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry-policy.js";

export { classifyResponse, DEFAULT_RETRY_CODES, parseRetryAfter, type DeliveryOutcome, type RetryCodes } from "./answers.js";
export { attemptDelivery, deliveryBody, type AttemptOptions } from "./delivery-request.js";
export { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry-policy.js";
export { HttpDeliveryTransport, type DeliveryAttempt, type DeliveryTransport, type HttpTransportOptions } from "./delivery-transport.js";

/** Base URLs of the two services (`POST {url}/v1/readings`). */
export type DeliveryEndpoints = Record<DeliveryTarget, string>;

/** Options of {@link DeliveryWorker}. */
export type DeliveryWorkerOptions = {
  outbox: Outbox;
  /** The services' base URLs, for the default HTTP transport (not needed with `transport`). */
  endpoints?: DeliveryEndpoints;
  /**
   * How attempts reach the services (default: HTTP to `endpoints`). The worker never closes it.
   * E.g. `MqttDeliveryTransport` (oracle/transport/mqtt) for the same outbox semantics over MQTT.
   */
  transport?: DeliveryTransport;
  /** Readings in flight at once, each to one or both targets (default 16). */
  concurrency?: number;
  retry?: Partial<RetryPolicy>;
  /** Per-request timeout of the default HTTP transport, ms (default 10 000). */
  requestTimeoutMs?: number;
  /** `fetch` of the default HTTP transport (default the global one). */
  fetch?: typeof fetch;
  /** Clock, epoch ms (default `Date.now`). */
  now?: () => number;
  /** Called after each attempt (delivered, rejected, retry). Must not throw. */
  onEvent?: (event: DeliveryEvent) => void;
  /** Start on construction (default true). */
  autoStart?: boolean;
  /**
   * 4xx error codes that may be transient for one reading, retried up to `maxAttempts` attempts
   * in all before the reading is rejected (default `{ codes: ["UNKNOWN_DEVICE"], maxAttempts: 10 }`).
   */
  retryCodes?: RetryCodes;
};

/** What happened to one attempt. */
export type DeliveryEvent = {
  type: "delivered" | "duplicate" | "rejected" | "retry";
  target: DeliveryTarget;
  device: Address;
  seq: number;
  httpStatus: number | null;
  code: string | null;
  /** For `retry`: ms until the next attempt. */
  retryInMs?: number;
};

/** Counters since the worker started. */
export type DeliveryStats = {
  /** Requests answered as delivered (incl. duplicates), per target. */
  delivered: Record<DeliveryTarget, number>;
  duplicates: Record<DeliveryTarget, number>;
  rejected: Record<DeliveryTarget, number>;
  /** Failed attempts that will be retried. */
  retries: Record<DeliveryTarget, number>;
  /** Deliveries still pending in the outbox. */
  pending: Record<DeliveryTarget, number>;
  inFlight: number;
};

const zero = (): Record<DeliveryTarget, number> => ({ platform: 0, relayer: 0 });

/**
 * Sends what the outbox holds, round-robin over devices, `concurrency` requests at a time.
 * One worker serves any number of devices (one client, or a simulator's whole fleet).
 *
 * @example
 * ```ts
 * import { Outbox } from "./outbox.js";
 * import { DeliveryWorker } from "./delivery.js";
 * const outbox = Outbox.open(":memory:"); // a device keeps a file: Outbox.open("data/outbox.sqlite")
 * const worker = new DeliveryWorker({
 *   outbox,
 *   endpoints: { platform: "http://127.0.0.1:8080", relayer: "http://127.0.0.1:8547" },
 * });
 * await worker.drain(30_000); // everything delivered or rejected (here: nothing to send)
 * await worker.stop();
 * outbox.close();
 * ```
 */
export class DeliveryWorker {
  readonly outbox: Outbox;
  /** The HTTP endpoints (empty strings when the worker was given another transport). */
  readonly endpoints: DeliveryEndpoints;
  readonly transport: DeliveryTransport;
  readonly #concurrency: number;
  readonly #retry: RetryPolicy;
  readonly #now: () => number;
  readonly #onEvent: ((event: DeliveryEvent) => void) | undefined;
  readonly #retryCodes: RetryCodes;
  /** `${target}|${device}` of requests in flight. */
  readonly #inFlight = new Set<string>();
  readonly #requests = new Set<Promise<void>>();
  /** Per target: consecutive retryable failures and when the target may be tried again. */
  readonly #gate: Record<DeliveryTarget, { failures: number; until: number }> = {
    platform: { failures: 0, until: 0 },
    relayer: { failures: 0, until: 0 },
  };
  /** The round-robin walk of each target's due heads. */
  readonly #scan: Record<DeliveryTarget, FairScan>;
  readonly #stats = { delivered: zero(), duplicates: zero(), rejected: zero(), retries: zero() };
  readonly #waiters = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #running = false;
  #pumping = false;
  #repump = false;
  #pumpScheduled = false;

  constructor(options: DeliveryWorkerOptions) {
    this.outbox = options.outbox;
    if (options.transport !== undefined) {
      this.transport = options.transport;
      this.endpoints = { platform: "", relayer: "" };
    } else {
      const http = new HttpDeliveryTransport({
        endpoints: options.endpoints ?? { platform: "", relayer: "" },
        targets: this.outbox.targets,
        ...(options.requestTimeoutMs === undefined ? {} : { timeoutMs: options.requestTimeoutMs }),
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        ...(options.now === undefined ? {} : { now: options.now }),
      });
      this.transport = http;
      this.endpoints = http.endpoints;
    }
    this.#concurrency = options.concurrency ?? 16;
    if (!Number.isSafeInteger(this.#concurrency) || this.#concurrency < 1) {
      throw new DeviceConfigError("concurrency", "must be a positive integer");
    }
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent;
    this.#retryCodes = options.retryCodes ?? DEFAULT_RETRY_CODES;
    this.#scan = { platform: new FairScan(this.outbox, "platform"), relayer: new FairScan(this.outbox, "relayer") };
    if (options.autoStart !== false) this.start();
  }

  /**
   * Starts sending (idempotent).
   *
   * @example
   * ```ts
   * import { Outbox } from "./outbox.js";
   * const worker = new DeliveryWorker({
   *   outbox: Outbox.open(":memory:"),
   *   endpoints: { platform: "http://127.0.0.1:8080", relayer: "http://127.0.0.1:8547" },
   *   autoStart: false,
   * });
   * worker.start();
   * await worker.stop();
   * ```
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.kick();
  }

  /**
   * Wakes the worker: call after appending to the outbox.
   *
   * @example
   * ```ts
   * import { Outbox } from "./outbox.js";
   * const outbox = Outbox.open(":memory:");
   * const worker = new DeliveryWorker({ outbox, endpoints: { platform: "http://127.0.0.1:8080", relayer: "http://127.0.0.1:8547" } });
   * outbox.append({ device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1, ts: 1_700_000_000, payload: "{…}",
   *   dataHash: `0x${"11".repeat(32)}`, signature: `0x${"22".repeat(64)}` });
   * worker.kick(); // sends it now (here nothing listens: it is retried later)
   * await worker.stop();
   * ```
   */
  kick(): void {
    if (!this.#running) return;
    this.#pump();
  }

  /**
   * Forgets every backoff and makes all pending deliveries due now (e.g. the network is back).
   *
   * @example
   * ```ts
   * import { Outbox } from "./outbox.js";
   * const outbox = Outbox.open(":memory:");
   * const worker = new DeliveryWorker({ outbox, endpoints: { platform: "http://127.0.0.1:8080", relayer: "http://127.0.0.1:8547" } });
   * worker.retryNow();
   * await worker.stop();
   * ```
   */
  retryNow(): void {
    for (const t of DELIVERY_TARGETS) this.#gate[t] = { failures: 0, until: 0 };
    if (!this.outbox.closed) this.outbox.retryNow();
    this.kick();
  }

  /**
   * Counters since start, plus what the outbox still holds.
   *
   * @example
   * ```ts
   * import { Outbox } from "./outbox.js";
   * const outbox = Outbox.open(":memory:");
   * const worker = new DeliveryWorker({ outbox, endpoints: { platform: "http://127.0.0.1:8080", relayer: "http://127.0.0.1:8547" } });
   * const { delivered, pending } = worker.stats(); // { platform: 0, relayer: 0 } each
   * await worker.stop();
   * ```
   */
  stats(): DeliveryStats {
    return {
      delivered: { ...this.#stats.delivered },
      duplicates: { ...this.#stats.duplicates },
      rejected: { ...this.#stats.rejected },
      retries: { ...this.#stats.retries },
      pending: { platform: this.outbox.pendingCount("platform"), relayer: this.outbox.pendingCount("relayer") },
      inFlight: this.#requests.size,
    };
  }

  /**
   * Resolves once nothing is pending (everything delivered or rejected).
   *
   * @throws {DeliveryTimeoutError} if deliveries are still pending after `timeoutMs`.
   * @example
   * ```ts
   * import { Outbox } from "./outbox.js";
   * const outbox = Outbox.open(":memory:");
   * const worker = new DeliveryWorker({ outbox, endpoints: { platform: "http://127.0.0.1:8080", relayer: "http://127.0.0.1:8547" } });
   * await worker.drain(60_000); // resolves at once: nothing pending
   * await worker.stop();
   * ```
   */
  drain(timeoutMs = 60_000): Promise<void> {
    if (this.outbox.pendingCount() === 0 && this.#requests.size === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (this.outbox.pendingCount() === 0 && this.#requests.size === 0) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(new DeliveryTimeoutError(timeoutMs, this.outbox.closed ? -1 : this.outbox.pendingCount()));
      }, timeoutMs);
      this.#waiters.add(check);
      this.kick();
    });
  }

  /**
   * Stops taking new work and waits for requests in flight (whose results are recorded).
   *
   * @example
   * ```ts
   * import { Outbox } from "./outbox.js";
   * const outbox = Outbox.open(":memory:");
   * const worker = new DeliveryWorker({ outbox, endpoints: { platform: "http://127.0.0.1:8080", relayer: "http://127.0.0.1:8547" } });
   * await worker.stop();
   * outbox.close();
   * ```
   */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    while (this.#requests.size > 0) await Promise.allSettled([...this.#requests]);
  }

  #notify(): void {
    for (const check of [...this.#waiters]) check();
  }

  #schedule(at: number): void {
    if (!this.#running || at === Infinity) return;
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Infinity;
        this.#pump();
      },
      Math.max(0, at - this.#now()),
    );
    this.#timer.unref?.();
  }

  /** Completions arriving together share one pass (one walk of the outbox). */
  #pumpSoon(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
      if (this.#requests.size === 0) this.#notify();
    });
  }

  /** Starts as many sends as capacity allows; re-entrant calls fold into one more pass. */
  #pump(): void {
    if (!this.#running || this.outbox.closed) return;
    if (this.#pumping) {
      this.#repump = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#repump = false;
        this.#fill();
      } while (this.#repump);
    } finally {
      this.#pumping = false;
    }
    this.#notify();
  }

  #fill(): void {
    const now = this.#now();
    let wakeAt = Infinity;
    const groups = new Map<string, DeliveryHead[]>();
    let capacity = this.#concurrency - this.#requests.size;
    if (capacity <= 0) return;
    for (const target of this.outbox.targets) {
      if (this.outbox.pendingCount(target) === 0) continue;
      const gate = this.#gate[target];
      if (gate.until > now) {
        wakeAt = Math.min(wakeAt, gate.until);
        continue;
      }
      const scan = this.#scan[target].next(capacity, now, (device) => this.#inFlight.has(`${target}|${device}`), this.#inFlight.size);
      for (const head of scan.heads) {
        const key = `${head.device}|${head.seq}`;
        const group = groups.get(key);
        if (group) group.push(head);
        else groups.set(key, [head]);
      }
      wakeAt = Math.min(wakeAt, scan.wakeAt);
      if (scan.again) this.#pumpSoon();
    }
    for (const heads of groups.values()) {
      if (capacity <= 0) break;
      capacity--;
      for (const h of heads) this.#inFlight.add(`${h.target}|${h.device}`);
      const request = this.#sendGroup(heads).finally(() => {
        for (const h of heads) this.#inFlight.delete(`${h.target}|${h.device}`);
        this.#requests.delete(request);
        this.#pumpSoon();
      });
      this.#requests.add(request);
    }
    this.#schedule(wakeAt);
  }

  /** One reading, every target that is due for it, at the same time. */
  async #sendGroup(heads: DeliveryHead[]): Promise<void> {
    await Promise.all(heads.map((h) => this.#sendOne(h)));
  }

  async #sendOne(head: DeliveryHead): Promise<void> {
    let outcome = await this.#attempt(head);
    if (outcome.kind === "retryReading" && head.attempts + 1 >= this.#retryCodes.maxAttempts) {
      outcome = { kind: "rejected", status: outcome.status, code: outcome.code, message: outcome.message };
    }
    if (this.outbox.closed) return;
    const { target, device, seq } = head;
    const gate = this.#gate[target];
    switch (outcome.kind) {
      case "delivered": {
        gate.failures = 0;
        gate.until = 0;
        const marked = this.outbox.markDelivered(device, seq, target, {
          httpStatus: outcome.status,
          ...(outcome.response === null ? {} : { response: outcome.response }),
        });
        if (marked) {
          this.#stats.delivered[target]++;
          if (outcome.duplicate) this.#stats.duplicates[target]++;
        }
        this.#emit({
          type: outcome.duplicate ? "duplicate" : "delivered",
          target,
          device,
          seq,
          httpStatus: outcome.status,
          code: null,
        });
        return;
      }
      case "rejected": {
        gate.failures = 0;
        gate.until = 0;
        if (this.outbox.markRejected(device, seq, target, { httpStatus: outcome.status, code: outcome.code, message: outcome.message })) {
          this.#stats.rejected[target]++;
        }
        this.#emit({ type: "rejected", target, device, seq, httpStatus: outcome.status, code: outcome.code });
        return;
      }
      case "retry": {
        if (outcome.scope === "reading") {
          const delay = this.#delay(head.attempts + 1, outcome.retryAfterMs);
          this.#retryAt(head, outcome, this.#now() + delay, delay);
          return;
        }
        // Requests that were in flight together fail together: count them as one failure.
        const now = this.#now();
        if (gate.until <= now) gate.failures++;
        const delay = Math.max(this.#delay(gate.failures, outcome.retryAfterMs), gate.until - now);
        const at = now + delay;
        gate.until = at;
        this.#retryAt(head, outcome, at, delay);
        return;
      }
      case "retryReading": {
        // This reading only: the target answered, so it is not paused.
        const delay = this.#delay(head.attempts + 1, undefined);
        this.#retryAt(head, outcome, this.#now() + delay, delay);
        return;
      }
    }
  }

  /** Schedules the head's next attempt at `at` (`delay` ms from now), counts and reports the retry. */
  #retryAt(head: DeliveryHead, outcome: { status: number | null; code: string; message: string }, at: number, delay: number): void {
    const { target, device, seq } = head;
    this.outbox.markRetry(device, seq, target, {
      nextAttemptAt: at,
      httpStatus: outcome.status,
      code: outcome.code,
      message: outcome.message,
    });
    this.#stats.retries[target]++;
    this.#emit({ type: "retry", target, device, seq, httpStatus: outcome.status, code: outcome.code, retryInMs: delay });
  }

  #delay(failures: number, retryAfterMs: number | undefined): number {
    return backoffDelay(this.#retry, failures, retryAfterMs);
  }

  #emit(event: DeliveryEvent): void {
    if (this.#onEvent === undefined) return;
    try {
      this.#onEvent(event);
    } catch {
      // A listener's bug must not stop deliveries.
    }
  }

  #attempt(head: DeliveryHead): Promise<DeliveryOutcome> {
    // A transport must not reject; if one does, its error is a retry of the target, never a lost reading.
    return this.transport.attempt(head, this.#retryCodes.codes).catch((error: unknown): DeliveryOutcome => ({
      kind: "retry",
      scope: "target",
      status: null,
      code: "TRANSPORT_ERROR",
      message: (error as Error)?.message ?? String(error),
      retryAfterMs: undefined,
    }));
  }
}
