/**
 * Token buckets keyed by a string (client address, API key, device). `take` answers how many
 * seconds to wait when the bucket is empty, for a 429 with Retry-After.
 *
 * @example
 * const limiter = new RateLimiter({ ratePerSecond: 50, burst: 100 });
 * const wait = limiter.take("127.0.0.1"); // 0 when allowed
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; updatedMs: number }>();
  readonly #maxKeys: number;

  constructor({ ratePerSecond, burst, maxKeys = 100_000 }: { ratePerSecond: number; burst: number; maxKeys?: number }) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#maxKeys = maxKeys;
  }

  /** Takes `cost` tokens; returns 0 if allowed, else the whole seconds to wait (≥ 1). */
  take(key: string, cost = 1, nowMs = Date.now()): number {
    const bucket = this.#refill(key, nowMs);
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return this.#wait(bucket, cost);
  }

  /** Like {@link take} but takes nothing: 0 if `cost` tokens are there now, else the whole seconds to wait. */
  peek(key: string, cost = 1, nowMs = Date.now()): number {
    const bucket = this.#refill(key, nowMs);
    return bucket.tokens >= cost ? 0 : this.#wait(bucket, cost);
  }

  /** Gives back `count` tokens taken earlier (never past the burst): the charged work turned out legitimate. */
  refund(key: string, count = 1, nowMs = Date.now()): void {
    const bucket = this.#refill(key, nowMs);
    bucket.tokens = Math.min(this.#burst, bucket.tokens + count);
  }

  #wait(bucket: { tokens: number }, cost: number): number {
    return Math.max(1, Math.ceil((cost - bucket.tokens) / this.#rate));
  }

  #refill(key: string, nowMs: number): { tokens: number; updatedMs: number } {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      // Bounded memory: forget the oldest key once full (a Map keeps insertion order).
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value as string);
      bucket = { tokens: this.#burst, updatedMs: nowMs };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (Math.max(0, nowMs - bucket.updatedMs) / 1000) * this.#rate);
      bucket.updatedMs = Math.max(bucket.updatedMs, nowMs);
    }
    return bucket;
  }
}
