import { ERROR_STATUS, isErrorCode, type ErrorCode } from "../core/error-codes.js";
import { errorBody, SensorSealError, type ErrorBody } from "../core/errors.js";

export type { ErrorBody } from "../core/errors.js";

/**
 * An error a service answers with: HTTP status, machine-readable code, short message, details.
 * A {@link SensorSealError}, so every service answers errors in one JSON shape:
 * `{ "error": { "code", "message", "details"? } }` ({@link ServiceError.body}).
 *
 * The status must be the code's status in {@link ERROR_STATUS}: the constructor's type demands it
 * for a literal code, so a call site that answers a code with another status does not compile.
 *
 * @example throw new ServiceError("SEQUENCE_CONFLICT", "another payload exists for this seq", { seq: 7 });
 */
export class ServiceError<C extends ErrorCode = ErrorCode> extends SensorSealError {
  override name = "ServiceError" as const;
  declare readonly code: C;
  readonly status: (typeof ERROR_STATUS)[C];

  constructor(code: C, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(code, message, { details, cause: options?.cause });
    this.status = ERROR_STATUS[code];
  }

  /**
   * The error answer of `code`, its status from {@link ERROR_STATUS}.
   *
   * @example throw ServiceError.of("UNKNOWN_DEVICE", "device is not in the registry", { device });
   */
  static of<C extends ErrorCode>(
    code: C,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ): ServiceError<C> {
    return new ServiceError(code, message, details, options);
  }

  /**
   * The 400 answer of a core typed error raised by client input (a core parser refused it): the
   * core's code when the table has it, else INVALID_BODY.
   *
   * @example ServiceError.fromInput(new InvalidHexError("0xzz")); // 400 INVALID_HEX
   */
  static fromInput(error: SensorSealError): ServiceError {
    const code = isErrorCode(error.code) && ERROR_STATUS[error.code] === 400 ? error.code : "INVALID_BODY";
    return new ServiceError(code as "INVALID_BODY", error.shortMessage, error.details, { cause: error });
  }

  /** The HTTP body: `{ error: this.toJSON() }`. */
  body(): ErrorBody {
    return errorBody(this);
  }
}

/**
 * A service cannot start: its configuration is wrong, or what it names (chain, contracts, store)
 * is not there. The message lists every issue; CLIs print it and exit with code 2.
 *
 * @example throw new ConfigError("Invalid relayer configuration", ["PORT: must be a number"]);
 */
export class ConfigError extends SensorSealError {
  override name = "ConfigError" as const;
  declare readonly code: "INVALID_CONFIG";
  readonly issues: readonly string[];
  constructor(message: string, issues: readonly string[] = [], options: { cause?: unknown } = {}) {
    super("INVALID_CONFIG", issues.length === 0 ? message : `${message}:\n  ${issues.join("\n  ")}`, {
      details: { issues },
      cause: options.cause,
    });
    this.issues = issues;
  }
}
