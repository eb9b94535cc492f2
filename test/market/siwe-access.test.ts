/**
 * Sign-In with Ethereum and purchase tokens over real HTTP with real wallet signatures: nonces are
 * single-use, the domain and chain must match, a wallet without a running purchase gets 403, and a
 * token opens exactly the purchased devices, fields and window until the access ends.
 * (The chain side of the lookup is tested end to end in purchase-e2e.test.ts.)
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import express from "express";
import { getAddress, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";

import { PurchaseAccess, siweRoutes, type PurchaseGrant } from "../../oracle/platform/purchase-access.js";
import { SiweVerifier } from "../../oracle/platform/siwe.js";
import { createServiceApp, listen, type RunningServer } from "../../oracle/service/app.js";
import { ServiceError } from "../../oracle/service/errors.js";
import { createLogger } from "../../oracle/service/logger.js";

const CHAIN_ID = 31338;
const DOMAIN = "data.example.test";
const DEVICE = getAddress("0x00000000000000000000000000000000000000d1");
const OTHER = getAddress("0x00000000000000000000000000000000000000d2");

describe("market: Sign-In with Ethereum and purchase tokens (oracle/platform/siwe.ts, purchase-access.ts)", () => {
  const buyer = privateKeyToAccount(generatePrivateKey());
  const stranger = privateKeyToAccount(generatePrivateKey());
  let clock = 1_800_000_000_000;
  const grants = new Map<Address, PurchaseGrant[]>();
  let server: RunningServer;

  before(async () => {
    grants.set(buyer.address, [
      {
        purchaseId: "1",
        productId: "1",
        devices: [DEVICE.toLowerCase() as Address],
        fields: ["pm10_ugm3"],
        from: 1000,
        to: 2000,
        expiresAt: 1_800_000_600,
      },
    ]);
    const now = () => clock;
    const siwe = new SiweVerifier({ domain: DOMAIN, chainId: CHAIN_ID, now });
    const access = new PurchaseAccess({ siwe, lookup: { grantsOf: async (a) => grants.get(a) ?? [] }, now });
    const router = express.Router();
    siweRoutes(router, { access, siwe, domain: DOMAIN, chainId: CHAIN_ID });
    const apiKeys: express.RequestHandler = (_req, _res, next) => next(new ServiceError("UNAUTHORIZED", "an API key is required"));
    const readingTime = async (_d: Address, seq: number) => (seq === 7 ? 1500 : seq === 8 ? 2500 : undefined);
    const ok: express.RequestHandler = (req, res) => void res.json({ ok: true, who: res.locals.apiKey });
    router.get("/v1/devices/:device/readings", access.middleware(apiKeys, readingTime), ok);
    router.get("/v1/devices/:device/readings/:seq", access.middleware(apiKeys, readingTime), ok);
    server = await listen(createServiceApp({ name: "test", logger: createLogger("test", "silent"), router }), 0);
  });
  after(async () => server?.close());

  async function get(path: string, token?: string) {
    const res = await fetch(`${server.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: res.status, body: (await res.json()) as any };
  }

  async function signIn(account = buyer, over: Partial<Parameters<typeof createSiweMessage>[0]> = {}) {
    const { body: n } = await get("/v1/market/siwe/nonce");
    assert.deepEqual([n.domain, n.chainId], [DOMAIN, CHAIN_ID]);
    const message = createSiweMessage({
      address: account.address,
      chainId: CHAIN_ID,
      domain: DOMAIN,
      nonce: n.nonce,
      uri: `https://${DOMAIN}`,
      version: "1",
      issuedAt: new Date(clock),
      ...over,
    });
    const signature = await account.signMessage({ message });
    const res = await fetch(`${server.url}/v1/market/siwe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, signature }),
    });
    return { status: res.status, body: (await res.json()) as any, message, signature };
  }

  it("signs in the paying wallet and answers a token for its purchases", async () => {
    const { status, body } = await signIn();
    assert.equal(status, 200);
    assert.match(body.token, /^ssa_/);
    assert.equal(body.address, buyer.address);
    assert.equal(body.expiresAt, 1_800_000_600);
    assert.deepEqual(
      body.grants.map((g: PurchaseGrant) => g.purchaseId),
      ["1"],
    );
    assert.equal((await get("/v1/market/access", body.token)).body.address, buyer.address);
  });

  it("opens exactly the purchased device, window and fields", async () => {
    const { body } = await signIn();
    const t = body.token as string;
    assert.equal((await get(`/v1/devices/${DEVICE}/readings?from=1000&to=1999`, t)).status, 200);
    assert.equal((await get(`/v1/devices/${DEVICE}/readings?from=1000&to=1999&fields=pm10_ugm3`, t)).status, 200);
    assert.equal((await get(`/v1/devices/${DEVICE}/readings/7`, t)).body.who.id, `siwe:${buyer.address}`);
    for (const [path, code] of [
      [`/v1/devices/${OTHER}/readings?from=1000&to=1999`, "OUT_OF_SCOPE"],
      [`/v1/devices/${DEVICE}/readings?from=999&to=1999`, "OUT_OF_SCOPE"],
      [`/v1/devices/${DEVICE}/readings?from=1000&to=2000`, "OUT_OF_SCOPE"],
      [`/v1/devices/${DEVICE}/readings`, "OUT_OF_SCOPE"],
      [`/v1/devices/${DEVICE}/readings?from=1000&to=1999&fields=pm2_5_ugm3`, "OUT_OF_SCOPE"],
      [`/v1/devices/${DEVICE}/readings/8`, "OUT_OF_SCOPE"],
    ] as const) {
      const answer = await get(path, t);
      assert.deepEqual([answer.status, answer.body.error.code], [403, code], path);
    }
  });

  it("refuses a reused nonce, another domain or chain, a forged signature, and a wallet without a purchase", async () => {
    const first = await signIn();
    const replay = await fetch(`${server.url}/v1/market/siwe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message: first.message, signature: first.signature }),
    });
    assert.deepEqual([replay.status, ((await replay.json()) as any).error.code], [401, "INVALID_SIWE"]);
    for (const over of [{ domain: "evil.example" }, { chainId: 1 }, { expirationTime: new Date(clock - 1000) }]) {
      const { status, body } = await signIn(buyer, over);
      assert.deepEqual([status, body.error.code], [401, "INVALID_SIWE"], JSON.stringify(over));
    }
    // Signed by another key for the buyer's address.
    const { body: n } = await get("/v1/market/siwe/nonce");
    const message = createSiweMessage({
      address: buyer.address,
      chainId: CHAIN_ID,
      domain: DOMAIN,
      nonce: n.nonce,
      uri: `https://${DOMAIN}`,
      version: "1",
    });
    const forged = await fetch(`${server.url}/v1/market/siwe`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ message, signature: await stranger.signMessage({ message }) }),
    });
    assert.deepEqual([forged.status, ((await forged.json()) as any).error.code], [401, "INVALID_SIWE"]);
    const none = await signIn(stranger);
    assert.deepEqual([none.status, none.body.error.code], [403, "NO_PURCHASE"]);
  });

  it("answers 401 for an unknown token and 403 once the access period has ended", async () => {
    const { body } = await signIn();
    assert.equal((await get(`/v1/devices/${DEVICE}/readings?from=1000&to=1999`, "ssa_unknownunknownunknownunknown")).status, 401);
    clock = 1_800_000_600_000;
    const ended = await get(`/v1/devices/${DEVICE}/readings?from=1000&to=1999`, body.token);
    assert.deepEqual([ended.status, ended.body.error.code], [403, "NO_PURCHASE"]);
    const again = await signIn();
    assert.deepEqual([again.status, again.body.error.code], [403, "NO_PURCHASE"]);
  });
});
