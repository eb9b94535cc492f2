/**
 * Typed errors of the PKCS#11 secure element. Each names what went wrong with the token, never the PIN.
 *
 * @module
 */
import { SensorSealError, type SensorSealErrorOptions } from "../core/errors.js";

/** Codes of {@link TokenError}. */
export type TokenErrorCode =
  | "PKCS11_MODULE_UNAVAILABLE"
  | "TOKEN_NOT_FOUND"
  | "TOKEN_OBJECT_NOT_FOUND"
  | "TOKEN_OBJECT_EXISTS"
  | "TOKEN_PIN_INCORRECT"
  | "TOKEN_PIN_MISSING"
  | "TOKEN_UNAVAILABLE"
  | "TOKEN_KEY_INVALID";

/**
 * A PKCS#11 token could not be used: module missing, token or key object not found, wrong PIN, or the
 * token went away (removed, finalized, session lost) while the device was signing. Signing that fails
 * this way produces no signature, so the device client writes nothing to its outbox for that reading.
 *
 * @example
 * ```ts
 * const err = new TokenError("TOKEN_PIN_INCORRECT", "The token refused the PIN.", { token: "SensorSeal" });
 * err.code; // "TOKEN_PIN_INCORRECT"
 * ```
 */
export class TokenError extends SensorSealError {
  override name = "TokenError" as const;
  declare readonly code: TokenErrorCode;
  /** The PKCS#11 return value name (e.g. `CKR_PIN_INCORRECT`), when the module gave one. */
  readonly ckr: string | undefined;
  constructor(code: TokenErrorCode, message: string, details: Record<string, unknown> = {}, options: SensorSealErrorOptions = {}) {
    const ckr = ckrOf(options.cause);
    super(code, message, { details: ckr === undefined ? details : { ...details, ckr }, cause: options.cause });
    this.ckr = ckr;
  }
}

/** The `CKR_*` name of a pkcs11js error, if it is one. */
export function ckrOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const message = (error as { message?: unknown }).message;
  if (typeof message !== "string") return undefined;
  const match = /\bCKR_[A-Z_]+/.exec(message);
  return match?.[0];
}

/** PKCS#11 return values meaning the token, session or key went away under us. */
const GONE = new Set([
  "CKR_DEVICE_REMOVED",
  "CKR_DEVICE_ERROR",
  "CKR_TOKEN_NOT_PRESENT",
  "CKR_TOKEN_NOT_RECOGNIZED",
  "CKR_SESSION_HANDLE_INVALID",
  "CKR_SESSION_CLOSED",
  "CKR_OBJECT_HANDLE_INVALID",
  "CKR_KEY_HANDLE_INVALID",
  "CKR_CRYPTOKI_NOT_INITIALIZED",
  "CKR_USER_NOT_LOGGED_IN",
  "CKR_SLOT_ID_INVALID",
  "CKR_GENERAL_ERROR",
]);

/** Whether a pkcs11js error means the token (or our session with it) is gone. */
export function isTokenGone(error: unknown): boolean {
  const ckr = ckrOf(error);
  return ckr !== undefined && GONE.has(ckr);
}
