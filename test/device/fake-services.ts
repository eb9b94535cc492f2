// Test helper (no side effects on import): a stand-in platform or relayer on 127.0.0.1 that
// records what it is sent, can be taken down and brought back on the same port, and can be told
// how to answer.
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

import express from "express";

/** How the fake answers one request: a status and a JSON body, optional headers. */
export type FakeAnswer = { status: number; body?: unknown; headers?: Record<string, string> };

export type FakeServiceOptions = {
  /** Decides the answer before the default behaviour; return undefined for the default. */
  answer?: (body: Record<string, unknown>, key: string) => FakeAnswer | undefined;
  /** How to compute the reading key (device|seq) from the body. */
  keyOf: (body: Record<string, unknown>) => string;
};

/**
 * A fake `POST /v1/readings` service. Default behaviour: the first time a key is seen it is stored
 * and answered 201 (or 202 for the relayer); a repeat is answered 409 DUPLICATE_READING.
 */
export class FakeService {
  readonly accepted: Record<string, unknown>[] = [];
  readonly acceptedKeys: string[] = [];
  /** Every request received, in order, with the status answered. */
  readonly log: { key: string; status: number; at: number }[] = [];
  mode: "ok" | "unavailable" = "ok";
  answer: FakeServiceOptions["answer"];
  readonly #keyOf: FakeServiceOptions["keyOf"];
  readonly #seen = new Set<string>();
  #server: Server | undefined;
  port = 0;

  constructor(options: FakeServiceOptions) {
    this.answer = options.answer;
    this.#keyOf = options.keyOf;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get listening(): boolean {
    return this.#server !== undefined;
  }

  #app(): express.Express {
    const app = express();
    app.use(express.json({ limit: "64kb" }));
    app.post("/v1/readings", (req, res) => {
      const body = req.body as Record<string, unknown>;
      const key = this.#keyOf(body);
      const reply = (a: FakeAnswer): void => {
        this.log.push({ key, status: a.status, at: Date.now() });
        for (const [k, v] of Object.entries(a.headers ?? {})) res.setHeader(k, v);
        res.status(a.status).json(a.body ?? {});
      };
      if (this.mode === "unavailable") {
        return reply({
          status: 503,
          body: { error: { code: "UNAVAILABLE", message: "down for maintenance" } },
          headers: { "retry-after": "0" },
        });
      }
      const custom = this.answer?.(body, key);
      if (custom !== undefined) {
        if (custom.status >= 200 && custom.status < 300 && !this.#seen.has(key)) {
          this.#seen.add(key);
          this.accepted.push(body);
          this.acceptedKeys.push(key);
        }
        return reply(custom);
      }
      if (this.#seen.has(key)) {
        return reply({ status: 409, body: { error: { code: "DUPLICATE_READING", message: "already stored" } } });
      }
      this.#seen.add(key);
      this.accepted.push(body);
      this.acceptedKeys.push(key);
      reply({ status: 201, body: { stored: key } });
    });
    return app;
  }

  /** Starts listening (on the previous port if it had one, else an ephemeral one). */
  async start(): Promise<void> {
    if (this.#server) return;
    const server = this.#app().listen(this.port, "127.0.0.1");
    await once(server, "listening");
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops open connections: the port refuses connections until `start`. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }
}

/** Reserves a free port on 127.0.0.1 and releases it (nothing listens there afterwards). */
export async function freePort(): Promise<number> {
  const server = express().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function platformKey(body: Record<string, unknown>): string {
  const payload = JSON.parse(String(body.payload)) as { device: string; seq: number };
  return `${payload.device}|${payload.seq}`;
}

export function relayerKey(body: Record<string, unknown>): string {
  return `${String(body.device)}|${String(body.seq)}`;
}

/** A fake platform and relayer, both down until started. */
export async function fakeServices(): Promise<{ platform: FakeService; relayer: FakeService }> {
  const platform = new FakeService({ keyOf: platformKey });
  const relayer = new FakeService({ keyOf: relayerKey });
  platform.port = await freePort();
  relayer.port = await freePort();
  return { platform, relayer };
}
