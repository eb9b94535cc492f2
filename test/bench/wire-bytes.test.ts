/**
 * The bench's byte counting (scripts/lib/bench/wire-bytes.ts, section 7): the HTTP client's socket
 * counts against a server that answers known bytes, and the MQTT device transport's counts against
 * a TCP proxy between it and a real Mosquitto, with the real platform and relayer answering.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, connect as tcpConnect, type AddressInfo, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";

import { ReadingDigester } from "../../oracle/core/reading.js";
import { signReading } from "../../oracle/device/client.js";
import { SoftwareSecureElement } from "../../oracle/device/secure-element.js";
import { MqttIntakeConsumer } from "../../oracle/transport/mqtt/consumer.js";
import { mqttPassword } from "../../oracle/transport/mqtt/credentials.js";
import { MqttDeliveryTransport } from "../../oracle/transport/mqtt/device-transport.js";
import { readingMessage } from "../../oracle/transport/mqtt/messages.js";
import { SERVICE_USERNAMES } from "../../oracle/transport/mqtt/topics.js";
import { HttpClient } from "../../scripts/lib/bench/util.js";
import { addWireBytes, wireBytesSince } from "../../scripts/lib/bench/wire-bytes.js";
import { hasMosquitto, startMosquitto, type RunningMosquitto } from "../../scripts/lib/mosquitto.js";
import { startRealServices, type RealServices } from "../device/real-services.js";

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

describe("bench: bytes on the wire", () => {
  it("the HTTP client counts each request and answer byte for byte, one keep-alive socket counted once", async () => {
    const answer = 'HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}';
    let seen = Buffer.alloc(0);
    let seenTotal = 0;
    let connections = 0;
    // A server that answers every complete request with `answer` and keeps what it read.
    const server = createServer((socket) => {
      connections++;
      socket.on("data", (chunk: Buffer) => {
        seenTotal += chunk.length;
        seen = Buffer.concat([seen, chunk]);
        for (;;) {
          const end = seen.indexOf("\r\n\r\n");
          if (end < 0) return;
          const length = Number(/content-length: (\d+)/i.exec(seen.subarray(0, end).toString())?.[1] ?? 0);
          if (seen.length < end + 4 + length) return;
          seen = seen.subarray(end + 4 + length);
          socket.write(answer);
        }
      });
    });
    const port = await listen(server);
    const client = new HttpClient(`http://127.0.0.1:${port}`, 1);
    try {
      const body = JSON.stringify({ device: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", seq: "1", note: "é" });
      const request =
        "POST /v1/readings HTTP/1.1\r\ncontent-type: application/json\r\n" +
        `content-length: ${Buffer.byteLength(body)}\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n${body}`;
      assert.deepEqual(client.bytesOnWire(), { sent: 0, received: 0 });
      const first = await client.post("/v1/readings", body);
      assert.equal(first.status, 202);
      assert.deepEqual(client.bytesOnWire(), { sent: Buffer.byteLength(request), received: Buffer.byteLength(answer) });
      const before = client.bytesOnWire();
      await client.post("/v1/readings", body);
      assert.equal(connections, 1);
      assert.deepEqual(wireBytesSince(before, client.bytesOnWire()), {
        sent: Buffer.byteLength(request),
        received: Buffer.byteLength(answer),
      });
      assert.equal(client.bytesOnWire().sent, seenTotal);
      client.close(); // a closed socket keeps its counts
      assert.deepEqual(client.bytesOnWire(), { sent: 2 * Buffer.byteLength(request), received: 2 * Buffer.byteLength(answer) });
      assert.deepEqual(addWireBytes({ sent: 1, received: 2 }, { sent: 30, received: 40 }), { sent: 31, received: 42 });
    } finally {
      client.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  describe("the MQTT device transport's counts", { timeout: 120_000, skip: hasMosquitto ? false : "mosquitto not installed" }, () => {
    const SECRET = `test-${randomBytes(8).toString("hex")}`;
    const element = SoftwareSecureElement.fromPrivateKey("p256", new Uint8Array(32).fill(77));
    const device = element.address.toLowerCase();
    let services: RealServices;
    let mosquitto: RunningMosquitto;
    let proxy: Server;
    let proxyPort: number;
    const consumers: MqttIntakeConsumer[] = [];
    // What went through the proxy, each way, counted by the proxy itself.
    const up: Buffer[] = [];
    const down: Buffer[] = [];
    const total = (chunks: Buffer[]) => chunks.reduce((a, c) => a + c.length, 0);
    const proxied = new Set<Socket>();

    before(async () => {
      services = await startRealServices("sensorseal-wire-bytes-");
      await services.chain.registerDevice({ scheme: element.scheme, publicKey: element.publicKey });
      await services.catchUp();
      mosquitto = await startMosquitto(SECRET, [device, SERVICE_USERNAMES.platform, SERVICE_USERNAMES.relayer]);
      for (const target of ["platform", "relayer"] as const)
        consumers.push(
          await MqttIntakeConsumer.start({
            target,
            brokerUrl: mosquitto.url,
            serviceUrl: target === "platform" ? services.platformServer.url : services.relayer.url,
            password: mqttPassword(SECRET, SERVICE_USERNAMES[target]),
          }),
        );
      proxy = createServer((inbound) => {
        const outbound = tcpConnect(mosquitto.port, "127.0.0.1");
        proxied.add(inbound);
        inbound.on("data", (c: Buffer) => (up.push(c), outbound.write(c)));
        outbound.on("data", (c: Buffer) => (down.push(c), inbound.write(c)));
        inbound.on("close", () => outbound.destroy());
        outbound.on("close", () => inbound.destroy());
        inbound.on("error", () => undefined);
        outbound.on("error", () => undefined);
      });
      proxyPort = await listen(proxy);
    });

    after(async () => {
      for (const s of proxied) s.destroy();
      await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
      for (const c of consumers) await c.close().catch(() => undefined);
      await mosquitto?.close();
      await services?.close();
    });

    it("equal the bytes a TCP proxy between the device and Mosquitto counted, and hold each reading message verbatim", async () => {
      const transport = new MqttDeliveryTransport({
        brokerUrl: `mqtt://127.0.0.1:${proxyPort}`,
        password: (d) => mqttPassword(SECRET, d),
        timeoutMs: 20_000,
      });
      try {
        const digester = new ReadingDigester(services.chain.chainId, services.chain.anchor);
        const ts = Math.floor(Date.now() / 1000);
        const readings = await Promise.all(
          [1, 2].map((seq) => signReading(element, digester, { seq, ts, fields: { temperature_c: 20 + seq, pm10_ugm3: 3 } })),
        );
        for (const r of readings)
          for (const target of ["platform", "relayer"] as const) {
            const outcome = await transport.attempt({ target, ...r }, []);
            assert.equal(outcome.kind, "delivered", `${target} seq ${r.seq}: ${JSON.stringify(outcome)}`);
          }
        // The device acknowledges each reply (PUBACK) after the attempt resolved: wait for the proxy to see it.
        await until("the proxy and the transport to agree", () => total(up) === transport.bytesOnWire().sent);
        await until("the proxy and the transport to agree", () => total(down) === transport.bytesOnWire().received);
        const counted = transport.bytesOnWire();
        assert.deepEqual(counted, { sent: total(up), received: total(down) });
        const sent = Buffer.concat(up);
        for (const r of readings)
          for (const target of ["platform", "relayer"] as const) {
            const message = readingMessage(target, r);
            const at = sent.indexOf(message);
            assert.ok(at > 0, `${target} seq ${r.seq} sent`);
            assert.equal(sent.indexOf(message, at + 1), -1);
          }
        // And the four replies came back on the same connection.
        const received = Buffer.concat(down).toString("utf8");
        assert.equal(received.split('"status":201,"target":"platform"').length - 1, 2);
        assert.equal(received.split('"status":202,"target":"relayer"').length - 1, 2);
      } finally {
        await transport.close();
      }
    });
  });
});
