/**
 * The auditor's platform client refuses answers of the wrong shape or for another device as "could not
 * check" (SERVICE_ERROR), never as a reading. A stub platform answers here: the real one cannot be made
 * to lie, and the stub answers exactly the JSON shape the real `GET /v1/devices/:device/readings/:seq`
 * answers.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";

import type { Address } from "viem";

import { PrefetchingPlatform } from "../../oracle/auditor/platform-cache.js";

const A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" as Address;
const B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" as Address;
const reading = (device: string) => ({
  device,
  seq: 1,
  ts: 1_700_000_000,
  payload: "{}",
  dataHash: `0x${"ab".repeat(32)}`,
  signature: `0x${"cd".repeat(65)}`,
});

describe("auditor platform client (stub platform answering lies)", () => {
  let server: http.Server;
  let url: string;
  const answers = new Map<string, unknown>();

  before(async () => {
    server = http.createServer((req, res) => {
      const body = answers.get(req.url ?? "");
      if (body === undefined) res.writeHead(404).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("takes the asked device's reading in any letter case, and refuses another device's or a non-address", async () => {
    const platform = new PrefetchingPlatform(url, "key");
    answers.set(`/v1/devices/${A}/readings/1`, reading(A.toLowerCase()));
    assert.equal((await platform.reading(A, 1))?.seq, 1);
    answers.set(`/v1/devices/${A}/readings/2`, reading(B));
    await assert.rejects(platform.reading(A, 2), { code: "SERVICE_ERROR", message: /another device/ });
    answers.set(`/v1/devices/${A}/readings/3`, reading("0x1234"));
    await assert.rejects(platform.reading(A, 3), { code: "SERVICE_ERROR" });
    assert.equal(await platform.reading(A, 4), undefined, "404: no such reading");
  });
});
