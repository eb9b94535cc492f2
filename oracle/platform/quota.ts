/**
 * The per-device reading quota: counted only on validly signed readings, so nobody can spend another
 * device's quota; a spent quota holds back only that device (429 DEVICE_QUOTA_EXCEEDED, Retry-After).
 *
 * @module
 */
import { ServiceError } from "../service/errors.js";
import { RateLimiter } from "../service/rate-limit.js";
import type { VerifiedReading } from "./ingest.js";

/** A token bucket per device: `readingsPerMinute` refill, `burst` capacity. */
export class DeviceQuota {
  readonly #bucket: RateLimiter;
  readonly #readingsPerMinute: number;
  readonly #now: () => number;

  constructor(o: { readingsPerMinute: number; burst: number; now: () => number }) {
    this.#bucket = new RateLimiter({ ratePerSecond: o.readingsPerMinute / 60, burst: o.burst });
    this.#readingsPerMinute = o.readingsPerMinute;
    this.#now = o.now;
  }

  /** Takes one reading from the device's quota; throws 429 DEVICE_QUOTA_EXCEEDED when it is spent. */
  charge(verified: VerifiedReading): void {
    const wait = this.#bucket.take(verified.reading.device, 1, this.#now());
    if (wait > 0) {
      throw new ServiceError("DEVICE_QUOTA_EXCEEDED", "device reading quota exceeded", {
        device: verified.reading.device,
        readingsPerMinute: this.#readingsPerMinute,
        retryAfterSeconds: wait,
      });
    }
  }
}
