/**
 * The MQTT topics of docs/MQTT.md: each device's two reading topics and its reply topic, the
 * services' shared subscriptions, and the parser a consumer uses to learn which device a message
 * came from (the topic is what the broker authorised, so it names the device).
 *
 * @module
 */
import type { Address } from "viem";

import type { DeliveryTarget } from "../../device/outbox-types.js";

/** Every SensorSeal topic starts here. */
export const TOPIC_ROOT = "sensorseal/v1/devices";

/** The MQTT username of each service's consumers (and its shared-subscription group). */
export const SERVICE_USERNAMES: Readonly<Record<DeliveryTarget, string>> = Object.freeze({
  platform: "sensorseal-platform",
  relayer: "sensorseal-relayer",
});

const DEVICE_RE = /^0x[0-9a-f]{40}$/;
const TARGETS: readonly DeliveryTarget[] = ["platform", "relayer"];

/**
 * The topic segment and MQTT username of a device: its address in lower case.
 *
 * @example
 * ```ts
 * deviceSegment("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"); // "0x70997970c51812dc3a010c7d01b50e0d17dc79c8"
 * ```
 */
export function deviceSegment(device: Address | string): string {
  return device.toLowerCase();
}

/**
 * The topic a device publishes its readings for `target` on.
 *
 * @example
 * ```ts
 * readingTopic("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "relayer");
 * // "sensorseal/v1/devices/0x70997970c51812dc3a010c7d01b50e0d17dc79c8/readings/relayer"
 * ```
 */
export function readingTopic(device: Address | string, target: DeliveryTarget): string {
  return `${TOPIC_ROOT}/${deviceSegment(device)}/readings/${target}`;
}

/**
 * The topic the services answer a device on.
 *
 * @example
 * ```ts
 * replyTopic("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"); // "sensorseal/v1/devices/0x7099…79c8/replies"
 * ```
 */
export function replyTopic(device: Address | string): string {
  return `${TOPIC_ROOT}/${deviceSegment(device)}/replies`;
}

/**
 * The filter (without `$share`) a service's consumers read.
 *
 * @example
 * ```ts
 * readingFilter("platform"); // "sensorseal/v1/devices/+/readings/platform"
 * ```
 */
export function readingFilter(target: DeliveryTarget): string {
  return `${TOPIC_ROOT}/+/readings/${target}`;
}

/**
 * The shared subscription of a service's consumers: each message goes to one of them.
 *
 * @example
 * ```ts
 * sharedSubscription("relayer"); // "$share/sensorseal-relayer/sensorseal/v1/devices/+/readings/relayer"
 * ```
 */
export function sharedSubscription(target: DeliveryTarget): string {
  return `$share/${SERVICE_USERNAMES[target]}/${readingFilter(target)}`;
}

/**
 * Reads a reading topic: the device and the target, or `undefined` for any other topic.
 *
 * @example
 * ```ts
 * parseReadingTopic("sensorseal/v1/devices/0x70997970c51812dc3a010c7d01b50e0d17dc79c8/readings/platform");
 * // { device: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", target: "platform" }
 * parseReadingTopic("sensorseal/v1/devices/0xABC/readings/platform"); // undefined
 * ```
 */
export function parseReadingTopic(topic: string): { device: string; target: DeliveryTarget } | undefined {
  const parts = topic.split("/");
  if (parts.length !== 6 || `${parts[0]}/${parts[1]}/${parts[2]}` !== TOPIC_ROOT || parts[4] !== "readings") return undefined;
  const device = parts[3]!;
  const target = parts[5] as DeliveryTarget;
  if (!DEVICE_RE.test(device) || !TARGETS.includes(target)) return undefined;
  return { device, target };
}

/**
 * Whether `name` is a device username (a lower-case address).
 *
 * @example
 * ```ts
 * isDeviceUsername("0x70997970c51812dc3a010c7d01b50e0d17dc79c8"); // true
 * isDeviceUsername("sensorseal-platform"); // false
 * ```
 */
export function isDeviceUsername(name: string): boolean {
  return DEVICE_RE.test(name);
}
