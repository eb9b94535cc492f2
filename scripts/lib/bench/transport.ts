/**
 * Section 7 of the bench (issue 14): the same signed readings delivered to the platform and the relayer
 * over MQTT 5 through a real Mosquitto, over HTTP one reading per request, and over HTTP bulk (and over
 * MQTT 3.1.1 through the embedded aedes broker of `npm start`). Each transport gets fresh platform and
 * relayer processes (fresh SQLite stores) on one audit chain, so every run takes the very same bytes.
 *
 * A reading counts once both services acknowledged it durably: HTTP 201 from the platform (stored) and
 * 202 from the relayer (queued in its store), or the same answers relayed back over MQTT by the
 * services' consumers after the services stored it. A duplicate or a refusal stops the run (the
 * figure would be wrong); 429/503 answers are waited out and sent again, as the device SDK does.
 *
 * Bytes are the device side's (what a cellular plan pays for): the HTTP client's or the MQTT
 * connections' socket counts, both directions. The consumers' HTTP to the services is server-side
 * and not counted.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";

import { bytesToHex } from "../../../oracle/core/bytes.js";
import { ReadingDigester } from "../../../oracle/core/reading.js";
import { classifyResponse, DEFAULT_RETRY_CODES, type DeliveryOutcome } from "../../../oracle/device/answers.js";
import { deliveryBody } from "../../../oracle/device/delivery-request.js";
import type { DeliveryAttempt } from "../../../oracle/device/delivery-transport.js";
import type { DeliveryTarget } from "../../../oracle/device/outbox-types.js";
import { startEmbeddedBroker } from "../../../oracle/transport/mqtt/broker.js";
import { splitBulkAnswer } from "../../../oracle/transport/mqtt/bulk-answers.js";
import { MqttIntakeConsumer } from "../../../oracle/transport/mqtt/consumer.js";
import { mqttPassword } from "../../../oracle/transport/mqtt/credentials.js";
import { MqttDeliveryTransport } from "../../../oracle/transport/mqtt/device-transport.js";
import { readingMessage } from "../../../oracle/transport/mqtt/messages.js";
import { deviceSegment, SERVICE_USERNAMES } from "../../../oracle/transport/mqtt/topics.js";
import { hasMosquitto, startMosquitto } from "../mosquitto.js";
import { startBenchAuditChain } from "./chains.js";
import { newDevice, registerDevices, signReading, type SignedReading } from "./devices.js";
import { startPlatformProcess, startRelayerProcess } from "./relayer-process.js";
import { CFG, OUT_DIR, cleanups, log, results, rows } from "./run.js";
import { fmtMs, fmtNum, fmtRatio, HttpClient, sleep } from "./util.js";
import { addWireBytes, wireBytesSince, type WireBytes } from "./wire-bytes.js";

const TARGETS: readonly DeliveryTarget[] = ["platform", "relayer"];
const SECTION = 7;

type Audit = Awaited<ReturnType<typeof startBenchAuditChain>>;

/** One transport's way of sending: per reading (HTTP single, MQTT) or per bulk request. */
interface Sender {
  /** Bytes on the device side so far. */
  bytes(): WireBytes;
  /** Of the bytes sent, the reading bodies (HTTP request bodies, MQTT message payloads) so far. */
  bodyBytes(): number;
  close(): Promise<void>;
}
interface ItemSender extends Sender {
  kind: "item";
  send(attempt: DeliveryAttempt): Promise<DeliveryOutcome>;
}
interface BulkSender extends Sender {
  kind: "bulk";
  send(target: DeliveryTarget, attempts: DeliveryAttempt[]): Promise<DeliveryOutcome[]>;
}

/** What one transport measured. */
export interface TransportRun {
  name: string;
  readings: number;
  ms: number;
  readingsPerSecond: number;
  /** Device-side bytes of the measured readings (both services, both directions). */
  bytes: WireBytes;
  bytesPerReading: number;
  /** Of `bytes.sent`, the reading bodies; the rest is HTTP or MQTT framing (headers, topics, properties, acks). */
  bodyBytesSent: number;
  /** Device-side bytes of the warm-up (one reading per device; MQTT: its sessions' set-up too). */
  warmupBytes: WireBytes;
  /** Answers waited out and sent again (429, 503, a registry index catching up). */
  retries: number;
}

const attemptOf = (target: DeliveryTarget, s: SignedReading): DeliveryAttempt => ({
  target,
  device: s.reading.device,
  seq: Number(s.reading.seq),
  ts: Number(s.reading.timestamp),
  payload: s.payload,
  dataHash: s.reading.dataHash,
  signature: bytesToHex(s.signature),
});

const parseJson = (text: string): unknown => {
  try {
    return text.length > 0 ? JSON.parse(text) : null;
  } catch {
    return null;
  }
};

/**
 * What the bench does with an answer: `done`, or how long to wait before sending again. A duplicate
 * (the stores are fresh, so the count would be wrong) or a refusal throws.
 */
function next(outcome: DeliveryOutcome, what: string): "done" | number {
  if (outcome.kind === "delivered") {
    if (outcome.duplicate) throw new Error(`${what}: answered as a duplicate`);
    return "done";
  }
  if (outcome.kind === "retry") return outcome.retryAfterMs ?? 1000;
  if (outcome.kind === "retryReading") return 250; // UNKNOWN_DEVICE: a fresh service's registry index catching up
  throw new Error(`${what}: refused ${outcome.code}: ${outcome.message}`);
}

/** HTTP, one reading per request, on a keep-alive client per service (node:http, no extra headers). */
function httpItemSender(urls: Record<DeliveryTarget, string>, sockets: number): ItemSender {
  const clients = { platform: new HttpClient(urls.platform, sockets), relayer: new HttpClient(urls.relayer, sockets) };
  let bodies = 0;
  return {
    kind: "item",
    async send(a) {
      const body = JSON.stringify(deliveryBody(a.target, a));
      bodies += Buffer.byteLength(body);
      const answer = await clients[a.target].post("/v1/readings", body);
      const retryMs = answer.retryAfterSeconds === undefined ? undefined : answer.retryAfterSeconds * 1000;
      return classifyResponse(answer.status, parseJson(answer.text), retryMs, answer.text);
    },
    bytes: () => addWireBytes(clients.platform.bytesOnWire(), clients.relayer.bytesOnWire()),
    bodyBytes: () => bodies,
    close: async () => (clients.platform.close(), clients.relayer.close()),
  };
}

/** HTTP bulk: an array of readings per request; each item's answer as it would be alone. */
function httpBulkSender(urls: Record<DeliveryTarget, string>, sockets: number): BulkSender {
  const clients = { platform: new HttpClient(urls.platform, sockets), relayer: new HttpClient(urls.relayer, sockets) };
  let bodies = 0;
  return {
    kind: "bulk",
    async send(target, attempts) {
      const body = JSON.stringify(attempts.map((a) => deliveryBody(target, a)));
      bodies += Buffer.byteLength(body);
      const answer = await clients[target].post("/v1/readings", body);
      return splitBulkAnswer(target, answer.status, parseJson(answer.text), attempts.length, answer.retryAfterSeconds).map((item) =>
        classifyResponse(item.status, item.body, item.retryAfterSeconds === undefined ? undefined : item.retryAfterSeconds * 1000),
      );
    },
    bytes: () => addWireBytes(clients.platform.bytesOnWire(), clients.relayer.bytesOnWire()),
    bodyBytes: () => bodies,
    close: async () => (clients.platform.close(), clients.relayer.close()),
  };
}

/** MQTT: the device transport of oracle/transport/mqtt (one connection per device), replies after the services stored. */
function mqttSender(brokerUrl: string, secret: string, protocolVersion: 4 | 5): ItemSender {
  const transport = new MqttDeliveryTransport({
    brokerUrl,
    protocolVersion,
    password: (device) => mqttPassword(secret, device),
    timeoutMs: 60_000,
  });
  let bodies = 0;
  return {
    kind: "item",
    send: (a) => {
      bodies += readingMessage(a.target, a).length; // the bytes the transport publishes
      return transport.attempt(a, DEFAULT_RETRY_CODES.codes);
    },
    bytes: () => transport.bytesOnWire(),
    bodyBytes: () => bodies,
    close: () => transport.close(),
  };
}

/** Each device's readings to each service in seq order, one in flight per device and service (the outbox's rule). */
async function driveItems(sender: ItemSender, perDevice: SignedReading[][]): Promise<number> {
  let retries = 0;
  await Promise.all(
    perDevice.flatMap((readings) =>
      TARGETS.map(async (target) => {
        for (const s of readings) {
          const a = attemptOf(target, s);
          for (;;) {
            const wait = next(await sender.send(a), `${target} ${a.device}/${a.seq}`);
            if (wait === "done") break;
            retries++;
            await sleep(wait);
          }
        }
      }),
    ),
  );
  return retries;
}

/** Bulk: worker w sends its devices' readings in arrays of CFG.bulkSize, in seq order, to each service; only refused-for-now items are resent. */
async function driveBulk(sender: BulkSender, perDevice: SignedReading[][]): Promise<number> {
  let retries = 0;
  const workers = CFG.bulkConcurrency;
  const seqs = perDevice[0]?.length ?? 0;
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = perDevice.filter((_, d) => d % workers === w);
      const items = Array.from({ length: seqs }, (_, k) => mine.map((readings) => readings[k]!)).flat();
      return TARGETS.map(async (target) => {
        for (let i = 0; i < items.length; i += CFG.bulkSize) {
          let pending = items.slice(i, i + CFG.bulkSize).map((s) => attemptOf(target, s));
          while (pending.length > 0) {
            const outcomes = await sender.send(target, pending);
            const again: DeliveryAttempt[] = [];
            let wait = 0;
            outcomes.forEach((o, k) => {
              const w = next(o, `${target} bulk ${pending[k]!.device}/${pending[k]!.seq}`);
              if (w === "done") return;
              again.push(pending[k]!);
              wait = Math.max(wait, w);
            });
            if (again.length > 0) {
              retries++;
              await sleep(wait);
            }
            pending = again;
          }
        }
      });
    }).flat(),
  );
  return retries;
}

/** A fresh platform and relayer (own processes, fresh SQLite files) on the bench's audit chain. */
async function startServices(audit: Audit, label: string) {
  const stamp = `${label}-${new Date().toISOString().replace(/[:.]/g, "-")}`;
  const files = {
    relayerDb: path.join(OUT_DIR, `relayer-${stamp}.sqlite`),
    platformDb: path.join(OUT_DIR, `platform-${stamp}.sqlite`),
    keys: path.join(OUT_DIR, `platform-keys-${stamp}.json`),
  };
  await writeFile(files.keys, "[]\n");
  const removeFiles = async () => {
    await rm(files.keys, { force: true });
    for (const db of [files.relayerDb, files.platformDb])
      for (const suffix of ["", "-wal", "-shm", "-journal"]) await rm(`${db}${suffix}`, { force: true });
  };
  const relayer = await startRelayerProcess(audit, files.relayerDb, path.join(OUT_DIR, `relayer-${label}.log`));
  const platform = await startPlatformProcess(audit, files.platformDb, files.keys, path.join(OUT_DIR, `platform-${label}.log`)).catch(
    async (error: unknown) => {
      await relayer.stop();
      throw error;
    },
  );
  return {
    urls: { platform: platform.url, relayer: relayer.url },
    async stop() {
      await Promise.all([platform.stop(), relayer.stop()]);
      await removeFiles();
    },
  };
}

/** The broker and the services' consumers of an MQTT run (in this process, as `npm start` runs them). */
async function startMqtt(kind: "mosquitto" | "embedded", urls: Record<DeliveryTarget, string>, secret: string, devices: string[]) {
  const protocolVersion: 4 | 5 = kind === "mosquitto" ? 5 : 4;
  const broker =
    kind === "mosquitto"
      ? await startMosquitto(secret, [...devices, SERVICE_USERNAMES.platform, SERVICE_USERNAMES.relayer])
      : await startEmbeddedBroker({ port: 0, secret });
  const consumers = await Promise.all(
    TARGETS.map((target) =>
      MqttIntakeConsumer.start({
        target,
        brokerUrl: broker.url,
        serviceUrl: urls[target],
        password: mqttPassword(secret, SERVICE_USERNAMES[target]),
        protocolVersion,
      }),
    ),
  );
  return {
    url: broker.url,
    protocolVersion,
    async close() {
      for (const c of consumers) await c.close().catch(() => undefined);
      await broker.close();
    },
  };
}

type TransportName = "http-single" | "http-bulk" | "mqtt-mosquitto" | "mqtt-embedded";

/** One transport: fresh services, warm-up (seq 1 of every device), then the measured readings. */
async function runTransport(
  name: TransportName,
  audit: Audit,
  warmup: SignedReading[][],
  measured: SignedReading[][],
  devices: string[],
): Promise<TransportRun> {
  log(`7. ${name}: starting a fresh platform and relayer…`);
  const services = await startServices(audit, name);
  const secret = randomBytes(16).toString("hex");
  const mqtt = name.startsWith("mqtt")
    ? await startMqtt(name === "mqtt-mosquitto" ? "mosquitto" : "embedded", services.urls, secret, devices).catch(
        async (error: unknown) => {
          await services.stop();
          throw error;
        },
      )
    : undefined;
  const sender: ItemSender | BulkSender =
    name === "http-bulk"
      ? httpBulkSender(services.urls, CFG.bulkConcurrency)
      : mqtt !== undefined
        ? mqttSender(mqtt.url, secret, mqtt.protocolVersion)
        : httpItemSender(services.urls, devices.length);
  const drive = (readings: SignedReading[][]) => (sender.kind === "bulk" ? driveBulk(sender, readings) : driveItems(sender, readings));
  try {
    const warmRetries = await drive(warmup);
    const warmupBytes = sender.bytes();
    const warmupBodies = sender.bodyBytes();
    const count = measured.reduce((a, r) => a + r.length, 0);
    log(`7. ${name}: ${fmtNum(count)} readings to both services (warm-up answers waited out: ${warmRetries})…`);
    const t0 = performance.now();
    const retries = await drive(measured);
    const ms = performance.now() - t0;
    const bytes = wireBytesSince(warmupBytes, sender.bytes());
    const run: TransportRun = {
      name,
      readings: count,
      ms,
      readingsPerSecond: (count / ms) * 1000,
      bytes,
      bytesPerReading: (bytes.sent + bytes.received) / count,
      bodyBytesSent: sender.bodyBytes() - warmupBodies,
      warmupBytes,
      retries,
    };
    log(
      `   ${fmtNum(run.readingsPerSecond)} readings/s (${fmtMs(ms)}), ${fmtNum(run.bytesPerReading)} B/reading (${fmtNum(bytes.sent / count)} up, ${fmtNum(run.bodyBytesSent / count)} of it reading bodies; ${fmtNum(bytes.received / count)} down), ${retries} answers waited out`,
    );
    return run;
  } finally {
    await sender.close();
    await mqtt?.close();
    await services.stop();
  }
}

const bytesText = (r: TransportRun) =>
  `${fmtNum(r.bytesPerReading)} B (${fmtNum(r.bytes.sent / r.readings)} up, of which ${fmtNum(r.bodyBytesSent / r.readings)} reading bodies; ${fmtNum(r.bytes.received / r.readings)} down)`;

// ================================================================================================
export async function transportSection(): Promise<void> {
  const n = CFG.transportDevices;
  const perDevice = CFG.transportPerDevice;
  log(`7. transports: audit chain, ${n} devices (half secp256k1, half P-256), ${fmtNum(n * perDevice)} readings per transport…`);
  const audit = await startBenchAuditChain();
  cleanups.push(() => audit.close());
  const digester = new ReadingDigester(audit.chainId, audit.anchor);
  const devices = Array.from({ length: n }, (_, i) => newDevice(i < n / 2 ? "secp256k1" : "p256"));
  const registeredAt = await registerDevices(audit, devices);
  const tsBase = Math.max(registeredAt + 1, Math.floor(Date.now() / 1000));
  // Seq 1 warms each transport up (connections, MQTT sessions); seqs 2.. are measured. Timestamps spread over a minute.
  const signed = devices.map((d) =>
    Array.from({ length: 1 + perDevice }, (_, k) => signReading(digester, d, k + 1, tsBase + Math.floor((k * 60) / (1 + perDevice)))),
  );
  const warmup = signed.map((r) => r.slice(0, 1));
  const measured = signed.map((r) => r.slice(1));
  const names = devices.map((d) => deviceSegment(d.address));

  const runs: TransportRun[] = [];
  const order: TransportName[] = ["http-single", "http-bulk", "mqtt-embedded"];
  if (hasMosquitto) order.splice(2, 0, "mqtt-mosquitto");
  else log("7. mosquitto is not installed (/usr/sbin/mosquitto): MQTT measured on the embedded broker only");
  for (const name of order) runs.push(await runTransport(name, audit, warmup, measured, names));
  const byName = (name: TransportName) => runs.find((r) => r.name === name);
  const bulk = byName("http-bulk")!;

  results.transport = {
    devices: { total: n, secp256k1: n / 2, p256: n / 2 },
    readingsPerTransport: n * perDevice,
    bulk: { perRequest: CFG.bulkSize, concurrency: CFG.bulkConcurrency },
    relayerConfig: CFG.relayer,
    note: "device-side socket bytes (HTTP: request + response, headers included; MQTT: every frame of the device connections), no TCP/IP headers, no TLS; warm-up (seq 1 per device, MQTT session set-up) not in the figures",
    runs,
  };
  const label: Record<TransportName, string> = {
    "http-single": `HTTP, one reading per request, one in flight per device and service (${n} devices)`,
    "http-bulk": `HTTP bulk, ${CFG.bulkSize} readings/request, ${CFG.bulkConcurrency} concurrent per service`,
    "mqtt-mosquitto": `MQTT 5 via Mosquitto, QoS 1, one in flight per device and service (${n} devices)`,
    "mqtt-embedded": `MQTT 3.1.1 via the embedded aedes broker (npm start), same`,
  };
  for (const r of runs) {
    if (r === bulk) continue;
    rows.push(
      {
        section: SECTION,
        measurement: `Transport: ${label[r.name as TransportName]}, readings/s acknowledged by both services (${fmtNum(r.readings)} readings)`,
        result: `${fmtNum(r.readingsPerSecond)} readings/s`,
        baseline: label["http-bulk"],
        baselineResult: `${fmtNum(bulk.readingsPerSecond)} readings/s`,
        ratio: `${fmtRatio(r.readingsPerSecond / bulk.readingsPerSecond)} (/ bulk)`,
      },
      {
        section: SECTION,
        measurement: `Transport: ${label[r.name as TransportName]}, device-side bytes on the wire per reading (both services)`,
        result: bytesText(r),
        baseline: "HTTP bulk",
        baselineResult: bytesText(bulk),
        ratio: `${fmtRatio(r.bytesPerReading / bulk.bytesPerReading)} (/ bulk)`,
      },
    );
  }
}
