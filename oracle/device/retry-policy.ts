/**
 * Backoff of retryable delivery failures: exponential growth with optional jitter, floored by
 * the service's `Retry-After` (capped at an hour, so a bad header cannot stall a device for days).
 *
 * @module
 */

/** Backoff of retryable failures. */
export type RetryPolicy = {
  /** First delay, ms (default 500). */
  initialDelayMs: number;
  /** Largest delay, ms (default 60 000). */
  maxDelayMs: number;
  /** Growth per consecutive failure (default 2). */
  factor: number;
  /** Randomize each delay in [delay/2, delay] (default true). */
  jitter: boolean;
};

/** Default {@link RetryPolicy}. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 60_000,
  factor: 2,
  jitter: true,
});

/** The longest `Retry-After` honoured, ms. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * The delay before the next attempt after `failures` consecutive failures (1 for the first).
 *
 * @example
 * ```ts
 * const policy = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: false };
 * backoffDelay(policy, 1, undefined); // 100
 * backoffDelay(policy, 3, undefined); // 400
 * backoffDelay(policy, 1, 5000); // 5000: Retry-After is a floor
 * ```
 */
export function backoffDelay(policy: RetryPolicy, failures: number, retryAfterMs: number | undefined): number {
  const { initialDelayMs, maxDelayMs, factor, jitter } = policy;
  let delay = Math.min(maxDelayMs, initialDelayMs * factor ** Math.max(0, failures - 1));
  if (jitter) delay = delay / 2 + Math.random() * (delay / 2);
  if (retryAfterMs !== undefined) delay = Math.max(delay, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  return Math.round(delay);
}
