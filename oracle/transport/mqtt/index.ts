/**
 * SensorSeal over MQTT (docs/MQTT.md): topics, messages, authorisation, the embedded broker, the
 * services' consumers and the device transport.
 *
 * @module
 */
export * from "./topics.js";
export * from "./messages.js";
export * from "./credentials.js";
export { startEmbeddedBroker, type EmbeddedBroker, type EmbeddedBrokerOptions } from "./broker.js";
export { MqttIntakeConsumer, type MqttConsumerOptions, type MqttConsumerStats } from "./consumer.js";
export { MqttDeliveryTransport, type MqttTransportOptions } from "./device-transport.js";
export { splitBulkAnswer, type ItemAnswer } from "./bulk-answers.js";
