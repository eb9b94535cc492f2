/**
 * What a device still has to send and what holds it back, so a backlog is never throttled
 * silently: pending deliveries per target, the retries and quota back-offs so far, the services'
 * per-device quota, and the time the quota needs to let the backlog through.
 *
 * Quotas: the platform and the relayer each accept at most 120 readings per device per minute by
 * default (a burst of 120, then 2 per second; operators change it with
 * `PLATFORM_DEVICE_READINGS_PER_MINUTE` and the relayer's limits). Beyond it they answer 429
 * `DEVICE_QUOTA_EXCEEDED` with `Retry-After`; the SDK holds back only that device and retries then.
 *
 * @module
 */
import type { DeliveryEvent } from "./delivery.js";
import type { DeliveryTarget, Outbox } from "./outbox.js";

/** The services' default per-device quota (readings per minute, per service). */
export const DEFAULT_DEVICE_QUOTA_PER_MINUTE = 120;

/** A device client's backlog (see the module doc). */
export type Backlog = {
  /** Deliveries still pending, per target. */
  pending: Record<DeliveryTarget, number>;
  /** Failed attempts that will be retried, per target, since the client opened (quota back-offs included). */
  retries: Record<DeliveryTarget, number>;
  /** 429 `DEVICE_QUOTA_EXCEEDED` answers since the client opened, per target. */
  quotaBackoffs: Record<DeliveryTarget, number>;
  /** The per-device quota assumed (readings per minute, per service). */
  quotaPerMinute: number;
  /** Seconds the quota needs to let the pending readings through (0 when nothing is pending). */
  drainSeconds: number;
};

/**
 * Counts a worker's retries and quota back-offs (as its `onEvent` listener) and answers the backlog.
 *
 * @example
 * ```ts
 * import { Outbox } from "./outbox.js";
 * const meter = new BacklogMeter(Outbox.open(":memory:"), 120);
 * const onEvent = meter.listener();
 * onEvent({ type: "retry", target: "relayer", device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1,
 *   httpStatus: 429, code: "DEVICE_QUOTA_EXCEEDED", retryInMs: 500 });
 * meter.backlog().quotaBackoffs.relayer; // 1
 * ```
 */
export class BacklogMeter {
  readonly #outbox: Outbox;
  readonly quotaPerMinute: number;
  readonly #retries: Record<DeliveryTarget, number> = { platform: 0, relayer: 0 };
  readonly #quota: Record<DeliveryTarget, number> = { platform: 0, relayer: 0 };

  constructor(outbox: Outbox, quotaPerMinute = DEFAULT_DEVICE_QUOTA_PER_MINUTE) {
    this.#outbox = outbox;
    this.quotaPerMinute = quotaPerMinute;
  }

  /**
   * The worker's `onEvent`: counts, then forwards to `forward` (the caller's own listener).
   *
   * @example
   * ```ts
   * import { Outbox } from "./outbox.js";
   * const onEvent = new BacklogMeter(Outbox.open(":memory:")).listener((e) => console.log(e.type));
   * ```
   */
  listener(forward?: (event: DeliveryEvent) => void): (event: DeliveryEvent) => void {
    return (event) => {
      if (event.type === "retry") {
        this.#retries[event.target]++;
        if (event.code === "DEVICE_QUOTA_EXCEEDED") this.#quota[event.target]++;
      }
      forward?.(event);
    };
  }

  /**
   * The backlog now.
   *
   * @example
   * ```ts
   * import { Outbox } from "./outbox.js";
   * new BacklogMeter(Outbox.open(":memory:")).backlog().drainSeconds; // 0
   * ```
   */
  backlog(): Backlog {
    const pending = { platform: this.#outbox.pendingCount("platform"), relayer: this.#outbox.pendingCount("relayer") };
    const most = Math.max(pending.platform, pending.relayer);
    return {
      pending,
      retries: { ...this.#retries },
      quotaBackoffs: { ...this.#quota },
      quotaPerMinute: this.quotaPerMinute,
      drainSeconds: Math.ceil((most * 60) / this.quotaPerMinute),
    };
  }
}
