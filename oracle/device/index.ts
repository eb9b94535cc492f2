/**
 * The device SDK: secure element, client with durable outbox, delivery, Sensor.Community replay,
 * synthetic data and the fleet simulator. (The chain registrar, which pulls in the contract ABIs,
 * is imported from `./registrar.js` directly.)
 *
 * @module
 */
export * from "./client.js";
export * from "./delivery.js";
export * from "./errors.js";
export * from "./outbox.js";
export * from "./secure-element.js";
export * from "./sensor-community.js";
export * from "./simulator.js";
export * from "./synthetic.js";
