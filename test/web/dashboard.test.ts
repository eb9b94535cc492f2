/**
 * The dashboard in headless Chromium against a real stack: audit chain (EDR over JSON-RPC),
 * platform and relayer on SQLite files (test/verifier/fixtures.ts). Devices with their status, the
 * readings chart, the anchored batches with their tx, and the "verify" button checking a reading in
 * the browser against the chain's RPC: VERIFIED for an anchored reading (both key schemes),
 * TAMPERED after its payload bytes were changed in the platform's SQLite file. A screenshot is
 * saved under test/web/screenshots/ and checked.
 *
 * Values and proofs need a sign-in with the consumer's own platform key (issue 11, attack 8): the
 * page first shows none of them anonymously, refuses a wrong key, then signs in with the right one;
 * sign-out hides them again.
 */
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it as test } from "node:test";
import { inflateSync } from "node:zlib";

import type { Hex } from "viem";
import type { BrowserContext, Page } from "playwright-core";

import { chainTime, registeredDevice, startStack, type Stack, type TestDevice } from "../verifier/fixtures.js";
import { browserUnavailable, launchBrowser, startWeb } from "./fixtures.js";

const skip = await browserUnavailable();
const title = skip === undefined ? "dashboard (Chromium, real audit chain, platform and relayer)" : `dashboard SKIPPED: ${skip}`;
const it = (name: string, fn: () => Promise<void>) => test(name, { skip: skip ?? false }, fn);

const SCREENSHOTS = path.resolve(import.meta.dirname, "screenshots");

/** Width, height and the inflated pixel rows of a PNG (enough to tell a blank image). */
function decodePng(png: Buffer): { width: number; height: number; raw: Buffer } {
  assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const idat: Buffer[] = [];
  for (let off = 8; off < png.length;) {
    const len = png.readUInt32BE(off);
    const type = png.subarray(off + 4, off + 8).toString("latin1");
    if (type === "IDAT") idat.push(png.subarray(off + 8, off + 8 + len));
    off += 12 + len;
  }
  return { width, height, raw: inflateSync(Buffer.concat(idat)) };
}

describe(title, { timeout: 300_000 }, () => {
  let stack: Stack;
  let web: Awaited<ReturnType<typeof startWeb>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  let page: Page;
  const dev = {} as Record<"a" | "b" | "c", TestDevice>;

  before(async () => {
    if (skip !== undefined) return;
    stack = await startStack();
    const { chain } = stack;
    dev.a = await registeredDevice(chain, "secp256k1");
    dev.b = await registeredDevice(chain, "p256");
    dev.c = await registeredDevice(chain, "secp256k1");
    const t0 = await chainTime(chain);
    for (let seq = 1; seq <= 6; seq++) await stack.send(dev.a, seq, t0 + seq * 10);
    for (let seq = 1; seq <= 3; seq++) await stack.send(dev.b, seq, t0 + seq * 10);
    await stack.waitAnchored(dev.a.address, [1, 2, 3, 4, 5, 6]);
    await stack.waitAnchored(dev.b.address, [1, 2, 3]);
    await chain.suspend(dev.c.address);

    // Change bytes of a's stored payload #2 (temperature_c 20.2 → 29.2) in the platform's SQLite file.
    const db = stack.platformDb();
    const row = db.prepare("SELECT payload FROM readings WHERE device = ? AND seq = 2").get(dev.a.address.toLowerCase()) as {
      payload: Buffer;
    };
    const text = row.payload.toString("utf8").replace(/"temperature_c":20\.2/, '"temperature_c":29.2');
    assert.notEqual(text, row.payload.toString("utf8"));
    db.prepare("UPDATE readings SET payload = ? WHERE device = ? AND seq = 2").run(Buffer.from(text), dev.a.address.toLowerCase());
    db.close();

    web = await startWeb({
      audit: { rpcUrl: chain.rpcUrl, anchor: chain.anchor, registry: chain.registry, deployBlock: 0, registryPollMs: 200 },
      platform: { url: stack.platformUrl },
      relayer: { url: stack.relayerUrl },
    });
    browser = await launchBrowser();
    context = browser.context;
    page = await context.newPage();
    await page.goto(web.url);
    await page.waitForSelector("body[data-ready]", { timeout: 30_000 });
  });

  after(async () => {
    await browser?.close();
    await web?.close();
    await stack?.close().catch(() => undefined);
  });

  it("anonymous: no values, chart or verify button on the page, and 401 from the raw-data routes", async () => {
    assert.equal(await page.getAttribute("body", "data-session"), "signed-out");
    await page.waitForSelector('#readings [data-code="SIGNED_OUT"]');
    assert.equal(await page.locator("#readings tr[data-seq]").count(), 0);
    assert.equal(await page.locator("button.verify").count(), 0);
    assert.equal(await page.locator("#chart svg").count(), 0);
    assert.equal(await page.isVisible("#range"), false);
    assert.doesNotMatch((await page.textContent("main")) ?? "", /temperature|20\.1/);
    assert.equal(await page.getAttribute("#api-key", "type"), "password");
    assert.equal(await page.getAttribute("#api-key", "autocomplete"), "off");
    // The same answers any client gets, from inside the page (same origin, no session).
    const answers = await page.evaluate(async (device) => {
      const statuses = [];
      for (const path of [`/api/devices/${device}/readings`, `/api/readings/${device}/1/bundle`]) {
        const res = await fetch(path);
        statuses.push({ status: res.status, code: (await res.json()).error?.code });
      }
      return statuses;
    }, dev.a.address);
    assert.deepEqual(answers, [
      { status: 401, code: "UNAUTHORIZED" },
      { status: 401, code: "UNAUTHORIZED" },
    ]);
  });

  it("a wrong key is refused (UNAUTHORIZED, no cookie); the right key signs in with an HttpOnly SameSite=Strict cookie", async () => {
    await page.fill("#api-key", "ssk_wrong");
    await page.click('#sign-in button[type="submit"]');
    await page.waitForSelector('#session-message[data-code="UNAUTHORIZED"]');
    assert.equal(await page.getAttribute("body", "data-session"), "signed-out");
    assert.deepEqual(await context.cookies(web.url), []);
    assert.equal(await page.inputValue("#api-key"), "", "the key field is cleared");

    await page.fill("#api-key", stack.apiKey);
    await page.click('#sign-in button[type="submit"]');
    await page.waitForSelector('#session-message[data-code="SIGNED_IN"]');
    assert.equal(await page.getAttribute("body", "data-session"), "signed-in");
    const cookies = await context.cookies(web.url);
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.name, "sensorseal_session");
    assert.equal(cookies[0]!.httpOnly, true);
    assert.equal(cookies[0]!.sameSite, "Strict");
    assert.notEqual(cookies[0]!.value, stack.apiKey);
    assert.equal(await page.evaluate(() => document.cookie), "", "not readable by scripts");
    await page.waitForFunction((n) => document.querySelectorAll("#chart svg.chart circle.point").length === n, 6);
  });

  it("lists the devices with their registry status and shows what is not configured", async () => {
    const rows = await page.$$eval("#devices tr[data-device]", (trs) =>
      trs.map((tr) => ({
        device: (tr as HTMLElement).dataset.device,
        status: tr.querySelector("[data-status]")?.getAttribute("data-status"),
        scheme: tr.children[1].textContent,
      })),
    );
    assert.deepEqual(rows, [
      { device: dev.a.address, status: "active", scheme: "secp256k1" },
      { device: dev.b.address, status: "active", scheme: "p256" },
      { device: dev.c.address, status: "suspended", scheme: "secp256k1" },
    ]);
    assert.equal(await page.getAttribute('[data-service="audit chain"]', "data-state"), "ok");
    assert.equal(await page.getAttribute('[data-service="oracle"]', "data-state"), "off");
    assert.equal(await page.getAttribute('[data-service="reward chain"]', "data-state"), "off");
    assert.match((await page.textContent("#rewards")) ?? "", /oracle is not configured/);
  });

  it("draws the selected device's readings: one chart point per reading", async () => {
    assert.equal(await page.inputValue("#device"), dev.a.address);
    assert.equal(await page.inputValue("#field"), "temperature_c");
    assert.equal(await page.locator("#chart svg.chart circle.point").count(), 6);
    assert.equal(await page.getAttribute("#chart svg.chart", "data-points"), "6");
    assert.equal(await page.locator("#readings tr[data-seq]").count(), 6);
    // The tampered payload is what the platform serves: the chart shows 29.2 for #2.
    assert.match((await page.textContent('#readings tr[data-seq="2"] .values')) ?? "", /temperature 29\.2/);
  });

  it("lists the anchored batches with their anchoring transaction", async () => {
    const batches = await page.$$eval("#batches tr[data-batch]", (trs) =>
      trs.map((tr) => ({ id: Number((tr as HTMLElement).dataset.batch), tx: tr.querySelector("[data-tx]")?.getAttribute("data-tx") })),
    );
    assert.ok(batches.length >= 1);
    let leaves = 0;
    for (const b of batches) {
      const receipt = await stack.chain.publicClient.getTransactionReceipt({ hash: b.tx as Hex });
      assert.equal(receipt.status, "success");
      assert.equal(receipt.to?.toLowerCase(), stack.chain.anchor.toLowerCase());
      leaves += Number(await page.textContent(`#batches tr[data-batch="${b.id}"] td:nth-child(2)`));
    }
    assert.equal(leaves, 9);
    // This fixture submits nothing directly on-chain: the direct-submissions list says so (not "Loading…").
    assert.equal((await page.textContent("#submissions"))?.trim(), "No reading submitted directly on-chain.");
  });

  it("verify in the browser: VERIFIED for an anchored reading, TAMPERED for changed payload bytes", async () => {
    await page.click('#readings tr[data-seq="1"] button.verify');
    await page.waitForSelector('#readings tr[data-seq="1"] .verification[data-status="VERIFIED"]', { timeout: 30_000 });
    await page.click('#readings tr[data-seq="2"] button.verify');
    await page.waitForSelector('#readings tr[data-seq="2"] .verification[data-status="TAMPERED"]', { timeout: 30_000 });
    assert.match((await page.getAttribute('#readings tr[data-seq="2"] .verification', "title")) ?? "", /payloadHash/);
    await page.click('#readings tr[data-seq="3"] button.verify');
    await page.waitForSelector('#readings tr[data-seq="3"] .verification[data-status="VERIFIED"]', { timeout: 30_000 });
  });

  it("verify a P-256 device's reading in the browser (noble stand-in for OpenSSL's ECDH)", async () => {
    await page.selectOption("#device", dev.b.address);
    await page.waitForFunction((n) => document.querySelectorAll("#chart svg.chart circle.point").length === n, 3);
    await page.click('#readings tr[data-seq="2"] button.verify');
    await page.waitForSelector('#readings tr[data-seq="2"] .verification[data-status="VERIFIED"]', { timeout: 30_000 });
    await page.selectOption("#device", dev.a.address);
    await page.waitForFunction((n) => document.querySelectorAll("#chart svg.chart circle.point").length === n, 6);
    for (const seq of [1, 2]) await page.click(`#readings tr[data-seq="${seq}"] button.verify`);
    await page.waitForSelector('#readings tr[data-seq="2"] .verification[data-status="TAMPERED"]', { timeout: 30_000 });
    await page.waitForSelector('#readings tr[data-seq="1"] .verification[data-status="VERIFIED"]', { timeout: 30_000 });
  });

  it("sign-out: the values disappear and the raw-data routes answer 401 again", async () => {
    await page.click("#sign-out");
    await page.waitForSelector('#session-message[data-code="SIGNED_OUT"]');
    await page.waitForSelector('#readings [data-code="SIGNED_OUT"]');
    assert.equal(await page.locator("#readings tr[data-seq]").count(), 0);
    assert.equal(await page.locator("#chart svg").count(), 0);
    assert.deepEqual(await context.cookies(web.url), []);
    const status = await page.evaluate(async (device) => (await fetch(`/api/devices/${device}/readings`)).status, dev.a.address);
    assert.equal(status, 401);
    // Signed in again for the screenshot.
    await page.fill("#api-key", stack.apiKey);
    await page.click('#sign-in button[type="submit"]');
    await page.waitForFunction((n) => document.querySelectorAll("#chart svg.chart circle.point").length === n, 6);
  });

  it("takes a screenshot of the dashboard that is not blank", async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, "dashboard.png");
    await page.screenshot({ path: file, fullPage: true });
    const png = await readFile(file);
    const { width, height, raw } = decodePng(png);
    assert.equal(width, 1200);
    assert.ok(height >= 900, `height ${height}`);
    assert.ok(png.length > 20_000, `only ${png.length} bytes`);
    const distinct = new Set(raw).size;
    assert.ok(distinct > 50, `only ${distinct} distinct byte values: blank?`);
  });
});
