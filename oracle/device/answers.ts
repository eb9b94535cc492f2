/**
 * How the device SDK takes a service's answer to `POST …/v1/readings`: by the exact error code of
 * the one code table (`oracle/core/error-codes.ts`), never by pattern.
 *
 * - 2xx: delivered. A duplicate (the service already has this very reading) is a 2xx too: the
 *   platform answers 200 `{ "status": "duplicate", … }`, the relayer 202 `{ "duplicate": true,
 *   "receipt": … }` with the same receipt as the first time.
 * - `DEVICE_QUOTA_EXCEEDED` (429, {@link DEVICE_SCOPED_RETRY_CODES}): retried later, honouring
 *   `Retry-After`; only that device is held back.
 * - any other code whose status is 429 or 503 (`RATE_LIMITED`, `QUEUE_FULL`, `OVERLOADED`,
 *   `SHUTTING_DOWN`, `REGISTRY_UNAVAILABLE`, …) and `INTERNAL`: the target is paused (`Retry-After`
 *   or backoff) and the reading retried.
 * - the retry codes of the worker (default `UNKNOWN_DEVICE`: the service's registry index has not
 *   caught up with a registration yet): retried for that reading only, up to `maxAttempts`.
 * - any other code (409 `SEQUENCE_CONFLICT` / `STALE_SEQUENCE`, 400, 403, 413, …): rejected with
 *   its code; resending the same reading cannot change the answer.
 * - an answer without a known code (a proxy, a non-JSON body) falls back to its status class:
 *   408, 425, 429 and 5xx pause the target, any other status is rejected.
 *
 * @module
 */
import { DEVICE_SCOPED_RETRY_CODES, ERROR_STATUS, isErrorCode } from "../core/error-codes.js";

/** Codes retried for one reading only, and how many attempts in all before it is rejected. */
export type RetryCodes = { codes: readonly string[]; maxAttempts: number };

/** Default retry codes of a delivery worker: `UNKNOWN_DEVICE`, 10 attempts. */
export const DEFAULT_RETRY_CODES: Readonly<RetryCodes> = Object.freeze({
  codes: Object.freeze(["UNKNOWN_DEVICE"]),
  maxAttempts: 10,
});

/** What a service's answer means for one delivery. */
export type DeliveryOutcome =
  | { kind: "delivered"; status: number; duplicate: boolean; response: string | null }
  | { kind: "rejected"; status: number | null; code: string; message: string }
  | {
      kind: "retry";
      /** `target`: the service is unavailable or overloaded; `reading`: only this device must wait. */
      scope: "target" | "reading";
      status: number | null;
      code: string;
      message: string;
      retryAfterMs: number | undefined;
    }
  /** A code that may clear up for this reading alone (see {@link RetryCodes}). */
  | { kind: "retryReading"; status: number; code: string; message: string };

/** Statuses that mean "try again later" when the answer names no known code. */
const RETRYABLE_STATUS = new Set([408, 425, 429]);

/**
 * Parses a `Retry-After` header (delay-seconds or an HTTP date) into ms from `now`.
 *
 * @example
 * ```ts
 * parseRetryAfter("3", Date.now()); // 3000
 * parseRetryAfter(new Date(Date.now() + 10_000).toUTCString(), Date.now()); // about 10000
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined || value.trim() === "") return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Classifies an HTTP answer per the rules in this module's documentation.
 *
 * @example
 * ```ts
 * classifyResponse(200, { status: "duplicate" }, undefined).kind; // "delivered" (a duplicate)
 * classifyResponse(409, { error: { code: "SEQUENCE_CONFLICT" } }, undefined).kind; // "rejected"
 * classifyResponse(403, { error: { code: "UNKNOWN_DEVICE" } }, undefined).kind; // "retryReading"
 * classifyResponse(429, { error: { code: "DEVICE_QUOTA_EXCEEDED" } }, 1000); // { kind: "retry", scope: "reading", … }
 * classifyResponse(503, { error: { code: "SHUTTING_DOWN" } }, 5000); // { kind: "retry", scope: "target", … }
 * classifyResponse(502, null, undefined).kind; // "retry" (no code: by status class)
 * ```
 */
export function classifyResponse(
  status: number,
  body: unknown,
  retryAfterMs: number | undefined,
  text: string | null = null,
  retryCodes: readonly string[] = DEFAULT_RETRY_CODES.codes,
): DeliveryOutcome {
  if (status >= 200 && status < 300) {
    const b = body as { duplicate?: unknown; status?: unknown } | null;
    const duplicate = b?.duplicate === true || b?.status === "duplicate";
    return { kind: "delivered", status, duplicate, response: text };
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const named = typeof error?.code === "string" ? error.code : undefined;
  const code = named ?? `HTTP_${status}`;
  const message = typeof error?.message === "string" ? error.message : `HTTP ${status}`;
  const retry = (scope: "target" | "reading"): DeliveryOutcome => ({ kind: "retry", scope, status, code, message, retryAfterMs });

  if (named !== undefined && retryCodes.includes(named) && status >= 400 && status < 500) {
    return { kind: "retryReading", status, code, message };
  }
  if (isErrorCode(named)) {
    if (DEVICE_SCOPED_RETRY_CODES.includes(named)) return retry("reading");
    const tableStatus = ERROR_STATUS[named];
    if (tableStatus === 429 || tableStatus >= 500) return retry("target");
    return { kind: "rejected", status, code, message };
  }
  if (RETRYABLE_STATUS.has(status) || status >= 500) return retry("target");
  return { kind: "rejected", status, code, message };
}
