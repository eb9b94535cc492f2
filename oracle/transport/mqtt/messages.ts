/**
 * The bodies of docs/MQTT.md: a reading message is the HTTP body of its target, as canonical JSON;
 * a reply carries the HTTP status and body of the service's answer to it.
 *
 * @module
 */
import { canonicalize } from "../../core/canonical.js";
import { ERROR_STATUS, type ErrorCode } from "../../core/error-codes.js";
import { deliveryBody } from "../../device/delivery-request.js";
import type { DeliveryHead, DeliveryTarget } from "../../device/outbox-types.js";

/** The version of the reply shape. */
export const MQTT_REPLY_VERSION = 1;

/** A service's answer to one reading message (docs/MQTT.md, "Replies"). */
export type MqttReply = {
  v: typeof MQTT_REPLY_VERSION;
  target: DeliveryTarget;
  /** The device of the topic the reading came on (lower case). */
  device: string;
  /** The reading's seq; `null` when the message could not be read. */
  seq: number | null;
  /** The HTTP status the same reading gets over HTTP. */
  status: number;
  /** The HTTP body the same reading gets over HTTP (an answer, or `{ error: { code, message, details? } }`). */
  body: unknown;
  /** HTTP `Retry-After`, seconds, when the answer has one. */
  retryAfterSeconds?: number;
};

/**
 * The bytes a device publishes for one reading and target: the target's HTTP body, canonical JSON.
 *
 * @example
 * ```ts
 * const bytes = readingMessage("relayer", {
 *   device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: 1, ts: 1_700_000_000, payload: "{}",
 *   dataHash: `0x${"11".repeat(32)}`, signature: `0x${"22".repeat(65)}`,
 * });
 * bytes.toString().startsWith('{"dataHash":"0x1111'); // true
 * ```
 */
export function readingMessage(
  target: DeliveryTarget,
  entry: Pick<DeliveryHead, "device" | "seq" | "ts" | "payload" | "dataHash" | "signature">,
): Buffer {
  return Buffer.from(canonicalize(deliveryBody(target, entry)), "utf8");
}

/**
 * Encodes a reply as canonical JSON.
 *
 * @example
 * ```ts
 * encodeReply({ v: 1, target: "platform", device: "0x7099…", seq: 1, status: 201, body: { status: "stored" } }).toString();
 * // '{"body":{"status":"stored"},"device":"0x7099…","seq":1,"status":201,"target":"platform","v":1}'
 * ```
 */
export function encodeReply(reply: MqttReply): Buffer {
  return Buffer.from(canonicalize(reply), "utf8");
}

/**
 * Decodes a reply, or `undefined` if the bytes are not one.
 *
 * @example
 * ```ts
 * decodeReply(Buffer.from('{"body":{},"device":"0xab","seq":3,"status":202,"target":"relayer","v":1}'))?.seq; // 3
 * decodeReply(Buffer.from("nope")); // undefined
 * ```
 */
export function decodeReply(bytes: Buffer | Uint8Array): MqttReply | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    return undefined;
  }
  const r = value as Partial<MqttReply> | null;
  if (typeof r !== "object" || r === null || r.v !== MQTT_REPLY_VERSION) return undefined;
  if (r.target !== "platform" && r.target !== "relayer") return undefined;
  if (typeof r.device !== "string" || typeof r.status !== "number" || !(r.seq === null || Number.isSafeInteger(r.seq))) return undefined;
  return r as MqttReply;
}

/**
 * A reply refusing a message with one of the table's codes (status from `oracle/core/error-codes.ts`).
 *
 * @example
 * ```ts
 * errorReply({ target: "platform", device: "0xab", seq: null }, "INVALID_JSON", "not JSON").status; // 400
 * ```
 */
export function errorReply(
  to: { target: DeliveryTarget; device: string; seq: number | null },
  code: ErrorCode,
  message: string,
  details?: Record<string, unknown>,
  retryAfterSeconds?: number,
): MqttReply {
  return {
    v: MQTT_REPLY_VERSION,
    ...to,
    status: ERROR_STATUS[code],
    body: { error: details === undefined ? { code, message } : { code, message, details } },
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}
