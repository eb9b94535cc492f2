/**
 * Typed errors of the device SDK (secure element, client, outbox, simulator).
 *
 * Each is a {@link SensorSealError} with a literal `name` and a machine-readable `code`.
 *
 * @module
 */
import { SensorSealError, type SensorSealErrorOptions } from "../core/errors.js";

/**
 * The key file's password is wrong (the AES-GCM tag does not verify). A tampered ciphertext
 * gives the same error: the two cannot be told apart.
 *
 * @example
 * ```ts
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { SoftwareSecureElement } from "./secure-element.js";
 * const file = join(mkdtempSync(join(tmpdir(), "sensorseal-")), "device.json");
 * await SoftwareSecureElement.create("p256", file, "the password", { scrypt: { N: 1 << 12 } });
 * const err = await SoftwareSecureElement.open(file, "not the password").catch((e: unknown) => e);
 * (err as WrongPasswordError).code; // "WRONG_PASSWORD"
 * ```
 */
export class WrongPasswordError extends SensorSealError {
  override name = "WrongPasswordError" as const;
  declare readonly code: "WRONG_PASSWORD";
  constructor(file: string, options: SensorSealErrorOptions = {}) {
    super("WRONG_PASSWORD", `Wrong password for key file ${file}.`, { details: { file }, cause: options.cause });
  }
}

/** A key file is not a valid SensorSeal device key file (bad JSON, fields, parameters, or key/address mismatch). */
export class InvalidKeyFileError extends SensorSealError {
  override name = "InvalidKeyFileError" as const;
  declare readonly code: "INVALID_KEY_FILE";
  constructor(file: string, reason: string, options: SensorSealErrorOptions = {}) {
    super("INVALID_KEY_FILE", `Invalid key file ${file}: ${reason}.`, {
      details: { file, reason, ...options.details },
      cause: options.cause,
    });
  }
}

/** `create` refuses to overwrite an existing key file. */
export class KeyFileExistsError extends SensorSealError {
  override name = "KeyFileExistsError" as const;
  declare readonly code: "KEY_FILE_EXISTS";
  constructor(file: string) {
    super("KEY_FILE_EXISTS", `Key file ${file} already exists.`, { details: { file } });
  }
}

/** `open` was given a path with no file. */
export class KeyFileNotFoundError extends SensorSealError {
  override name = "KeyFileNotFoundError" as const;
  declare readonly code: "KEY_FILE_NOT_FOUND";
  constructor(file: string, options: SensorSealErrorOptions = {}) {
    super("KEY_FILE_NOT_FOUND", `No key file at ${file}.`, { details: { file }, cause: options.cause });
  }
}

/** Why the outbox refused: a seq that is not the device's next one, a closed outbox, a storage it cannot open, a damaged journal. */
export type OutboxErrorCode = "OUTBOX_SEQUENCE_CONFLICT" | "OUTBOX_CLOSED" | "OUTBOX_STORAGE_UNAVAILABLE" | "OUTBOX_CORRUPT";

/** The outbox refused a write or could not open its storage (see {@link OutboxErrorCode}). */
export class OutboxError extends SensorSealError {
  override name = "OutboxError" as const;
  declare readonly code: OutboxErrorCode;
  constructor(code: OutboxErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown) {
    super(code, message, { details, cause });
  }
}

/** A wait for the outbox to drain ran out of time with readings still pending. */
export class DeliveryTimeoutError extends SensorSealError {
  override name = "DeliveryTimeoutError" as const;
  declare readonly code: "DELIVERY_TIMEOUT";
  constructor(timeoutMs: number, pending: number) {
    super("DELIVERY_TIMEOUT", `Outbox not drained after ${timeoutMs} ms: ${pending} deliveries pending.`, {
      details: { timeoutMs, pending },
    });
  }
}

/** A device client, delivery worker or simulator was given an invalid option. */
export class DeviceConfigError extends SensorSealError {
  override name = "DeviceConfigError" as const;
  declare readonly code: "INVALID_DEVICE_CONFIG";
  constructor(option: string, reason: string) {
    super("INVALID_DEVICE_CONFIG", `Invalid option "${option}": ${reason}.`, { details: { option, reason } });
  }
}

/**
 * An archive file (Sensor.Community, OpenAQ) cannot be imported: unknown layout, no usable rows,
 * or, with `line`, one malformed row (the importers collect these in their report, or throw on
 * the first in strict mode).
 */
export class ReplayDataError extends SensorSealError {
  override name = "ReplayDataError" as const;
  declare readonly code: "INVALID_REPLAY_DATA";
  readonly file: string;
  readonly line: number | undefined;
  readonly reason: string;
  constructor(file: string, reason: string, line?: number) {
    const where = line === undefined ? file : `${file}:${line}`;
    super("INVALID_REPLAY_DATA", `Cannot replay ${where}: ${reason}.`, {
      details: line === undefined ? { file, reason } : { file, line, reason },
    });
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}
