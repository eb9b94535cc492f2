/**
 * The seam between the outbox's delivery worker and the wire: a transport makes one attempt to
 * deliver one reading to one target and says what the answer means ({@link DeliveryOutcome}).
 * The worker's semantics (seq order, one attempt in flight per device and target, retries,
 * backoff, "delivered only on the service's answer that it stored it") do not depend on it.
 *
 * Transports: {@link HttpDeliveryTransport} (`POST …/v1/readings`, the default) and the MQTT one
 * (`oracle/transport/mqtt/device-transport.ts`, docs/MQTT.md).
 *
 * @module
 */
import type { DeliveryOutcome } from "./answers.js";
import { attemptDelivery } from "./delivery-request.js";
import { DeviceConfigError } from "./errors.js";
import type { DeliveryHead, DeliveryTarget } from "./outbox-types.js";

/** One reading for one target, as the worker hands it to a transport. */
export type DeliveryAttempt = Pick<DeliveryHead, "target" | "device" | "seq" | "ts" | "payload" | "dataHash" | "signature">;

/** How a delivery worker reaches the services. */
export interface DeliveryTransport {
  /** A short name for logs and events (`"http"`, `"mqtt"`). */
  readonly name: string;
  /**
   * One attempt: resolves with the classified answer (never rejects). A lost connection or no answer
   * in time is a `retry` of the target; a 2xx answer means the service stored it durably.
   *
   * @param retryCodes 4xx codes that may clear up for this reading (the worker's `retryCodes`).
   */
  attempt(head: DeliveryAttempt, retryCodes: readonly string[]): Promise<DeliveryOutcome>;
  /** Releases connections (the worker never calls it: the transport's owner does). */
  close?(): Promise<void>;
}

/** Options of {@link HttpDeliveryTransport}. */
export type HttpTransportOptions = {
  /** Base URLs of the two services (`POST {url}/v1/readings`). */
  endpoints: Record<DeliveryTarget, string>;
  /** Targets that must have an http(s) URL (default both). */
  targets?: readonly DeliveryTarget[];
  /** Per-request timeout, ms (default 10 000). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
};

/**
 * Delivers over HTTP: `POST {endpoint}/v1/readings` with the target's body.
 *
 * @example
 * ```ts
 * const http = new HttpDeliveryTransport({ endpoints: { platform: "http://127.0.0.1:8080", relayer: "http://127.0.0.1:8547" } });
 * http.endpoints.relayer; // "http://127.0.0.1:8547"
 * ```
 */
export class HttpDeliveryTransport implements DeliveryTransport {
  readonly name = "http";
  readonly endpoints: Record<DeliveryTarget, string>;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;

  constructor(options: HttpTransportOptions) {
    for (const t of options.targets ?? ["platform", "relayer"]) {
      const url = options.endpoints?.[t];
      if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
        throw new DeviceConfigError(`endpoints.${t}`, "must be an http(s) URL");
      }
    }
    this.endpoints = {
      platform: (options.endpoints.platform ?? "").replace(/\/+$/, ""),
      relayer: (options.endpoints.relayer ?? "").replace(/\/+$/, ""),
    };
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
  }

  attempt(head: DeliveryAttempt, retryCodes: readonly string[]): Promise<DeliveryOutcome> {
    return attemptDelivery(head, {
      baseUrl: this.endpoints[head.target],
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
      now: this.#now,
      retryCodes,
    });
  }
}
