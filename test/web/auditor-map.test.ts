/**
 * The dashboard's alert banner and air-quality map in headless Chromium, against a real stack (audit
 * chain, platform, relayer: test/verifier/fixtures.ts) and the real auditor service: two located
 * sensors, one with a tampered payload. Anonymous visitors see the alert count only; a signed-in
 * consumer sees the TAMPERED alert, each sensor at its coordinates coloured by its AQI (HJ 633 or
 * US EPA), the tampered device ringed as unhealthy, and the grid cells. A screenshot is saved under
 * test/web/screenshots/ and checked not to be blank.
 */
import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it as test } from "node:test";

import type { Page } from "playwright-core";

import type { RunningAuditor } from "../../oracle/auditor/main.js";
import { startStackAuditor, waitVerdicts } from "../auditor/helpers.js";
import { chainTime, registeredDevice, startStack, waitFor, type Stack, type TestDevice } from "../verifier/fixtures.js";
import { browserUnavailable, launchBrowser, startWeb } from "./fixtures.js";

const skip = await browserUnavailable();
const title =
  skip === undefined ? "dashboard: auditor alert banner and AQI map (Chromium, real stack and auditor)" : `auditor map SKIPPED: ${skip}`;
const it = (name: string, fn: () => Promise<void>) => test(name, { skip: skip ?? false }, fn);

const SCREENSHOTS = path.resolve(import.meta.dirname, "screenshots");
const A_LOC = { lat: 57.145, lon: -2.105 };
const B_LOC = { lat: 57.162, lon: -2.081 };

describe(title, { timeout: 300_000 }, () => {
  let stack: Stack;
  let auditor: RunningAuditor;
  let web: Awaited<ReturnType<typeof startWeb>>;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let page: Page;
  const dev = {} as Record<"a" | "b", TestDevice>;

  /** Sends a located reading to the platform and the relayer, as a device does. */
  const sendLocated = async (device: TestDevice, seq: number, ts: number, extra: Record<string, unknown>) => {
    const s = stack.sign(device, seq, ts, extra);
    assert.equal(await stack.sendPlatform(s), 201);
    const res = await fetch(`${stack.relayerUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        device: device.address,
        seq: String(seq),
        timestamp: String(ts),
        dataHash: s.reading.dataHash,
        signature: s.signature,
      }),
    });
    assert.equal(res.status, 202);
  };

  before(async () => {
    if (skip !== undefined) return;
    stack = await startStack();
    dev.a = await registeredDevice(stack.chain, "secp256k1");
    dev.b = await registeredDevice(stack.chain, "p256");
    const t0 = await chainTime(stack.chain);
    // a: PM2.5 8.5 µg/m³ (HJ 633 IAQI 13, US AQI 47: both "good"); b: PM2.5 80 (HJ 633 107, US 168).
    for (let seq = 1; seq <= 3; seq++) await sendLocated(dev.a, seq, t0 + seq * 10, { loc: A_LOC });
    for (let seq = 1; seq <= 3; seq++) await sendLocated(dev.b, seq, t0 + seq * 10, { loc: B_LOC, pm2_5_ugm3: 80, pm10_ugm3: 90 });
    await stack.waitAnchored(dev.a.address, [1, 2, 3]);
    await stack.waitAnchored(dev.b.address, [1, 2, 3]);
    // Change bytes of a's stored payload #2 in the platform's SQLite file: the auditor finds TAMPERED.
    const db = stack.platformDb();
    const row = db.prepare("SELECT payload FROM readings WHERE device = ? AND seq = 2").get(dev.a.address.toLowerCase()) as {
      payload: Buffer;
    };
    const text = row.payload.toString("utf8").replace('"humidity_pct":40', '"humidity_pct":41');
    assert.notEqual(text, row.payload.toString("utf8"));
    db.prepare("UPDATE readings SET payload = ? WHERE device = ? AND seq = 2").run(Buffer.from(text), dev.a.address.toLowerCase());
    db.close();

    auditor = await startStackAuditor(stack, { silenceSeconds: 600 });
    await waitVerdicts(
      stack,
      auditor,
      "the auditor's verdicts (5 VERIFIED, 1 TAMPERED)",
      (v) => (v.VERIFIED ?? 0) === 5 && (v.TAMPERED ?? 0) === 1,
    );
    web = await startWeb({
      audit: {
        rpcUrl: stack.chain.rpcUrl,
        anchor: stack.chain.anchor,
        registry: stack.chain.registry,
        deployBlock: 0,
        registryPollMs: 200,
      },
      platform: { url: stack.platformUrl },
      auditor: { url: auditor.url },
    });
    browser = await launchBrowser();
    page = await browser.context.newPage();
    await page.goto(web.url);
    await page.waitForSelector("body[data-ready]", { timeout: 30_000 });
  });

  after(async () => {
    await browser?.close();
    await web?.close();
    await auditor?.stop();
    await stack?.close().catch(() => undefined);
  });

  it("anonymous: the banner shows the alert count only, the map asks to sign in, and the routes answer 401", async () => {
    await page.waitForSelector('#alert-banner[data-alerts="1"]');
    assert.equal(await page.isVisible("#alert-banner"), true);
    assert.match((await page.textContent("#alert-banner")) ?? "", /1 auditor alert — sign in/);
    assert.equal(await page.locator("#alert-banner li").count(), 0);
    await page.waitForSelector('#aqi-map [data-code="SIGNED_OUT"]');
    const statuses = await page.evaluate(async () =>
      Promise.all(["/api/auditor/alerts", "/api/auditor/map"].map(async (p) => (await fetch(p)).status)),
    );
    assert.deepEqual(statuses, [401, 401]);
  });

  it("signed in: the TAMPERED alert in the banner; the sensors at their coordinates, coloured by AQI, the tampered one ringed", async () => {
    await page.fill("#api-key", stack.apiKey);
    await page.click('#sign-in button[type="submit"]');
    await page.waitForSelector('#alert-banner li[data-kind="TAMPERED"]');
    assert.match((await page.textContent('#alert-banner li[data-kind="TAMPERED"]')) ?? "", new RegExp(`#2`));
    await page.waitForSelector("#aqi-map svg.aqi-map circle.device");
    const circles = await page.$$eval("#aqi-map circle.device", (cs) =>
      cs.map((c) => ({
        device: c.getAttribute("data-device"),
        health: c.getAttribute("data-health"),
        aqi: Number(c.getAttribute("data-aqi")),
        fill: c.getAttribute("fill"),
        x: Number(c.getAttribute("cx")),
        y: Number(c.getAttribute("cy")),
      })),
    );
    const a = circles.find((c) => c.device === dev.a.address)!;
    const b = circles.find((c) => c.device === dev.b.address)!;
    assert.equal(circles.length, 2);
    assert.deepEqual([a.health, b.health], ["problems", "ok"]);
    // HJ 633-2012: PM2.5 8.5 → IAQI 13 (band 0–50, green); PM2.5 80 → 107 (band 101–150, orange; PM10 90 → 70).
    assert.deepEqual([a.aqi, a.fill], [13, "#00e400"]);
    assert.deepEqual([b.aqi, b.fill], [107, "#ff7e00"]);
    // North is up, east is right: b is north-east of a.
    assert.ok(b.x > a.x && b.y < a.y, JSON.stringify({ a, b }));
    // Grid cells of 0.01°: a and b fall in different cells, each with its latest hourly aggregate.
    assert.equal(await page.locator("#aqi-map rect.cell").count(), 2);

    await page.selectOption("#aqi-standard", "us");
    await page.waitForFunction(
      (d) => document.querySelector(`#aqi-map circle[data-device="${d}"]`)?.getAttribute("data-aqi") === "168",
      dev.b.address,
    );
    assert.equal(await page.getAttribute(`#aqi-map circle[data-device="${dev.b.address}"]`, "fill"), "#ff0000");
  });

  it("takes a screenshot of the map and banner that is not blank", async () => {
    await mkdir(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, "auditor-map.png");
    const map = page.locator("#aqi-map");
    await map.scrollIntoViewIfNeeded();
    await map.screenshot({ path: file });
    const png = await readFile(file);
    assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
    assert.ok(png.readUInt32BE(16) > 300 && png.readUInt32BE(20) > 150, "a map-sized image");
    // Decoded pixels: more than the background and a few colours (the cells, the sensors, the legend).
    const { inflateSync } = await import("node:zlib");
    const idat: Buffer[] = [];
    for (let off = 8; off < png.length;) {
      const len = png.readUInt32BE(off);
      if (png.subarray(off + 4, off + 8).toString("latin1") === "IDAT") idat.push(png.subarray(off + 8, off + 8 + len));
      off += 12 + len;
    }
    const distinct = new Set(inflateSync(Buffer.concat(idat))).size;
    assert.ok(distinct > 30, `only ${distinct} distinct byte values: blank?`);
    await page.screenshot({ path: path.join(SCREENSHOTS, "dashboard-auditor.png"), fullPage: true });
  });

  it("a sensor that stops reporting is flagged after the configured silence (DEVICE_SILENT, 600 s here)", async () => {
    const silent = async () => {
      const res = await fetch(`${auditor.url}/v1/alerts`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
      const { alerts } = (await res.json()) as { alerts: { kind: string; device: string }[] };
      return alerts.filter((a) => a.kind === "DEVICE_SILENT").map((a) => a.device.toLowerCase());
    };
    assert.deepEqual(await silent(), [], "not silent yet");
    await stack.chain.mine(3, 400); // 1,200 s of chain time without a reading
    await waitFor(async () => (await silent()).length === 2, "DEVICE_SILENT for both sensors", 60_000, 100);
    assert.deepEqual((await silent()).sort(), [dev.a.address.toLowerCase(), dev.b.address.toLowerCase()].sort());
  });
});
