/**
 * SensorSeal shared core: formats, hashing, EIP-712, Merkle trees, keys and
 * batch manifests, and the audit chain's shared rules (error codes, device status, reading
 * admission, anchored batches and manifest authentication). Pure: no RPC, no files, no HTTP.
 *
 * @module
 */
export * from "./errors.js";
export * from "./bytes.js";
export * from "./keccak.js";
export * from "./canonical.js";
export * from "./payload.js";
export * from "./vocabulary.js";
export * from "./reading.js";
export * from "./merkle.js";
export * from "./keys.js";
export * from "./manifest.js";
export * from "./reward.js";
export * from "./oracle-message.js";
export * from "./receipt.js";
export * from "./address.js";
export * from "./chains.js";
export * from "./bundle.js";
export * from "./error-codes.js";
export * from "./device-status.js";
export * from "./admission.js";
export * from "./anchored-batch.js";
