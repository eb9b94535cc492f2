/**
 * The embedded MQTT broker of `npm start` (aedes, MQTT 3.1.1) with SensorSeal's authorisation
 * (credentials.ts: a device publishes only on its own topics and reads only its replies, a
 * service reads only its readings and writes only replies) and shared subscriptions for the
 * services' consumers (shared-groups.ts). docs/MQTT.md.
 *
 * @module
 */
import { createServer, type AddressInfo, type Server } from "node:net";

import { Aedes, type Client } from "aedes";

import { checkMqttPassword, mayPublish, maySubscribe, principalOf, type MqttPrincipal } from "./credentials.js";
import { parseSharedFilter, SharedGroups } from "./shared-groups.js";

/** Options of {@link startEmbeddedBroker}. */
export type EmbeddedBrokerOptions = {
  /** TCP port (default 1883; 0 = any free port). */
  port?: number;
  host?: string;
  /** The secret every password is derived from (credentials.ts `mqttPassword`). */
  secret: string;
  /** Largest PUBLISH payload, bytes: a larger one closes the connection (default 65 536). */
  maxMessageBytes?: number;
};

/** A running embedded broker. */
export interface EmbeddedBroker {
  /** `mqtt://host:port`. */
  url: string;
  port: number;
  /** Clients connected now. */
  connectedClients(): number;
  close(): Promise<void>;
}

/**
 * Starts the embedded broker on `host:port`.
 *
 * @example
 * ```ts
 * const broker = await startEmbeddedBroker({ port: 0, secret: "stack secret" });
 * broker.url; // "mqtt://127.0.0.1:…"
 * await broker.close();
 * ```
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const maxBytes = options.maxMessageBytes ?? 65_536;
  const principals = new WeakMap<Client, MqttPrincipal>();
  const groups = new SharedGroups();
  const aedes = await Aedes.createBroker({
    drainTimeout: 10_000,
    authenticate(client, username, password, done) {
      const who = principalOf(username);
      if (who === undefined || !checkMqttPassword(options.secret, username!, password)) {
        done(Object.assign(new Error("bad username or password"), { returnCode: 4 as const }), false);
        return;
      }
      principals.set(client, who);
      done(null, true);
    },
    authorizePublish(client, packet, callback) {
      const who = client === null ? undefined : principals.get(client);
      if (who === undefined || !mayPublish(who, packet.topic)) {
        callback(new Error(`not authorised to publish on ${packet.topic}`));
        return;
      }
      if (packet.payload.length > maxBytes) {
        callback(new Error(`message of ${packet.payload.length} bytes is above ${maxBytes}`));
        return;
      }
      callback(null);
    },
    authorizeSubscribe(client, subscription, callback) {
      const who = principals.get(client);
      if (who === undefined || !maySubscribe(who, subscription.topic)) {
        callback(null, null); // SUBACK 0x80: refused, the connection stays
        return;
      }
      const shared = parseSharedFilter(subscription.topic);
      if (shared !== undefined) {
        groups.join(client.id, shared.group);
        subscription.topic = shared.filter;
      }
      callback(null, subscription);
    },
    authorizeForward(client, packet) {
      if (!groups.isMember(client.id)) return packet;
      return groups.chosen(client.id, Number(packet.brokerCounter)) ? packet : null;
    },
  });
  aedes.on("clientDisconnect", (client) => groups.leave(client.id));
  const server: Server = createServer((socket) => aedes.handle(socket));
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 1883, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://${host}:${port}`,
    port,
    connectedClients: () => aedes.connectedClients,
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
