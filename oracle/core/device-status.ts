/**
 * Device statuses of the DeviceRegistry and the pure "status as of a block" rule every part of the
 * audit chain judges readings with (platform, relayer, verifier, committee).
 *
 * @module
 */

/** A device's status, numbered as `DeviceStatus` in IDeviceRegistry.sol. */
export const DeviceStatus = { Unknown: 0, Active: 1, Suspended: 2, Revoked: 3, Rotated: 4 } as const;
export type DeviceStatus = (typeof DeviceStatus)[keyof typeof DeviceStatus];

/** Names of statuses for messages and JSON, indexed by {@link DeviceStatus}. */
export const DEVICE_STATUS_NAMES = ["unknown", "active", "suspended", "revoked", "rotated"] as const;

/**
 * The name of a status (`"unknown"` for a number the registry does not define).
 *
 * @example
 * ```ts
 * deviceStatusName(DeviceStatus.Suspended); // "suspended"
 * ```
 */
export function deviceStatusName(status: number): (typeof DEVICE_STATUS_NAMES)[number] {
  return DEVICE_STATUS_NAMES[status] ?? "unknown";
}

/** A status in force from `since` (a block timestamp, seconds) until the next entry. */
export interface StatusChange {
  since: number;
  status: DeviceStatus;
  /** The block of the registry event that made the change. */
  blockNumber: number;
}

/**
 * A `DeviceCompromised` record: the device is Revoked for every time from `since` on, whenever a
 * reading of it was anchored (the registrar may move `since` earlier by compromising again).
 */
export interface CompromiseRecord {
  since: number;
  /** The block of the `DeviceCompromised` event. */
  blockNumber: number;
}

/** A device's status history, oldest first (a registry index's `IndexedDevice` has it). */
export interface StatusHistory {
  history: readonly StatusChange[];
  /** Compromise declarations, oldest first (none: never compromised). */
  compromises?: readonly CompromiseRecord[];
}

/**
 * The compromised-since time in force as of `asOfBlock` (the earliest declared so far), or undefined.
 *
 * @example
 * ```ts
 * compromisedSinceAsOf({ history: [], compromises: [{ since: 1_700_000_000, blockNumber: 100 }] }, 100n); // 1700000000
 * ```
 */
export function compromisedSinceAsOf(device: StatusHistory, asOfBlock: bigint): number | undefined {
  let since: number | undefined;
  for (const c of device.compromises ?? []) {
    if (BigInt(c.blockNumber) <= asOfBlock && (since === undefined || c.since < since)) since = c.since;
  }
  return since;
}

/**
 * The status of `device` at `timestamp`, counting only the registry changes made in blocks up to
 * `asOfBlock` (so a verdict does not depend on how far an index has read). A compromise declared by
 * then makes every time from its `since` on Revoked, as `DeviceRegistry.statusAt` answers.
 *
 * @example
 * ```ts
 * const device = { history: [{ since: 1_700_000_000, status: DeviceStatus.Active, blockNumber: 100 }] };
 * statusAsOf(device, 1_700_000_060n, 120n); // DeviceStatus.Active
 * statusAsOf(device, 1_700_000_060n, 99n); // DeviceStatus.Unknown: registered in a later block
 * ```
 */
export function statusAsOf(device: StatusHistory | undefined, timestamp: bigint, asOfBlock: bigint): DeviceStatus {
  if (device === undefined) return DeviceStatus.Unknown;
  const compromised = compromisedSinceAsOf(device, asOfBlock);
  if (compromised !== undefined && BigInt(compromised) <= timestamp) return DeviceStatus.Revoked;
  let status: DeviceStatus = DeviceStatus.Unknown;
  for (const change of device.history) {
    if (BigInt(change.blockNumber) > asOfBlock) continue;
    if (BigInt(change.since) <= timestamp) status = change.status;
  }
  return status;
}

/**
 * Whether `device` was Revoked by a change in a block up to `asOfBlock`.
 *
 * @example
 * ```ts
 * const device = { history: [{ since: 1_700_000_000, status: DeviceStatus.Revoked, blockNumber: 100 }] };
 * revokedAsOf(device, 100n); // true
 * ```
 */
export function revokedAsOf(device: StatusHistory, asOfBlock: bigint): boolean {
  return device.history.some((c) => c.status === DeviceStatus.Revoked && BigInt(c.blockNumber) <= asOfBlock);
}
