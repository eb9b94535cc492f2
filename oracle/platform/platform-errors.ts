/**
 * Typed errors of the platform that are not answers to a client (those are `ServiceError`s).
 *
 * @module
 */
import { SensorSealError } from "../core/errors.js";

/** The API keys file lists the same key twice. */
export class DuplicateApiKeyError extends SensorSealError {
  override name = "DuplicateApiKeyError" as const;
  declare readonly code: "DUPLICATE_API_KEY";
  constructor(id: string) {
    super("DUPLICATE_API_KEY", `API key of "${id}" is listed twice`, { details: { id } });
  }
}
