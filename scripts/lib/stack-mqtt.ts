/**
 * The MQTT part of `npm start` (docs/MQTT.md): the embedded broker on MQTT_PORT (1883) with the
 * topic ACL, and one consumer per service that hands readings to the service's own intake. The
 * stack's MQTT secret (passwords derive from it) is kept in `<data>/mqtt-secret`.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import { startEmbeddedBroker } from "../../oracle/transport/mqtt/broker.js";
import { MqttIntakeConsumer } from "../../oracle/transport/mqtt/consumer.js";
import { mqttPassword } from "../../oracle/transport/mqtt/credentials.js";
import { SERVICE_USERNAMES } from "../../oracle/transport/mqtt/topics.js";

/** Starts the broker and the two consumers; resolves with the broker URL and a `close`. */
export async function startStackMqtt(o: {
  data: string;
  platformUrl: string;
  relayerUrl: string;
}): Promise<{ url: string; secretFile: string; close(): Promise<void> }> {
  const secretFile = path.join(o.data, "mqtt-secret");
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(32).toString("hex"), { mode: 0o600 });
  const secret = readFileSync(secretFile, "utf8").trim();
  const broker = await startEmbeddedBroker({ port: Number(process.env.MQTT_PORT ?? 1883), secret });
  const consumers = await Promise.all(
    (["platform", "relayer"] as const).map((target) =>
      MqttIntakeConsumer.start({
        target,
        brokerUrl: broker.url,
        serviceUrl: target === "platform" ? o.platformUrl : o.relayerUrl,
        password: mqttPassword(secret, SERVICE_USERNAMES[target]),
        protocolVersion: 4, // aedes speaks MQTT 3.1.1
      }),
    ),
  );
  return {
    url: broker.url,
    secretFile,
    async close() {
      for (const c of consumers) await c.close().catch(() => undefined);
      await broker.close();
    },
  };
}
