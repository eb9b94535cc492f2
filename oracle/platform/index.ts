/**
 * The raw-data platform: stores device-signed payloads verbatim and serves them to API-key holders.
 * @module
 */
export * from "./auth.js";
export * from "./config.js";
export * from "./ingest.js";
export * from "./main.js";
export * from "./platform.js";
export * from "./store.js";
