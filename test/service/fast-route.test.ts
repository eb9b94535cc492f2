import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";

import express from "express";

import { createServiceApp, handle, listen, type RunningServer } from "../../oracle/service/app.js";
import { ServiceError } from "../../oracle/service/errors.js";
import { bodyLimitBytes, fastRouteOf, parseJsonBody } from "../../oracle/service/fast-route.js";
import { createLogger } from "../../oracle/service/logger.js";

/**
 * A service whose POST /v1/readings echoes what its handlers saw (body, path, client address,
 * content type), refuses non-JSON like the relayer does, refuses `{"refuse": true}` and fails on
 * `{"fail": true}`; with a per-address limit of `burst` requests per window that, on this route,
 * only refused requests are charged for.
 */
function echoService(burst = 1000) {
  const echo = handle(async (req, res) => {
    if (!req.is("application/json")) throw new ServiceError("UNSUPPORTED_MEDIA_TYPE", "send application/json");
    if ((req.body as { fail?: boolean })?.fail === true) throw new Error("handler failed");
    if ((req.body as { refuse?: boolean })?.refuse === true) throw new ServiceError("INVALID_READING", "refused", { field: "$" });
    res.status(202).json({ body: req.body, path: req.path, ip: req.ip });
  });
  const router = express.Router();
  router.post("/v1/readings", echo);
  return createServiceApp({
    name: "fast-route-test",
    logger: createLogger("fast-route-test", "silent"),
    router,
    bodyLimit: "1kb",
    rateLimit: { ratePerSecond: burst / 1000, burst },
    rateLimitExempt: (req) => req.method === "POST" && req.path === "/v1/readings",
    fastRoute: { path: "/v1/readings", handlers: [echo] },
  });
}

interface Sent {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

interface Answer {
  status: number;
  contentType: string | undefined;
  retryAfter: string | undefined;
  body: string;
}

function send(port: number, { method = "POST", path = "/v1/readings", headers = {}, body }: Sent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers["content-type"],
          retryAfter: res.headers["retry-after"] as string | undefined,
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

const json = (text: string | Buffer, contentType = "application/json"): Sent => ({
  headers: { "content-type": contentType, "content-length": String(Buffer.byteLength(text)) },
  body: text,
});

/** The same service twice: one served with its fast route (`listen`), one by express alone; `trustProxy` set on both. */
function servicePair(burst?: number, trustProxy?: string) {
  const fastApp = echoService(burst);
  const expressApp = echoService(burst);
  if (trustProxy !== undefined) for (const app of [fastApp, expressApp]) app.set("trust proxy", trustProxy);
  let fast: RunningServer;
  let plain: Server;
  let plainPort: number;
  return {
    async start() {
      fast = await listen(fastApp, 0);
      plain = createServer(expressApp);
      await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
      plainPort = (plain.address() as AddressInfo).port;
    },
    async stop() {
      await fast.close();
      await new Promise((resolve) => plain.close(resolve));
    },
    /** Sends `sent` to both; answers the fast one's answer after checking both are the same, and whether the fast route took it. */
    async both(sent: Sent): Promise<{ answer: Answer; tookFast: boolean }> {
      const route = fastRouteOf(fastApp);
      assert.ok(route !== undefined);
      const servedBefore = route.served;
      const [a, b] = [await send(fast.port, sent), await send(plainPort, sent)];
      assert.deepEqual(a, b, `fast route and express differ for ${JSON.stringify({ ...sent, body: String(sent.body) })}`);
      return { answer: a, tookFast: route.served > servedBefore };
    },
  };
}

const reading = { device: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", seq: "1", dataHash: `0x${"11".repeat(32)}` };

describe("fast route: POST /v1/readings without express answers exactly as express does", () => {
  const services = servicePair();
  const both = (sent: Sent) => services.both(sent);
  before(() => services.start());
  after(() => services.stop());

  it("takes plain JSON bodies (object, array, empty, a byte-order mark, leading space, charset=utf-8) and answers the same", async () => {
    const cases: [Sent, unknown][] = [
      [json(JSON.stringify(reading)), reading],
      [json(JSON.stringify([reading, reading])), [reading, reading]],
      [json(""), {}],
      [json(`\uFEFF${JSON.stringify(reading)}`), reading],
      [json(` \n\t${JSON.stringify(reading)}`), reading],
      [json(JSON.stringify(reading), "application/json; charset=utf-8"), reading],
      [json(JSON.stringify(reading), "Application/JSON; charset=UTF-8"), reading],
    ];
    for (const [sent, body] of cases) {
      const { answer, tookFast } = await both(sent);
      assert.equal(tookFast, true);
      assert.equal(answer.status, 202);
      assert.equal(answer.contentType, "application/json; charset=utf-8");
      assert.deepEqual(JSON.parse(answer.body), { body, path: "/v1/readings", ip: "127.0.0.1" });
    }
  });

  it("refuses what is not JSON, or not an object or array at the top, with express's INVALID_JSON", async () => {
    for (const text of ["{bad", "5", '"text"', "null", "  true", "{} x"]) {
      const { answer, tookFast } = await both(json(text));
      assert.equal(tookFast, true);
      assert.equal(answer.status, 400);
      assert.equal(JSON.parse(answer.body).error.code, "INVALID_JSON");
    }
    // Bytes that are not UTF-8 read as U+FFFD by both.
    const { answer } = await both(json(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])));
    assert.deepEqual(JSON.parse(answer.body).body, { a: "\uFFFD" });
  });

  it("a handler's refusal and a handler's failure give the same JSON errors", async () => {
    const refused = await both(json(JSON.stringify({ refuse: true })));
    assert.equal(refused.tookFast, true);
    assert.equal(refused.answer.status, 400);
    assert.deepEqual(JSON.parse(refused.answer.body), { error: { code: "INVALID_READING", message: "refused", details: { field: "$" } } });
    const failed = await both(json(JSON.stringify({ fail: true })));
    assert.equal(failed.tookFast, true);
    assert.equal(failed.answer.status, 500);
    assert.equal(JSON.parse(failed.answer.body).error.code, "INTERNAL");
  });

  it("leaves to express what it cannot answer as express would: other types, charsets, encodings, sizes, paths", async () => {
    const body = JSON.stringify(reading);
    const gzipped = gzipSync(body);
    const cases: [Sent, number, string | undefined][] = [
      [json(body, "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"],
      [json(body, "application/json; charset=latin1"), 415, "UNSUPPORTED_ENCODING"],
      [json("x".repeat(2000)), 413, "PAYLOAD_TOO_LARGE"],
      [
        {
          headers: { "content-type": "application/json", "content-encoding": "gzip", "content-length": String(gzipped.length) },
          body: gzipped,
        },
        202,
        undefined,
      ],
      [{ headers: { "content-type": "application/json", "transfer-encoding": "chunked" }, body }, 202, undefined],
      [{ ...json(body), path: "/v1/readings?x=1" }, 202, undefined],
      [{ ...json(body), path: "/v1/readings/" }, 202, undefined],
      [{ ...json(body), method: "PUT" }, 404, "NOT_FOUND"],
    ];
    for (const [sent, status, code] of cases) {
      const { answer, tookFast } = await both(sent);
      assert.equal(tookFast, false, `${sent.method ?? "POST"} ${sent.path ?? ""} ${JSON.stringify(sent.headers)}`);
      assert.equal(answer.status, status);
      if (code !== undefined) assert.equal(JSON.parse(answer.body).error.code, code);
      else assert.deepEqual(JSON.parse(answer.body).body, reading);
    }
  });
});

describe("fast route: behind a trusted proxy", () => {
  const services = servicePair(undefined, "loopback");
  before(() => services.start());
  after(() => services.stop());

  it("leaves every request to express, so the client address is the forwarded one, as the limits charge it", async () => {
    const sent = json(JSON.stringify(reading));
    const { answer, tookFast } = await services.both({ ...sent, headers: { ...sent.headers, "x-forwarded-for": "203.0.113.7" } });
    assert.equal(tookFast, false);
    assert.equal(answer.status, 202);
    assert.equal(JSON.parse(answer.body).ip, "203.0.113.7");
  });
});

describe("fast route: the service's per-address limit", () => {
  const services = servicePair(3);
  before(() => services.start());
  after(() => services.stop());

  it("holds on the fast route: refused requests charged, then 429 RATE_LIMITED with Retry-After", async () => {
    for (let i = 0; i < 3; i++) {
      const refused = await services.both(json("{bad"));
      assert.equal(refused.tookFast, true);
      assert.equal(refused.answer.status, 400);
    }
    // Honest requests are not charged, but the address's window is spent: refused before its body is read.
    const { answer, tookFast } = await services.both(json(JSON.stringify(reading)));
    assert.equal(tookFast, true);
    assert.equal(answer.status, 429);
    assert.equal(JSON.parse(answer.body).error.code, "RATE_LIMITED");
    assert.ok(Number(answer.retryAfter) > 0);
  });
});

describe("fast route: body parsing and limits", () => {
  it("reads express's limit syntax, 1024-based, and nothing else", () => {
    assert.equal(bodyLimitBytes("100b"), 100);
    assert.equal(bodyLimitBytes("64kb"), 65_536);
    assert.equal(bodyLimitBytes("1MB"), 1_048_576);
    assert.equal(bodyLimitBytes("1.5mb"), undefined);
    assert.equal(bodyLimitBytes("1gb"), undefined);
  });

  it("parses as express's strict JSON parser does", () => {
    assert.deepEqual(parseJsonBody(Buffer.from("")), {});
    assert.deepEqual(parseJsonBody(Buffer.from("\uFEFF[1]")), [1]);
    assert.throws(
      () => parseJsonBody(Buffer.from("1")),
      (e: ServiceError) => e.code === "INVALID_JSON",
    );
    assert.throws(
      () => parseJsonBody(Buffer.from("{")),
      (e: ServiceError) => e.code === "INVALID_JSON",
    );
  });
});
