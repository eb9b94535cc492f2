/**
 * A service's MQTT consumer (docs/MQTT.md): reads its target's reading topics through the shared
 * subscription, answers what it can tell without the service (INVALID_JSON, PAYLOAD_TOO_LARGE,
 * TOPIC_DEVICE_MISMATCH), posts the rest in bulk to the service's own `POST /v1/readings` — so every
 * admission, quota and intake rule is the service's one copy — and replies to each device with its
 * reading's answer, after the service stored it.
 *
 * @module
 */
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from "mqtt";

import type { DeliveryTarget } from "../../device/outbox-types.js";
import { splitBulkAnswer, type ItemAnswer } from "./bulk-answers.js";
import { encodeReply, errorReply, MQTT_REPLY_VERSION, type MqttReply } from "./messages.js";
import { parseReadingTopic, replyTopic, SERVICE_USERNAMES, sharedSubscription } from "./topics.js";

/** Options of {@link MqttIntakeConsumer.start}. */
export type MqttConsumerOptions = {
  target: DeliveryTarget;
  /** `mqtt://host:port` of the broker. */
  brokerUrl: string;
  /** The service's HTTP base URL (`POST {serviceUrl}/v1/readings`). */
  serviceUrl: string;
  /** The password of the service's username (`sensorseal-platform` / `sensorseal-relayer`). */
  password: string;
  /** 5 (default) or 4 (MQTT 3.1.1, the embedded broker). */
  protocolVersion?: 4 | 5;
  /** Largest message answered by the service; larger ones get PAYLOAD_TOO_LARGE (default 16 384). */
  maxMessageBytes?: number;
  /** Readings per bulk request (default 100). */
  maxBatch?: number;
  /** Bulk requests in flight at once (default 4). */
  parallelRequests?: number;
  /** Messages taken but not yet answered above which the consumer withholds PUBACKs (default 2 000). */
  maxPending?: number;
  requestTimeoutMs?: number;
  clientId?: string;
  fetch?: typeof fetch;
};

/** Counters since start. */
export type MqttConsumerStats = { received: number; replied: number; requests: number };

type Taken = { device: string; seq: number | null; item: unknown; correlation: Buffer | undefined };

/**
 * Consumes one service's readings from the broker.
 *
 * @example
 * ```ts
 * const consumer = await MqttIntakeConsumer.start({ target: "platform", brokerUrl: "mqtt://127.0.0.1:1883",
 *   serviceUrl: "http://127.0.0.1:8080", password: mqttPassword(secret, "sensorseal-platform") });
 * await consumer.close();
 * ```
 */
export class MqttIntakeConsumer {
  readonly target: DeliveryTarget;
  readonly client: MqttClient;
  readonly #o: Required<Omit<MqttConsumerOptions, "clientId" | "fetch">> & { fetch: typeof fetch };
  readonly #queue: Taken[] = [];
  readonly #held: (() => void)[] = [];
  readonly #stats: MqttConsumerStats = { received: 0, replied: 0, requests: 0 };
  #pending = 0;
  #active = 0;
  #scheduled = false;
  readonly #requests = new Set<Promise<void>>();

  private constructor(client: MqttClient, o: MqttConsumerOptions) {
    this.client = client;
    this.target = o.target;
    this.#o = {
      protocolVersion: 5,
      maxMessageBytes: 16_384,
      maxBatch: 100,
      parallelRequests: 4,
      maxPending: 2000,
      requestTimeoutMs: 30_000,
      ...o,
      serviceUrl: o.serviceUrl.replace(/\/+$/, ""),
      fetch: o.fetch ?? globalThis.fetch,
    };
    client.handleMessage = (packet, done) => {
      this.#take(packet);
      // PUBACK once taken; a full queue withholds it, so the broker stops sending (flow control).
      if (this.#pending < this.#o.maxPending) done();
      else this.#held.push(() => done());
    };
  }

  /** Connects, subscribes to the target's shared subscription, and starts consuming. */
  static async start(o: MqttConsumerOptions): Promise<MqttIntakeConsumer> {
    const options: IClientOptions = {
      username: SERVICE_USERNAMES[o.target],
      password: o.password,
      protocolVersion: o.protocolVersion ?? 5,
      clientId: o.clientId ?? `${SERVICE_USERNAMES[o.target]}-${process.pid}-${Math.random().toString(16).slice(2, 10)}`,
      clean: true,
      reconnectPeriod: 500,
      connectTimeout: 10_000,
      resubscribe: true,
    };
    const client = connect(o.brokerUrl, options);
    const consumer = new MqttIntakeConsumer(client, o);
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("error", reject);
    });
    const granted = await client.subscribeAsync(sharedSubscription(o.target), { qos: 1 });
    if (granted.some((g) => g.qos > 2)) {
      client.end(true);
      throw new Error(`the broker refused ${sharedSubscription(o.target)}`);
    }
    return consumer;
  }

  stats(): MqttConsumerStats {
    return { ...this.#stats };
  }

  /** Stops reading, answers what was taken, disconnects. */
  async close(): Promise<void> {
    await this.client.unsubscribeAsync(sharedSubscription(this.target)).catch(() => undefined);
    while (this.#queue.length > 0 || this.#requests.size > 0) {
      this.#pump();
      await Promise.allSettled([...this.#requests]);
    }
    await this.client.endAsync();
  }

  #take(packet: IPublishPacket): void {
    const from = parseReadingTopic(packet.topic);
    if (from === undefined || from.target !== this.target) return; // not ours: the broker's ACL let nothing else through
    this.#stats.received++;
    this.#pending++;
    const correlation = packet.properties?.correlationData;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const to = { target: this.target, device: from.device, seq: null as number | null };
    if (payload.length > this.#o.maxMessageBytes) {
      this.#reply(
        errorReply(to, "PAYLOAD_TOO_LARGE", `a message is at most ${this.#o.maxMessageBytes} bytes`, {
          bytes: payload.length,
          maxBytes: this.#o.maxMessageBytes,
        }),
        correlation,
      );
      return;
    }
    let item: unknown;
    try {
      item = JSON.parse(payload.toString("utf8"));
    } catch {
      item = undefined;
    }
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      this.#reply(errorReply(to, "INVALID_JSON", "a reading message is one JSON object"), correlation);
      return;
    }
    const claimed = this.#claimed(item as Record<string, unknown>);
    to.seq = claimed.seq;
    if (claimed.device !== undefined && claimed.device !== from.device) {
      this.#reply(
        errorReply(to, "TOPIC_DEVICE_MISMATCH", "the reading names another device than its topic", {
          topic: from.device,
          reading: claimed.device,
        }),
        correlation,
      );
      return;
    }
    this.#queue.push({ device: from.device, seq: claimed.seq, item, correlation });
    this.#schedule();
  }

  /** The device and seq a message claims (the relayer's fields, or the platform payload's). */
  #claimed(item: Record<string, unknown>): { device: string | undefined; seq: number | null } {
    let fields: Record<string, unknown> = item;
    if (this.target === "platform") {
      try {
        fields = typeof item.payload === "string" ? (JSON.parse(item.payload) as Record<string, unknown>) : {};
      } catch {
        fields = {};
      }
      if (typeof fields !== "object" || fields === null) fields = {};
    }
    const seq = Number(fields.seq);
    return {
      device: typeof fields.device === "string" ? fields.device.toLowerCase() : undefined,
      seq: Number.isSafeInteger(seq) ? seq : null,
    };
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#active < this.#o.parallelRequests && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#o.maxBatch);
      this.#active++;
      const request = this.#forward(batch).finally(() => {
        this.#active--;
        this.#requests.delete(request);
        this.#pump();
      });
      this.#requests.add(request);
    }
  }

  async #forward(batch: Taken[]): Promise<void> {
    this.#stats.requests++;
    let answers: ItemAnswer[];
    try {
      const response = await this.#o.fetch(`${this.#o.serviceUrl}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(batch.map((t) => t.item)),
        signal: AbortSignal.timeout(this.#o.requestTimeoutMs),
      });
      const text = await response.text();
      let body: unknown = null;
      try {
        body = text.length > 0 ? JSON.parse(text) : null;
      } catch {
        body = { error: { code: "SERVICE_UNAVAILABLE", message: `the service answered HTTP ${response.status} without JSON` } };
      }
      const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN);
      answers = splitBulkAnswer(this.target, response.status, body, batch.length, Number.isFinite(retryAfter) ? retryAfter : undefined);
    } catch (error) {
      const down = errorReply(
        { target: this.target, device: "", seq: null },
        "SERVICE_UNAVAILABLE",
        `the ${this.target} is unreachable: ${(error as Error).message}`,
        undefined,
        1,
      );
      answers = batch.map(() => ({ status: down.status, body: down.body, retryAfterSeconds: 1 }));
    }
    batch.forEach((t, i) => {
      const a = answers[i]!;
      this.#reply(
        {
          v: MQTT_REPLY_VERSION,
          target: this.target,
          device: t.device,
          seq: t.seq,
          status: a.status,
          body: a.body,
          ...(a.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: a.retryAfterSeconds }),
        },
        t.correlation,
      );
    });
  }

  #reply(reply: MqttReply, correlation: Buffer | undefined): void {
    const properties = correlation === undefined || this.#o.protocolVersion !== 5 ? undefined : { correlationData: correlation };
    this.client.publish(replyTopic(reply.device), encodeReply(reply), { qos: 1, ...(properties ? { properties } : {}) });
    this.#stats.replied++;
    this.#pending--;
    while (this.#held.length > 0 && this.#pending < this.#o.maxPending) this.#held.shift()!();
  }
}
