/**
 * The per-device reading quota: counted only on validly signed readings, so nobody can spend another
 * device's quota; a spent quota holds back only that device (429 DEVICE_QUOTA_EXCEEDED, Retry-After).
 * Kept where oracle/service/limiter.ts keeps quotas: shared by every platform instance on PostgreSQL.
 *
 * @module
 */
import { ServiceError } from "../service/errors.js";
import { quotaOf, retryAfterSeconds, type Limiter, type Limiters } from "../service/limiter.js";
import type { VerifiedReading } from "./ingest.js";

/** `deviceBurst` readings per device per window of `deviceBurst / readingsPerMinute` minutes. */
export class DeviceQuota {
  readonly #limiter: Limiter;
  readonly #readingsPerMinute: number;

  constructor(o: { readingsPerMinute: number; burst: number; limiters: Limiters }) {
    this.#limiter = o.limiters.limiter("device", quotaOf({ ratePerSecond: o.readingsPerMinute / 60, burst: o.burst }));
    this.#readingsPerMinute = o.readingsPerMinute;
  }

  /** Takes one reading from the device's quota; throws 429 DEVICE_QUOTA_EXCEEDED when it is spent. */
  async charge(verified: VerifiedReading): Promise<void> {
    const [refusal] = await this.chargeEach([verified]);
    if (refusal !== undefined) throw refusal;
  }

  /**
   * Charges each reading to its device (one take per device, the earliest readings of a bulk first);
   * answers, in order, undefined for a charged reading or its 429 DEVICE_QUOTA_EXCEEDED.
   */
  async chargeEach(verified: readonly VerifiedReading[]): Promise<(ServiceError | undefined)[]> {
    const answers = await this.#limiter.consumeEach(verified.map((v) => v.reading.device.toLowerCase()));
    return answers.map(({ allowed, retryAfterMs }, i) =>
      allowed
        ? undefined
        : new ServiceError("DEVICE_QUOTA_EXCEEDED", "device reading quota exceeded", {
            device: verified[i]!.reading.device,
            readingsPerMinute: this.#readingsPerMinute,
            retryAfterSeconds: retryAfterSeconds(retryAfterMs),
          }),
    );
  }
}
