/**
 * The device side of docs/MQTT.md: a {@link DeliveryTransport} for the outbox's delivery worker.
 * Each device has its own connection (its own credentials: the broker lets it publish only on its
 * topics); an attempt publishes the reading with QoS 1 and resolves with the service's reply,
 * classified exactly as an HTTP answer (oracle/device/answers.ts). No reply in time, a lost
 * connection or a refused publish is a retry of the target: the worker resends the same bytes
 * later, and the services answer a resend as a duplicate.
 *
 * @module
 */
import { randomBytes } from "node:crypto";

import { connect, type MqttClient } from "mqtt";

import { classifyResponse, type DeliveryOutcome } from "../../device/answers.js";
import type { DeliveryAttempt, DeliveryTransport } from "../../device/delivery-transport.js";
import { decodeReply, readingMessage } from "./messages.js";
import { deviceSegment, readingTopic, replyTopic } from "./topics.js";

/** Options of {@link MqttDeliveryTransport}. */
export type MqttTransportOptions = {
  /** `mqtt://host:port` of the broker. */
  brokerUrl: string;
  /** The MQTT password of a device (its username is its lower-case address). */
  password: (device: string) => string;
  /** 5 (default) or 4 (MQTT 3.1.1, the embedded broker). */
  protocolVersion?: 4 | 5;
  /** How long an attempt waits for its reply, ms (default 10 000). */
  timeoutMs?: number;
  /** Reconnect delay, ms (default 1 000). */
  reconnectPeriodMs?: number;
  /** Called when a device's connection is (re)established: e.g. `worker.retryNow()`. */
  onConnect?: (device: string) => void;
};

type Waiting = { resolve: (outcome: DeliveryOutcome) => void; timer: NodeJS.Timeout; retryCodes: readonly string[] };

/** One device's session. */
class DeviceSession {
  readonly client: MqttClient;
  /** `${target}|${seq}` → the attempt waiting for its reply. */
  readonly waiting = new Map<string, Waiting>();
  readonly correlated = new Map<string, string>();
  ready: Promise<boolean>;
  #markReady!: (ok: boolean) => void;
  bytesBefore = { sent: 0, received: 0 };

  constructor(device: string, o: MqttTransportOptions) {
    this.ready = new Promise((resolve) => (this.#markReady = resolve));
    this.client = connect(o.brokerUrl, {
      username: device,
      password: o.password(device),
      protocolVersion: o.protocolVersion ?? 5,
      clientId: `ss-${device.slice(2, 18)}-${randomBytes(3).toString("hex")}`,
      clean: true,
      reconnectPeriod: o.reconnectPeriodMs ?? 1000,
      connectTimeout: 10_000,
      resubscribe: false,
    });
    this.client.on("connect", () => {
      this.client.subscribe(replyTopic(device), { qos: 1 }, (error, granted) => {
        const ok = !error && (granted ?? []).every((g) => g.qos <= 2);
        this.#markReady(ok);
        if (ok) o.onConnect?.(device);
      });
    });
    this.client.on("close", () => {
      const stream = this.client.stream as { bytesWritten?: number; bytesRead?: number } | undefined;
      this.bytesBefore.sent += stream?.bytesWritten ?? 0;
      this.bytesBefore.received += stream?.bytesRead ?? 0;
      this.ready = new Promise((resolve) => (this.#markReady = resolve));
      for (const [key, w] of [...this.waiting]) this.settle(key, retry("CONNECTION_LOST", "the MQTT connection closed"), w);
    });
    this.client.on("error", () => undefined); // reconnects; attempts see the close
    this.client.on("message", (_topic, payload, packet) => {
      const reply = decodeReply(payload);
      if (reply === undefined) return;
      const correlation = packet.properties?.correlationData;
      const key = (correlation && this.correlated.get(correlation.toString("hex"))) ?? `${reply.target}|${reply.seq}`;
      const w = this.waiting.get(key);
      if (w === undefined) return; // an answer to an attempt already settled
      const retryAfterMs = reply.retryAfterSeconds === undefined ? undefined : reply.retryAfterSeconds * 1000;
      this.settle(key, classifyResponse(reply.status, reply.body, retryAfterMs, JSON.stringify(reply.body), w.retryCodes), w);
    });
  }

  settle(key: string, outcome: DeliveryOutcome, w: Waiting): void {
    clearTimeout(w.timer);
    if (this.waiting.get(key) !== w) return;
    this.waiting.delete(key);
    for (const [c, k] of this.correlated) if (k === key) this.correlated.delete(c);
    w.resolve(outcome);
  }

  bytes(): { sent: number; received: number } {
    const stream = this.client.stream as { bytesWritten?: number; bytesRead?: number } | undefined;
    const live = this.client.connected ? { sent: stream?.bytesWritten ?? 0, received: stream?.bytesRead ?? 0 } : { sent: 0, received: 0 };
    return { sent: this.bytesBefore.sent + live.sent, received: this.bytesBefore.received + live.received };
  }
}

function retry(code: string, message: string): DeliveryOutcome {
  return { kind: "retry", scope: "target", status: null, code, message, retryAfterMs: undefined };
}

/**
 * Delivers readings over MQTT (docs/MQTT.md) with the outbox worker's semantics.
 *
 * @example
 * ```ts
 * const transport = new MqttDeliveryTransport({ brokerUrl: "mqtt://127.0.0.1:1883", protocolVersion: 4,
 *   password: (device) => mqttPassword(secret, device) });
 * const worker = new DeliveryWorker({ outbox, transport });
 * await worker.drain(); await worker.stop(); await transport.close();
 * ```
 */
export class MqttDeliveryTransport implements DeliveryTransport {
  readonly name = "mqtt";
  readonly #o: MqttTransportOptions;
  readonly #sessions = new Map<string, DeviceSession>();

  constructor(options: MqttTransportOptions) {
    this.#o = options;
  }

  async attempt(head: DeliveryAttempt, retryCodes: readonly string[]): Promise<DeliveryOutcome> {
    const device = deviceSegment(head.device);
    let session = this.#sessions.get(device);
    if (session === undefined) {
      session = new DeviceSession(device, this.#o);
      this.#sessions.set(device, session);
    }
    const timeoutMs = this.#o.timeoutMs ?? 10_000;
    const ready = await Promise.race([session.ready, new Promise<false>((r) => setTimeout(() => r(false), timeoutMs).unref())]);
    if (!ready || !session.client.connected) return retry("NOT_CONNECTED", "not connected to the MQTT broker");
    const key = `${head.target}|${head.seq}`;
    const correlation = randomBytes(8);
    const s = session;
    return new Promise<DeliveryOutcome>((resolve) => {
      const w: Waiting = {
        resolve,
        retryCodes,
        timer: setTimeout(() => s.settle(key, retry("TIMEOUT", `no reply within ${timeoutMs} ms`), w), timeoutMs),
      };
      const previous = s.waiting.get(key);
      if (previous !== undefined) s.settle(key, retry("SUPERSEDED", "a newer attempt of this reading"), previous);
      s.waiting.set(key, w);
      s.correlated.set(correlation.toString("hex"), key);
      const v5 = (this.#o.protocolVersion ?? 5) === 5;
      s.client.publish(
        readingTopic(device, head.target),
        readingMessage(head.target, head),
        { qos: 1, ...(v5 ? { properties: { responseTopic: replyTopic(device), correlationData: correlation } } : {}) },
        (error) => {
          // A refused publish (MQTT 5 PUBACK ≥ 0x80) or a lost connection: resend later.
          if (error) s.settle(key, retry("PUBLISH_FAILED", error.message), w);
        },
      );
    });
  }

  /** Bytes on the wire (MQTT frames, both directions) of every device connection so far. */
  bytesOnWire(): { sent: number; received: number } {
    let sent = 0;
    let received = 0;
    for (const s of this.#sessions.values()) {
      const b = s.bytes();
      sent += b.sent;
      received += b.received;
    }
    return { sent, received };
  }

  /** Devices connected now. */
  connectedDevices(): number {
    return [...this.#sessions.values()].filter((s) => s.client.connected).length;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#sessions.values()].map((s) => s.client.endAsync(true)));
    this.#sessions.clear();
  }
}
