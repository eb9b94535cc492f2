/**
 * The dashboard's sessions over HTTP against a real audit chain, relayer and platform (its SQLite
 * file shared with a second real platform whose keyring the test controls, so a key can be revoked
 * while the web service runs). Issue 11, attack 8: the web service held a consumer key of its own
 * and served values, raw payloads and bundles to anyone; now raw data needs a session of a consumer
 * who signed in with their own key, and every platform call is made with that key.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { RegistryIndex } from "../../oracle/chain/registry-index.js";
import { ApiKeyring, generateApiKey, type ApiKeyIdentity } from "../../oracle/platform/auth.js";
import { createPlatform, type Platform } from "../../oracle/platform/platform.js";
import { listen, type RunningServer } from "../../oracle/service/app.js";
import { ConfigError } from "../../oracle/service/errors.js";
import { createLogger } from "../../oracle/service/logger.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { parseWebConfig } from "../../oracle/web/config.js";
import { SessionStore } from "../../oracle/web/session.js";
import { chainTime, registeredDevice, startStack, type Stack, type TestDevice } from "../verifier/fixtures.js";
import { startWeb } from "./fixtures.js";

/** A real keyring from which keys can be withdrawn (what editing the keys file and restarting does). */
class RevocableKeyring extends ApiKeyring {
  readonly revoked = new Set<string>();
  override identify(key: string): ApiKeyIdentity | undefined {
    return this.revoked.has(key) ? undefined : super.identify(key);
  }
}

type Answer = { status: number; body: any; setCookie: string | null };

describe("dashboard sessions (real audit chain, relayer and platform)", { timeout: 300_000 }, () => {
  let stack: Stack;
  let registry: RegistryIndex;
  let platform: Platform;
  let platformServer: RunningServer;
  let web: Awaited<ReturnType<typeof startWeb>>;
  let dev: TestDevice;
  const alice = generateApiKey("alice", "consumer");
  const bob = generateApiKey("bob", "consumer");
  const gateway = generateApiKey("gateway", "device");
  const keyring = new RevocableKeyring([alice.entry, bob.entry, gateway.entry]);

  const call = async (
    path: string,
    init: { method?: string; cookie?: string; origin?: string | null; body?: unknown } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { accept: "application/json" };
    if (init.cookie !== undefined) headers.cookie = init.cookie;
    if (init.origin !== null) headers.origin = init.origin ?? web.url;
    if (init.body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(`${web.url}${path}`, {
      method: init.method ?? "GET",
      headers,
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === "" ? undefined : JSON.parse(text), setCookie: res.headers.get("set-cookie") };
  };
  const signIn = async (apiKey: string): Promise<string> => {
    const a = await call("/api/session", { method: "POST", body: { apiKey } });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    return a.setCookie!.split(";")[0]!;
  };
  const readingsPath = () => `/api/devices/${dev.address}/readings`;
  const bundlePath = (seq: number) => `/api/readings/${dev.address}/${seq}/bundle`;
  const assertUnauthorized = (a: Answer) => {
    assert.equal(a.status, 401);
    assert.equal(a.body.error.code, "UNAUTHORIZED");
    assert.equal(typeof a.body.error.message, "string");
    assert.deepEqual(Object.keys(a.body), ["error"]);
  };

  before(async () => {
    stack = await startStack();
    dev = await registeredDevice(stack.chain, "secp256k1");
    const t0 = await chainTime(stack.chain);
    for (let seq = 1; seq <= 3; seq++) await stack.send(dev, seq, t0 + seq * 10);
    await stack.waitAnchored(dev.address, [1, 2, 3]);
    registry = await RegistryIndex.start({ client: stack.chain.publicClient, registry: stack.chain.registry, deployBlock: 0, pollMs: 100 });
    platform = await createPlatform({
      store: await openDatabase(stack.platformDbPath),
      registry,
      domain: { chainId: stack.chain.chainId, anchor: stack.chain.anchor },
      apiKeys: keyring,
      logger: createLogger("platform-test", process.env.TEST_LOG_LEVEL ?? "silent"),
    });
    platformServer = await listen(platform.app, 0);
    web = await startWeb({
      audit: {
        rpcUrl: stack.chain.rpcUrl,
        anchor: stack.chain.anchor,
        registry: stack.chain.registry,
        deployBlock: 0,
        registryPollMs: 200,
      },
      platform: { url: platformServer.url },
      relayer: { url: stack.relayerUrl },
    });
  });

  after(async () => {
    await web?.close();
    await platformServer?.close();
    await platform?.close();
    registry?.stop();
    await stack?.close().catch(() => undefined);
  });

  it("anonymous: values, payloads and bundles answer 401 UNAUTHORIZED; public chain data stays open", async () => {
    assertUnauthorized(await call(readingsPath()));
    assertUnauthorized(await call(bundlePath(1)));
    assertUnauthorized(await call(readingsPath(), { cookie: `sensorseal_session=${"A".repeat(43)}` }));
    const devices = await call("/api/devices");
    assert.equal(devices.status, 200);
    assert.deepEqual(
      devices.body.devices.map((d: { device: string; status: string }) => [d.device, d.status]),
      [[dev.address, "active"]],
    );
    assert.equal((await call("/api/batches")).status, 200);
    assert.equal((await call("/api/config")).status, 200);
    assert.deepEqual((await call("/api/session")).body, { signedIn: false, idleSeconds: 1800 });
  });

  it("a wrong key answers 401 UNAUTHORIZED and sets no cookie; a key without the consumer role 403", async () => {
    const wrong = await call("/api/session", { method: "POST", body: { apiKey: "ssk_not-a-key" } });
    assertUnauthorized(wrong);
    assert.equal(wrong.setCookie, null);
    const device = await call("/api/session", { method: "POST", body: { apiKey: gateway.key } });
    assert.equal(device.status, 403);
    assert.equal(device.body.error.code, "FORBIDDEN");
    assert.equal(device.setCookie, null);
    const empty = await call("/api/session", { method: "POST", body: {} });
    assert.equal(empty.status, 400);
    assert.equal(empty.body.error.code, "INVALID_BODY");
    assert.equal(empty.setCookie, null);
  });

  it("refuses a cross-origin sign-in (CSRF) and one without Origin, even with a right key", async () => {
    for (const origin of ["http://evil.example", web.url.replace("127.0.0.1", "localhost"), null]) {
      const a = await call("/api/session", { method: "POST", origin, body: { apiKey: alice.key } });
      assert.equal(a.status, 403, `origin ${origin}`);
      assert.equal(a.body.error.code, "FORBIDDEN");
      assert.equal(a.setCookie, null);
    }
  });

  it("a right key: an HttpOnly SameSite=Strict random token (not the key); values and bundles with it", async () => {
    const a = await call("/api/session", { method: "POST", body: { apiKey: alice.key } });
    assert.equal(a.status, 201);
    assert.deepEqual(a.body, { signedIn: true, idleSeconds: 1800 });
    const attributes = a.setCookie!.split(";").map((s) => s.trim());
    assert.match(attributes[0]!, /^sensorseal_session=[A-Za-z0-9_-]{43}$/);
    assert.ok(attributes.includes("HttpOnly"));
    assert.ok(attributes.includes("SameSite=Strict"));
    assert.ok(!attributes.includes("Secure"), "plain http: no Secure");
    assert.ok(!a.setCookie!.includes(alice.key));
    const cookie = attributes[0]!;
    assert.deepEqual((await call("/api/session", { cookie })).body, { signedIn: true, idleSeconds: 1800 });

    const readings = await call(readingsPath(), { cookie });
    assert.equal(readings.status, 200);
    assert.deepEqual(
      readings.body.readings.map((r: { seq: number }) => r.seq),
      [1, 2, 3],
    );
    assert.equal(readings.body.readings[0].values.temperature_c, 20.1);
    const bundle = await call(bundlePath(2), { cookie });
    assert.equal(bundle.status, 200);
    assert.equal(bundle.body.server.status, "VERIFIED");
    assert.match(bundle.body.bundle.payload, /"temperature_c":20\.2/);
  });

  it("every platform call uses the session's own key: revoking one consumer ends only their sessions", async () => {
    const aliceCookie = await signIn(alice.key);
    const bobCookie = await signIn(bob.key);
    keyring.revoked.add(alice.key);
    try {
      const refused = await call(readingsPath(), { cookie: aliceCookie });
      assertUnauthorized(refused);
      assert.match(refused.body.error.message, /revoked/);
      assert.equal((await call(readingsPath(), { cookie: bobCookie })).status, 200);
      assert.equal((await call(bundlePath(1), { cookie: bobCookie })).status, 200);
      // The session ended with the refusal: even a restored key needs a new sign-in.
      keyring.revoked.delete(alice.key);
      assertUnauthorized(await call(readingsPath(), { cookie: aliceCookie }));
      // And a revoked key cannot sign in.
      keyring.revoked.add(alice.key);
      assertUnauthorized(await call("/api/session", { method: "POST", body: { apiKey: alice.key } }));
      // The bundle route asks the platform with the session's key too.
      keyring.revoked.delete(alice.key);
      const again = await signIn(alice.key);
      keyring.revoked.add(alice.key);
      assertUnauthorized(await call(bundlePath(1), { cookie: again }));
      assertUnauthorized(await call(readingsPath(), { cookie: again }));
    } finally {
      keyring.revoked.delete(alice.key);
    }
  });

  it("sign-out drops the session (cross-origin sign-out refused); raw data answers 401 again", async () => {
    const cookie = await signIn(bob.key);
    const foreign = await call("/api/session", { method: "DELETE", cookie, origin: "http://evil.example" });
    assert.equal(foreign.status, 403);
    assert.equal((await call(readingsPath(), { cookie })).status, 200);
    const out = await call("/api/session", { method: "DELETE", cookie });
    assert.equal(out.status, 200);
    assert.match(out.setCookie ?? "", /^sensorseal_session=; Max-Age=0/);
    assertUnauthorized(await call(readingsPath(), { cookie }));
    assertUnauthorized(await call(bundlePath(1), { cookie }));
  });

  it("Secure cookie behind an https public origin", async () => {
    const secure = await startWeb({ platform: { url: platformServer.url }, publicOrigin: "https://dashboard.example" });
    try {
      const res = await fetch(`${secure.url}/api/session`, {
        method: "POST",
        headers: { origin: "https://dashboard.example", "content-type": "application/json" },
        body: JSON.stringify({ apiKey: bob.key }),
      });
      assert.equal(res.status, 201);
      assert.ok((res.headers.get("set-cookie") ?? "").split("; ").includes("Secure"));
    } finally {
      await secure.close();
    }
  });
});

describe("session store and configuration", () => {
  it("a session ends after its idle time and its maximum age", () => {
    let now = 1_000_000;
    const store = new SessionStore({ idleMs: 1000, maxAgeMs: 5000 }, () => now);
    const token = store.create("ssk_a");
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    now += 900;
    assert.equal(store.apiKey(token), "ssk_a");
    now += 900;
    assert.equal(store.apiKey(token), "ssk_a", "use restarts the idle clock");
    now += 1001;
    assert.equal(store.apiKey(token), undefined);
    assert.equal(store.size, 0);
    const long = store.create("ssk_b");
    for (let i = 0; i < 6; i++) {
      now += 900;
      if (i < 5) assert.equal(store.apiKey(long), "ssk_b");
    }
    assert.equal(store.apiKey(long), undefined, "past the maximum age");
    assert.equal(store.apiKey("x".repeat(43)), undefined);
  });

  it("PLATFORM_URL alone configures the platform; PLATFORM_API_KEY is refused with the reason", () => {
    assert.deepEqual(parseWebConfig({ PLATFORM_URL: "http://127.0.0.1:8080" }).platform, { url: "http://127.0.0.1:8080" });
    assert.deepEqual(
      parseWebConfig({ PLATFORM_URL: "http://127.0.0.1:8080", PLATFORM_API_KEY: "" }).platform,
      { url: "http://127.0.0.1:8080" },
      "empty = unset",
    );
    assert.throws(
      () => parseWebConfig({ PLATFORM_URL: "http://127.0.0.1:8080", PLATFORM_API_KEY: "ssk_x" }),
      (e: unknown) =>
        e instanceof ConfigError && /PLATFORM_API_KEY must not be set/.test(e.message) && /shared with every visitor/.test(e.message),
    );
  });
});
