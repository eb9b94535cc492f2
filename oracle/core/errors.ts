/**
 * Typed errors of the SensorSeal core.
 *
 * Every error is a {@link SensorSealError} with a literal `name` (for
 * `instanceof`-free narrowing across package copies), a machine-readable
 * `code` (services map it to an HTTP status and answer it as is), optional
 * `details` (the values that caused it) and an optional `cause`.
 *
 * @module
 */

/** Constructor options shared by every SensorSeal error. */
export type SensorSealErrorOptions = {
  /** The values that caused the error (kept JSON-friendly: no bigints, no bytes). */
  details?: Record<string, unknown> | undefined;
  /** The underlying error, if any. */
  cause?: unknown;
};

/**
 * Base class of every error thrown by the SensorSeal core.
 *
 * @example
 * ```ts
 * import { SensorSealError, InvalidHexError } from "./errors.js";
 * try {
 *   throw new InvalidHexError("0xzz");
 * } catch (err) {
 *   if (err instanceof SensorSealError) err.toJSON(); // { code: "INVALID_HEX", message: … }
 * }
 * ```
 */
export class SensorSealError extends Error {
  override name: string = "SensorSealError";
  /** Machine-readable code, e.g. `"INVALID_SIGNATURE"`. */
  readonly code: string;
  /** Values that caused the error. */
  readonly details: Record<string, unknown> | undefined;
  /** The message without decoration (same as `message`). */
  readonly shortMessage: string;

  constructor(code: string, shortMessage: string, options: SensorSealErrorOptions = {}) {
    super(shortMessage, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }

  /**
   * The one JSON shape of every error, for logs and HTTP answers (a service answers
   * `{ "error": <this> }`, see {@link errorBody}).
   */
  toJSON(): ErrorJson {
    return this.details === undefined
      ? { code: this.code, message: this.shortMessage }
      : { code: this.code, message: this.shortMessage, details: this.details };
  }
}

/** What {@link SensorSealError.toJSON} gives: the one JSON shape of an error. */
export interface ErrorJson {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** The HTTP body of every error answer: `{ "error": { code, message, details? } }`. */
export interface ErrorBody {
  error: ErrorJson;
}

/**
 * The HTTP body of an error answer.
 *
 * @example
 * ```ts
 * errorBody(new InvalidHexError("0xzz")); // { error: { code: "INVALID_HEX", message: …, details: … } }
 * ```
 */
export function errorBody(error: SensorSealError): ErrorBody {
  return { error: error.toJSON() };
}

/** A string is not `0x`-prefixed hex, or not of the expected byte length. */
export class InvalidHexError extends SensorSealError {
  override name = "InvalidHexError" as const;
  declare readonly code: "INVALID_HEX";
  constructor(value: unknown, expectedBytes?: number, options: SensorSealErrorOptions = {}) {
    const shown = typeof value === "string" ? (value.length > 80 ? `${value.slice(0, 77)}...` : value) : typeof value;
    super(
      "INVALID_HEX",
      expectedBytes === undefined ? `Invalid hex value "${shown}".` : `Invalid hex value "${shown}": expected ${expectedBytes} bytes.`,
      { details: { value: shown, expectedBytes, ...options.details }, cause: options.cause },
    );
  }
}

/** Bytes of the wrong length were given where a fixed length is required. */
export class InvalidLengthError extends SensorSealError {
  override name = "InvalidLengthError" as const;
  declare readonly code: "INVALID_LENGTH";
  constructor(what: string, expected: number | readonly number[], actual: number) {
    const exp = typeof expected === "number" ? String(expected) : expected.join(" or ");
    super("INVALID_LENGTH", `Invalid ${what} length: expected ${exp} bytes, got ${actual}.`, {
      details: { what, expected, actual },
    });
  }
}

/** An argument is out of range or of the wrong type. */
export class InvalidArgumentError extends SensorSealError {
  override name = "InvalidArgumentError" as const;
  declare readonly code: "INVALID_ARGUMENT";
  constructor(argument: string, reason: string) {
    super("INVALID_ARGUMENT", `Invalid argument "${argument}": ${reason}.`, { details: { argument, reason } });
  }
}

/** `canonicalize` was given a value that has no RFC 8785 (I-JSON) representation. */
export class CanonicalizeError extends SensorSealError {
  override name = "CanonicalizeError" as const;
  declare readonly code: "NOT_JSON_VALUE";
  constructor(reason: string, path: string) {
    super("NOT_JSON_VALUE", `Cannot canonicalize value at ${path}: ${reason}.`, { details: { reason, path } });
  }
}

/** Bytes are not the RFC 8785 canonical form of a JSON value. */
export class NonCanonicalJsonError extends SensorSealError {
  override name = "NonCanonicalJsonError" as const;
  declare readonly code: "NON_CANONICAL_JSON";
  constructor(reason: string, options: SensorSealErrorOptions = {}) {
    super("NON_CANONICAL_JSON", `Not canonical JSON (RFC 8785): ${reason}.`, {
      details: { reason, ...options.details },
      cause: options.cause,
    });
  }
}

/** A raw reading payload is canonical JSON but does not follow the payload schema. */
export class InvalidPayloadError extends SensorSealError {
  override name = "InvalidPayloadError" as const;
  declare readonly code: "INVALID_PAYLOAD";
  constructor(field: string, reason: string) {
    super("INVALID_PAYLOAD", `Invalid payload field "${field}": ${reason}.`, { details: { field, reason } });
  }
}

/** A {@link Reading} has a field out of range (e.g. `seq` not a uint64). */
export class InvalidReadingError extends SensorSealError {
  override name = "InvalidReadingError" as const;
  declare readonly code: "INVALID_READING";
  constructor(field: string, reason: string) {
    super("INVALID_READING", `Invalid reading field "${field}": ${reason}.`, { details: { field, reason } });
  }
}

/** A private or public key is malformed or not on the curve, or the key scheme is unknown. */
export class InvalidKeyError extends SensorSealError {
  override name = "InvalidKeyError" as const;
  declare readonly code: "INVALID_KEY";
  constructor(reason: string, options: SensorSealErrorOptions = {}) {
    super("INVALID_KEY", `Invalid key: ${reason}.`, { details: { reason, ...options.details }, cause: options.cause });
  }
}

/** A signature is malformed, high-s, or does not verify. */
export class InvalidSignatureError extends SensorSealError {
  override name = "InvalidSignatureError" as const;
  declare readonly code: "INVALID_SIGNATURE";
  constructor(reason: string, options: SensorSealErrorOptions = {}) {
    super("INVALID_SIGNATURE", `Invalid signature: ${reason}.`, {
      details: { reason, ...options.details },
      cause: options.cause,
    });
  }
}

/** A Merkle tree was requested over zero leaves. */
export class EmptyTreeError extends SensorSealError {
  override name = "EmptyTreeError" as const;
  declare readonly code: "EMPTY_TREE";
  constructor() {
    super("EMPTY_TREE", "A Merkle tree needs at least one leaf.");
  }
}

/** A leaf hash is not in the tree. */
export class LeafNotInTreeError extends SensorSealError {
  override name = "LeafNotInTreeError" as const;
  declare readonly code: "LEAF_NOT_IN_TREE";
  constructor(leaf: string) {
    super("LEAF_NOT_IN_TREE", `Leaf ${leaf} is not in the tree.`, { details: { leaf } });
  }
}

/** A tree index does not point at a leaf of the tree. */
export class InvalidTreeIndexError extends SensorSealError {
  override name = "InvalidTreeIndexError" as const;
  declare readonly code: "INVALID_TREE_INDEX";
  constructor(index: number, nodeCount: number) {
    super("INVALID_TREE_INDEX", `Tree index ${index} is not a leaf of a tree of ${nodeCount} nodes.`, {
      details: { index, nodeCount },
    });
  }
}

/** A batch manifest is malformed. */
export class InvalidManifestError extends SensorSealError {
  override name = "InvalidManifestError" as const;
  declare readonly code: "INVALID_MANIFEST";
  constructor(path: string, reason: string, options: SensorSealErrorOptions = {}) {
    super("INVALID_MANIFEST", `Invalid manifest at ${path}: ${reason}.`, {
      details: { path, reason, ...options.details },
      cause: options.cause,
    });
  }
}
