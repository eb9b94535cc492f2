/**
 * One delivery attempt on the wire: the request body each service expects, the `POST`, and the
 * answer classified (see `answers.ts`).
 *
 * Wire format (both `POST …/v1/readings`, JSON):
 * - platform: `{ "payload": "<canonical JSON text, verbatim>", "signature": "0x…" }`
 * - relayer: `{ "device": "0x…", "seq": "7", "timestamp": "1700000000", "dataHash": "0x…", "signature": "0x…" }`
 *
 * @module
 */
import { classifyResponse, parseRetryAfter, type DeliveryOutcome } from "./answers.js";
import type { DeliveryHead, DeliveryTarget } from "./outbox.js";

/**
 * The request body for one target.
 *
 * @example
 * ```ts
 * deliveryBody("relayer", {
 *   device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1, ts: 1_700_000_000, payload: '{"…":"…"}',
 *   dataHash: `0x${"11".repeat(32)}`, signature: `0x${"22".repeat(64)}`,
 * });
 * // { device: "0x7099…79C8", seq: "1", timestamp: "1700000000", dataHash: "0x1111…", signature: "0x2222…" }
 * ```
 */
export function deliveryBody(
  target: DeliveryTarget,
  entry: Pick<DeliveryHead, "device" | "seq" | "ts" | "payload" | "dataHash" | "signature">,
): Record<string, string> {
  return target === "platform"
    ? { payload: entry.payload, signature: entry.signature }
    : {
        device: entry.device,
        seq: String(entry.seq),
        timestamp: String(entry.ts),
        dataHash: entry.dataHash,
        signature: entry.signature,
      };
}

/** What one attempt needs besides the reading. */
export type AttemptOptions = {
  /** The target's base URL (no trailing slash). */
  baseUrl: string;
  fetch: typeof fetch;
  timeoutMs: number;
  now: () => number;
  retryCodes: readonly string[];
};

/**
 * Sends one reading to one target and classifies the answer. Network errors and timeouts are a
 * retry of the whole target (code `TIMEOUT`, the socket's code such as `ECONNREFUSED`, or
 * `NETWORK_ERROR`).
 *
 * @example
 * ```ts
 * const outcome = await attemptDelivery(
 *   { target: "relayer", device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1, ts: 1_700_000_000, payload: "{}",
 *     dataHash: `0x${"11".repeat(32)}`, signature: `0x${"22".repeat(64)}` },
 *   { baseUrl: "http://127.0.0.1:9", fetch, timeoutMs: 1000, now: Date.now, retryCodes: ["UNKNOWN_DEVICE"] },
 * );
 * outcome.kind; // "retry" (nothing listens on port 9)
 * ```
 */
export async function attemptDelivery(
  head: Pick<DeliveryHead, "target" | "device" | "seq" | "ts" | "payload" | "dataHash" | "signature">,
  options: AttemptOptions,
): Promise<DeliveryOutcome> {
  let response: Response;
  try {
    response = await options.fetch(`${options.baseUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(deliveryBody(head.target, head)),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    return {
      kind: "retry",
      scope: "target",
      status: null,
      code: networkErrorCode(error),
      message: (error as Error).message,
      retryAfterMs: undefined,
    };
  }
  let text: string | null = null;
  let body: unknown = null;
  try {
    text = await response.text();
    body = text.length > 0 ? JSON.parse(text) : null;
  } catch {
    body = null; // a non-JSON answer is classified by its status alone
  }
  return classifyResponse(
    response.status,
    body,
    parseRetryAfter(response.headers.get("retry-after"), options.now()),
    text === null || text.length === 0 ? null : text,
    options.retryCodes,
  );
}

function networkErrorCode(error: unknown): string {
  if ((error as Error).name === "TimeoutError") return "TIMEOUT";
  const cause = (error as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === "string" ? cause.code : "NETWORK_ERROR";
}
