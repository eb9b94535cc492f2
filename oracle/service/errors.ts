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
