import { SensorSealError } from "../core/errors.js";

/**
 * An error a service answers with: HTTP status, machine-readable code, short message, details.
 * Every service answers errors in one JSON shape: `{ "error": { "code", "message", "details"? } }`.
 *
 * @example throw new ServiceError(409, "SEQUENCE_CONFLICT", "another payload exists for this seq", { seq: 7 });
 */
export class ServiceError extends Error {
  override name = "ServiceError" as const;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toJSON(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

/** The one JSON shape of every error answer. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
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
