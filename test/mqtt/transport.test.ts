/**
 * Readings over MQTT (docs/MQTT.md) against the real platform, relayer and audit chain, through a
 * real Mosquitto started here (MQTT 5, password file + pattern ACL) and through the embedded aedes
 * broker of `npm start` (MQTT 3.1.1): delivery and anchoring, topic authorisation, shared
 * subscriptions splitting the load, a broker restart mid-stream, and the hostile-input battery.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { connect, type MqttClient } from "mqtt";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { ReadingDigester } from "../../oracle/core/reading.js";
import { DeviceClient, signReading } from "../../oracle/device/client.js";
import { SoftwareSecureElement } from "../../oracle/device/secure-element.js";
import { startEmbeddedBroker, type EmbeddedBroker } from "../../oracle/transport/mqtt/broker.js";
import { MqttIntakeConsumer } from "../../oracle/transport/mqtt/consumer.js";
import { mqttPassword } from "../../oracle/transport/mqtt/credentials.js";
import { MqttDeliveryTransport } from "../../oracle/transport/mqtt/device-transport.js";
import { decodeReply, readingMessage, type MqttReply } from "../../oracle/transport/mqtt/messages.js";
import { readingTopic, replyTopic, SERVICE_USERNAMES } from "../../oracle/transport/mqtt/topics.js";
import { startRealServices, type RealServices } from "../device/real-services.js";
import { hasMosquitto, startMosquitto, type RunningMosquitto } from "../../scripts/lib/mosquitto.js";

const SECRET = `test-${randomBytes(8).toString("hex")}`;

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const kind of ["mosquitto", "embedded"] as const) {
  describe(
    `readings over MQTT (${kind} broker)`,
    { timeout: 120_000, skip: kind === "mosquitto" && !hasMosquitto ? "mosquitto not installed" : false },
    () => {
      const version = kind === "mosquitto" ? 5 : 4;
      let services: RealServices;
      let mosquitto: RunningMosquitto | undefined;
      let embedded: EmbeddedBroker | undefined;
      let brokerUrl: string;
      const consumers: MqttIntakeConsumer[] = [];
      const elements = [1, 2, 3].map((i) =>
        SoftwareSecureElement.fromPrivateKey(i % 2 ? "secp256k1" : "p256", new Uint8Array(32).fill(i + 10)),
      );
      const devices = elements.map((e) => e.address.toLowerCase());
      let digester: ReadingDigester;

      before(async () => {
        services = await startRealServices(`sensorseal-mqtt-${kind}-`);
        digester = new ReadingDigester(services.chain.chainId, services.chain.anchor);
        for (const e of elements) await services.chain.registerDevice({ scheme: e.scheme, publicKey: e.publicKey });
        await services.catchUp();
        if (kind === "mosquitto") {
          mosquitto = await startMosquitto(SECRET, [...devices, SERVICE_USERNAMES.platform, SERVICE_USERNAMES.relayer]);
          brokerUrl = mosquitto.url;
        } else {
          embedded = await startEmbeddedBroker({ port: 0, secret: SECRET });
          brokerUrl = embedded.url;
        }
        const consumer = (target: "platform" | "relayer", serviceUrl: string) =>
          MqttIntakeConsumer.start({
            target,
            brokerUrl,
            serviceUrl,
            password: mqttPassword(SECRET, SERVICE_USERNAMES[target]),
            protocolVersion: version,
          });
        consumers.push(
          await consumer("platform", services.platformServer.url),
          await consumer("platform", services.platformServer.url),
          await consumer("relayer", services.relayer.url),
        );
      });

      after(async () => {
        for (const c of consumers) await c.close().catch(() => undefined);
        await embedded?.close();
        await mosquitto?.close();
        await services?.close();
      });

      const transport = () =>
        new MqttDeliveryTransport({
          brokerUrl,
          protocolVersion: version,
          password: (d) => mqttPassword(SECRET, d),
          timeoutMs: 3000,
          reconnectPeriodMs: 100,
        });

      async function anchoredLeaves(): Promise<number> {
        const { publicClient, anchor } = services.chain;
        const count = await publicClient.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "batchCount" });
        let leaves = 0;
        for (let id = 1n; id <= count; id++) {
          const batch = await publicClient.readContract({ address: anchor, abi: readingAnchorAbi, functionName: "getBatch", args: [id] });
          leaves += Number(batch.leafCount);
        }
        return leaves;
      }

      /** A raw MQTT session of a device (for what an honest SDK never sends). */
      async function rawDevice(device: string): Promise<{ client: MqttClient; replies: MqttReply[]; closed: () => boolean }> {
        const client = connect(brokerUrl, {
          username: device,
          password: mqttPassword(SECRET, device),
          protocolVersion: version,
          reconnectPeriod: 0,
        });
        let closed = false;
        client.on("close", () => (closed = true));
        client.on("error", () => undefined);
        await new Promise<void>((resolve, reject) => (client.once("connect", () => resolve()), client.once("error", reject)));
        const replies: MqttReply[] = [];
        client.on("message", (_t, payload) => {
          const r = decodeReply(payload);
          if (r) replies.push(r);
        });
        await client.subscribeAsync(replyTopic(device), { qos: 1 });
        return { client, replies, closed: () => closed };
      }

      it("delivers every reading to the platform and the relayer, split between two platform consumers, and they get anchored", async () => {
        const t = transport();
        const leavesBefore = await anchoredLeaves();
        const clients = elements.map((element, i) =>
          DeviceClient.open({
            element,
            chainId: services.chain.chainId,
            anchor: services.chain.anchor,
            transport: t,
            outbox: path.join(services.dir, `mqtt-${kind}-${i}.sqlite`),
          }),
        );
        for (let k = 0; k < 8; k++)
          for (const c of clients) await c.record({ temperature_c: 10 + k, humidity_pct: 70, pm2_5_ugm3: 3, pm10_ugm3: 5 });
        for (const c of clients) await c.drain(60_000);
        for (const c of clients) {
          const items = c.outbox.list(c.address);
          assert.equal(items.length, 8);
          for (const item of items) {
            assert.deepEqual(
              item.deliveries.map((d) => `${d.target}:${d.state}:${d.httpStatus}`),
              ["platform:delivered:201", "relayer:delivered:202"],
            );
            const res = await fetch(`${services.relayer.url}/v1/readings/${c.address}/${item.seq}`);
            assert.equal(res.status, 200);
            assert.ok(await services.platform.store.getReading(c.address.toLowerCase(), item.seq));
          }
        }
        const [p1, p2] = consumers;
        assert.ok(p1!.stats().received > 0 && p2!.stats().received > 0, `split: ${p1!.stats().received} / ${p2!.stats().received}`);
        assert.equal(p1!.stats().received + p2!.stats().received, 24);
        await until("anchoring", async () => (await anchoredLeaves()) >= leavesBefore + 24);
        assert.ok(t.bytesOnWire().sent > 0);
        for (const c of clients) await c.close();
        await t.close();
      });

      it("a device cannot publish on another device's topic: no service sees it", async () => {
        const [a, b] = [devices[0]!, devices[1]!];
        const before = consumers.map((c) => c.stats().received);
        const signed = await signReading(elements[1]!, digester, {
          seq: 900,
          ts: Math.floor(Date.now() / 1000),
          fields: { temperature_c: 1 },
        });
        const raw = await rawDevice(a);
        const published = raw.client
          .publishAsync(readingTopic(b, "platform"), readingMessage("platform", signed), { qos: 1 })
          .then((packet) => (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0)
          .catch((error: { code?: number }) => error.code ?? -1);
        if (kind === "mosquitto")
          assert.equal(await published, 135); // PUBACK 0x87 Not authorized
        else await until("the embedded broker closing the connection", () => raw.closed()); // MQTT 3.1.1: no negative PUBACK
        // A reading that does reach the consumers afterwards shows the refused one never did.
        const probe = await rawDevice(a);
        await probe.client.publishAsync(readingTopic(a, "platform"), Buffer.from("not json"), { qos: 1 });
        await until("the probe's reply", () => probe.replies.length === 1);
        const after = consumers.map((c) => c.stats().received);
        assert.equal(after[0]! + after[1]! - before[0]! - before[1]!, 1);
        assert.equal(await services.platform.store.getReading(b, 900), undefined);
        raw.client.end(true);
        probe.client.end(true);
      });

      it("hostile messages are each answered with their code and change nothing", async () => {
        const device = devices[2]!;
        const element = elements[2]!;
        const raw = await rawDevice(device);
        const countsBefore = await services.platform.store.counts();
        const ts = Math.floor(Date.now() / 1000);
        const good = await signReading(element, digester, { seq: 500, ts, fields: { temperature_c: 2 } });
        const badSig = {
          ...good,
          signature: `${good.signature.slice(0, 10)}${good.signature[10] === "0" ? "1" : "0"}${good.signature.slice(11)}` as `0x${string}`,
        };
        const other = await signReading(elements[0]!, digester, { seq: 501, ts, fields: { temperature_c: 3 } });
        const cases: [string, "platform" | "relayer", Buffer, string][] = [
          ["bad JSON", "platform", Buffer.from("{not json"), "INVALID_JSON"],
          ["bad JSON", "relayer", Buffer.from("[1,2]"), "INVALID_JSON"],
          [
            "oversized",
            "platform",
            Buffer.from(JSON.stringify({ payload: "x".repeat(20_000), signature: good.signature })),
            "PAYLOAD_TOO_LARGE",
          ],
          ["wrong signature", "relayer", readingMessage("relayer", badSig), "INVALID_SIGNATURE"],
          ["wrong signature", "platform", readingMessage("platform", badSig), "INVALID_SIGNATURE"],
          ["another device's reading", "relayer", readingMessage("relayer", other), "TOPIC_DEVICE_MISMATCH"],
          ["another device's reading", "platform", readingMessage("platform", other), "TOPIC_DEVICE_MISMATCH"],
        ];
        for (const [name, target, bytes, code] of cases) {
          const seen = raw.replies.length;
          await raw.client.publishAsync(readingTopic(device, target), bytes, { qos: 1 });
          await until(`reply to ${name}`, () => raw.replies.length > seen);
          const reply = raw.replies[seen]!;
          assert.equal(reply.target, target, name);
          assert.equal((reply.body as { error: { code: string } }).error.code, code, `${name} → ${target}`);
          assert.ok(reply.status >= 400 && reply.status < 500, name);
        }
        assert.deepEqual(await services.platform.store.counts(), countsBefore);
        for (const [d, seq] of [
          [device, 500],
          [devices[0]!, 501],
        ] as const) {
          assert.equal((await fetch(`${services.relayer.url}/v1/readings/${d}/${seq}`)).status, 404);
          assert.equal(await services.platform.store.getReading(d, seq), undefined);
        }
        raw.client.end(true);
      });

      it(
        "a broker restart mid-stream: the device reconnects and resends, 0 lost, 0 duplicated",
        { skip: kind === "embedded" ? "covered with Mosquitto" : false },
        async () => {
          const t = transport();
          const element = elements[0]!;
          const client = DeviceClient.open({
            element,
            chainId: services.chain.chainId,
            anchor: services.chain.anchor,
            transport: t,
            outbox: path.join(services.dir, `mqtt-${kind}-0.sqlite`) /* continues the first test's seqs */,
            retry: { initialDelayMs: 50, maxDelayMs: 300 },
          });
          try {
            const first = client.nextSeq;
            const total = 30;
            for (let k = 0; k < total; k++) {
              await client.record({ temperature_c: k, humidity_pct: 50, pm2_5_ugm3: 1, pm10_ugm3: 2 });
              if (k === 10) {
                await mosquitto!.stop();
                await new Promise((r) => setTimeout(r, 0));
              }
              if (k === 20) {
                await mosquitto!.start();
                for (const c of consumers) await until("consumer reconnect", () => c.client.connected);
              }
            }
            await client.drain(60_000);
            const items = client.outbox.list(client.address).filter((i) => i.seq >= first);
            assert.equal(items.length, total);
            for (const item of items) {
              assert.deepEqual(
                item.deliveries.map((d) => d.state),
                ["delivered", "delivered"],
                `seq ${item.seq}`,
              );
              assert.equal((await fetch(`${services.relayer.url}/v1/readings/${client.address}/${item.seq}`)).status, 200);
            }
            const stored = await services.platform.store.listReadings(client.address.toLowerCase(), { afterSeq: first - 1, limit: 1000 });
            const seqs = stored.map((r) => r.seq);
            assert.deepEqual(
              seqs,
              Array.from({ length: total }, (_, i) => first + i),
            );
          } finally {
            await client.close();
            await t.close();
          }
        },
      );
    },
  );
}
