/**
 * Who may do what on the broker (docs/MQTT.md, "Who may do what"), as pure functions the embedded
 * broker applies and as the Mosquitto `acl_file` that says the same; and the local stack's
 * password derivation (HMAC of a stack secret), so whoever provisions a device can give it its
 * MQTT password.
 *
 * @module
 */
import { createHmac, timingSafeEqual } from "node:crypto";

import type { DeliveryTarget } from "../../device/outbox-types.js";
import { isDeviceUsername, readingFilter, readingTopic, replyTopic, SERVICE_USERNAMES, sharedSubscription, TOPIC_ROOT } from "./topics.js";

/** Who a connected username is. */
export type MqttPrincipal = { kind: "device"; device: string } | { kind: "service"; target: DeliveryTarget };

/**
 * The principal a username names, or `undefined` for any other name.
 *
 * @example
 * ```ts
 * principalOf("sensorseal-relayer"); // { kind: "service", target: "relayer" }
 * principalOf("0x70997970c51812dc3a010c7d01b50e0d17dc79c8"); // { kind: "device", device: "0x7099…79c8" }
 * ```
 */
export function principalOf(username: string | undefined): MqttPrincipal | undefined {
  if (username === undefined) return undefined;
  if (isDeviceUsername(username)) return { kind: "device", device: username };
  for (const target of Object.keys(SERVICE_USERNAMES) as DeliveryTarget[]) {
    if (SERVICE_USERNAMES[target] === username) return { kind: "service", target };
  }
  return undefined;
}

/**
 * Whether `who` may publish on `topic`: a device on its own reading topics, a service on replies.
 *
 * @example
 * ```ts
 * const me = { kind: "device", device: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8" } as const;
 * mayPublish(me, "sensorseal/v1/devices/0x70997970c51812dc3a010c7d01b50e0d17dc79c8/readings/platform"); // true
 * mayPublish(me, "sensorseal/v1/devices/0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc/readings/platform"); // false
 * ```
 */
export function mayPublish(who: MqttPrincipal, topic: string): boolean {
  if (who.kind === "device") return topic === readingTopic(who.device, "platform") || topic === readingTopic(who.device, "relayer");
  const parts = topic.split("/");
  return parts.length === 5 && topic.startsWith(`${TOPIC_ROOT}/`) && isDeviceUsername(parts[3]!) && parts[4] === "replies";
}

/**
 * Whether `who` may subscribe to `filter`: a device to its reply topic, a service to its shared
 * subscription (or, on a broker without `$share`, its plain filter).
 *
 * @example
 * ```ts
 * maySubscribe({ kind: "service", target: "platform" }, "$share/sensorseal-platform/sensorseal/v1/devices/+/readings/platform"); // true
 * maySubscribe({ kind: "service", target: "relayer" }, "$share/sensorseal-relayer/sensorseal/v1/devices/+/readings/platform"); // false
 * ```
 */
export function maySubscribe(who: MqttPrincipal, filter: string): boolean {
  if (who.kind === "device") return filter === replyTopic(who.device);
  return filter === sharedSubscription(who.target) || filter === readingFilter(who.target);
}

/**
 * The stack's password for `username`: `hex(HMAC-SHA256(secret, username))`.
 *
 * @example
 * ```ts
 * mqttPassword("stack secret", "sensorseal-platform").length; // 64
 * ```
 */
export function mqttPassword(secret: string, username: string): string {
  return createHmac("sha256", secret).update(username).digest("hex");
}

/**
 * Checks a password against {@link mqttPassword} in constant time.
 *
 * @example
 * ```ts
 * checkMqttPassword("s", "sensorseal-relayer", mqttPassword("s", "sensorseal-relayer")); // true
 * ```
 */
export function checkMqttPassword(secret: string, username: string, password: string | Buffer | undefined): boolean {
  if (password === undefined) return false;
  const given = Buffer.from(password);
  const expected = Buffer.from(mqttPassword(secret, username));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The same rules as a Mosquitto `acl_file` (pattern ACL: `%u` is the username).
 *
 * @example
 * ```ts
 * mosquittoAcl().includes("pattern write sensorseal/v1/devices/%u/readings/+"); // true
 * ```
 */
export function mosquittoAcl(): string {
  const lines = [`pattern write ${TOPIC_ROOT}/%u/readings/+`, `pattern read ${TOPIC_ROOT}/%u/replies`];
  for (const target of Object.keys(SERVICE_USERNAMES) as DeliveryTarget[]) {
    lines.push(`user ${SERVICE_USERNAMES[target]}`, `topic read ${readingFilter(target)}`, `topic write ${TOPIC_ROOT}/+/replies`);
  }
  return `${lines.join("\n")}\n`;
}
