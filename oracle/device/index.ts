/**
 * The device SDK: secure element, client with durable outbox, delivery, the chain registrar,
 * Sensor.Community replay, OpenAQ station import, synthetic data and the fleet simulator.
 *
 * @module
 */
export * from "./backlog.js";
export * from "./client.js";
export * from "./csv-rows.js";
export * from "./delivery.js";
export * from "./epa-aqs.js";
export * from "./errors.js";
export * from "./openaq.js";
export * from "./outbox.js";
export * from "./registrar.js";
export * from "./secure-element.js";
export * from "./sensor-community.js";
export * from "./simulator.js";
export * from "./station-import.js";
export * from "./synthetic.js";
