/**
 * Turns a service's answer to a bulk `POST /v1/readings` into one reply per reading: each reading
 * gets exactly the status and body it would have got alone (docs/MQTT.md, "Replies"). Only the
 * answer's shape is adapted here; every rule stays in the service.
 *
 * - platform, 200: `{ results: [{ index, httpStatus, status: "stored"|"duplicate", device, seq, dataHash }
 *   | { index, httpStatus, status: "rejected", error }] }`
 * - relayer, 202/207: `{ results: [{ index, status: 202, duplicate, receipt } | { index, status, error }] }`
 * - anything else (429, 503, 413…): the whole request's answer, for every reading.
 *
 * @module
 */
import type { DeliveryTarget } from "../../device/outbox-types.js";

/** One reading's share of a bulk answer. */
export type ItemAnswer = { status: number; body: unknown; retryAfterSeconds?: number };

/**
 * Splits a bulk answer into `count` item answers.
 *
 * @example
 * ```ts
 * splitBulkAnswer("relayer", 202, { results: [{ index: 0, status: 202, duplicate: false, receipt: {} }] }, 1, undefined);
 * // [{ status: 202, body: { status: "queued", duplicate: false, receipt: {} } }]
 * splitBulkAnswer("platform", 503, { error: { code: "SHUTTING_DOWN", message: "…" } }, 2, 5)[1]!.status; // 503
 * ```
 */
export function splitBulkAnswer(
  target: DeliveryTarget,
  status: number,
  body: unknown,
  count: number,
  retryAfterSeconds: number | undefined,
): ItemAnswer[] {
  const results = (body as { results?: unknown } | null)?.results;
  const bulkOk = (status === 200 || status === 202 || status === 207) && Array.isArray(results) && results.length === count;
  if (!bulkOk) {
    const whole: ItemAnswer = { status, body, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
    return Array.from({ length: count }, () => whole);
  }
  return (results as Record<string, unknown>[]).map((item) => itemAnswer(target, item, retryAfterSeconds));
}

function itemAnswer(target: DeliveryTarget, item: Record<string, unknown>, retryAfterSeconds: number | undefined): ItemAnswer {
  const status = Number(target === "platform" ? item.httpStatus : item.status);
  const error = item.error as { details?: { retryAfterSeconds?: unknown } } | undefined;
  if (error !== undefined) {
    const wait = Number(error.details?.retryAfterSeconds ?? retryAfterSeconds);
    return { status, body: { error }, ...(Number.isFinite(wait) && status === 429 ? { retryAfterSeconds: wait } : {}) };
  }
  if (target === "relayer") return { status, body: { status: "queued", duplicate: item.duplicate === true, receipt: item.receipt } };
  const { index: _index, httpStatus: _status, ...rest } = item;
  return { status, body: rest };
}
