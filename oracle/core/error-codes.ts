/**
 * The one table of machine-readable error codes every SensorSeal service answers with, and the one
 * HTTP status of each. Services throw `ServiceError(code, message, details)` and the status comes
 * from here; clients (the device SDK, the verifier, the web pages) match answers by exact code
 * against the same table, never by pattern.
 *
 * Groups, by what a client does about them:
 * - 400/413/415: the request can never succeed as sent (fix it; do not resend).
 * - 401/403: not allowed (credentials, or the registry refuses this device for this reading).
 * - 404: no such thing.
 * - 409: the per-device sequence refuses it (another reading holds this seq, or it is below the last).
 * - 429: slow down (Retry-After). A device quota holds back only that device.
 * - 503: try again later (Retry-After).
 *
 * @module
 */

/** Every error code and its HTTP status. */
export const ERROR_STATUS = {
  // --- request shape (400, 413, 415) ---
  INVALID_JSON: 400,
  INVALID_BODY: 400,
  INVALID_QUERY: 400,
  INVALID_PARAMETER: 400,
  INVALID_ADDRESS: 400,
  INVALID_ACCOUNT: 400,
  INVALID_EPOCH: 400,
  INVALID_SEQ: 400,
  EMPTY_BULK: 400,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_READINGS: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  UNSUPPORTED_ENCODING: 415,

  // --- the core's typed input errors (a core parser refused what the client sent) ---
  INVALID_HEX: 400,
  INVALID_LENGTH: 400,
  INVALID_ARGUMENT: 400,
  NOT_JSON_VALUE: 400,
  NON_CANONICAL_JSON: 400,
  INVALID_KEY: 400,
  INVALID_MANIFEST: 400,
  INVALID_BUNDLE: 400,
  INVALID_ORACLE_MESSAGE: 400,
  EMPTY_TREE: 400,
  LEAF_NOT_IN_TREE: 400,
  INVALID_TREE_INDEX: 400,

  // --- reading admission (platform and relayer alike) ---
  /** The payload is not JSON or does not follow the payload schema (platform). */
  INVALID_PAYLOAD: 400,
  /** The payload is JSON but not its RFC 8785 canonical form (platform). */
  NON_CANONICAL_PAYLOAD: 400,
  /** A reading field is malformed or out of range (relayer: device, seq, timestamp, dataHash). */
  INVALID_READING: 400,
  /** The signature is malformed, or does not verify with the device's registered key on this domain. */
  INVALID_SIGNATURE: 400,
  /** The reading's timestamp is further ahead of the service's clock than the allowed skew. */
  FUTURE_TIMESTAMP: 400,
  /** The reading is too old to be anchored within the audit chain's maximum anchoring delay. */
  TIMESTAMP_TOO_OLD: 400,
  /** The device is not in the registry (yet: a client may retry a few times while indexes catch up). */
  UNKNOWN_DEVICE: 403,
  /** The device was not Active at the reading's timestamp. */
  DEVICE_NOT_ACTIVE: 403,
  /** The device is revoked: its key may be in other hands. */
  DEVICE_REVOKED: 403,

  // --- authentication and authorization ---
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  UNKNOWN_SIGNER: 403,

  // --- not found ---
  NOT_FOUND: 404,
  READING_NOT_FOUND: 404,
  BATCH_NOT_FOUND: 404,
  EPOCH_NOT_FOUND: 404,
  NO_EPOCH: 404,
  NO_ENTITLEMENT: 404,
  /** No anchored, authenticated manifest holds the reading (web: proof bundle). */
  NOT_ANCHORED: 404,
  /** The reading is anchored but the platform has no payload for it (web: proof bundle). */
  RAW_MISSING: 404,

  // --- sequence and consistency ---
  /** Another reading (payload or dataHash) is already stored under this device and seq. */
  SEQUENCE_CONFLICT: 409,
  /** The seq is not above the device's last accepted seq. */
  STALE_SEQUENCE: 409,
  CONFLICTING_MESSAGE: 409,
  EPOCH_MISMATCH: 400,
  WRONG_SOURCE_CHAIN: 400,

  // --- slow down (429, Retry-After) ---
  /** Too many requests from this client address. */
  RATE_LIMITED: 429,
  /** This device sent more readings than its quota allows; only this device is held back. */
  DEVICE_QUOTA_EXCEEDED: 429,
  /** The relayer's durable queue is full. */
  QUEUE_FULL: 429,
  /** The service sheds load (too much work in flight). */
  OVERLOADED: 429,

  // --- try again later (503, Retry-After) ---
  SHUTTING_DOWN: 503,
  REGISTRY_UNAVAILABLE: 503,
  SERVICE_UNAVAILABLE: 503,
  NOT_CONFIGURED: 503,

  // --- the service's own fault ---
  INTERNAL: 500,

  // --- market (sales: scopes, purchase access) ---
  /** A market scope is malformed (oracle/core/scope.ts). */
  INVALID_SCOPE: 400,
  /** A market scope names devices the registry does not know (refused at listing time). */
  UNKNOWN_SCOPE_DEVICE: 400,
  /** A Sign-In with Ethereum message or signature is invalid, expired, or for another domain or nonce. */
  INVALID_SIWE: 401,
  /** The signed-in wallet has no confirmed purchase (K confirmations) of this product, or its access ended. */
  NO_PURCHASE: 403,
  /** The request asks for data outside what the purchase covers (device, field or time). */
  OUT_OF_SCOPE: 403,
  // --- device secure element in a PKCS#11 token (issue 14) ---
  INVALID_PKCS11_URI: 400,
  PKCS11_MODULE_UNAVAILABLE: 503,
  TOKEN_NOT_FOUND: 404,
  TOKEN_OBJECT_NOT_FOUND: 404,
  TOKEN_OBJECT_EXISTS: 409,
  TOKEN_PIN_INCORRECT: 401,
  TOKEN_PIN_MISSING: 401,
  TOKEN_UNAVAILABLE: 503,
  TOKEN_KEY_INVALID: 500,

  // --- operator-attested provisioning (issue 14; docs/PROVISIONING.md) ---
  ATTESTATION_MALFORMED: 400,
  ATTESTATION_UNKNOWN_ISSUER: 403,
  ATTESTATION_ISSUER_REVOKED: 403,
  ATTESTATION_INVALID_SIGNATURE: 400,
  ATTESTATION_NOT_VALID: 400,
  ATTESTATION_INVALID_PROOF: 400,
  /** The eSIM's attestation was already used (a replayed attestation or proof of possession). */
  ATTESTATION_ESIM_USED: 409,
  /** The attested key is already in the registry. */
  DEVICE_ALREADY_REGISTERED: 409,
  /** The relayer has no registration account configured. */
  REGISTRATION_DISABLED: 501,
  /** The registration transaction was not accepted or reverted after its checks passed (a race); retry. */
  REGISTRATION_FAILED: 502,
  /** The provisioning service did not issue this eSIM id. */
  ESIM_UNKNOWN: 404,
  /** The eSIM id was already provisioned for another key. */
  ESIM_ALREADY_USED: 409,
  // --- MQTT transport (docs/MQTT.md) ---
  /** A reading published on one device's topic names another device. */
  TOPIC_DEVICE_MISMATCH: 403,
  // --- oracle committee: manifest copies for peers (docs/TRUST-MODEL.md §1) ---
  /** The path names no 32-byte 0x hash. */
  INVALID_MANIFEST_HASH: 400,
  /** This oracle holds no manifest with that anchored hash (yet). */
  MANIFEST_NOT_FOUND: 404,
} as const;

/** A machine-readable error code of a SensorSeal service. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** Codes that hold back only the one device they name (the client keeps delivering other devices). */
export const DEVICE_SCOPED_RETRY_CODES: readonly ErrorCode[] = ["DEVICE_QUOTA_EXCEEDED"];

/** Whether `code` is one of {@link ERROR_STATUS}'s codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERROR_STATUS, code);
}
