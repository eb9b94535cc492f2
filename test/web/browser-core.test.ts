/**
 * The core in the browser bundle agrees with the core in node: oracle/core/keys.ts (with the checks
 * of oracle/core/signature-verify.ts it re-exports) runs unchanged in Chromium with node:crypto's
 * ECDH replaced by a noble stand-in (oracle/web/browser/shims) and no native secp256k1; every signature verdict (valid, altered, high-s, wrong key, wrong length, both
 * schemes) and keccak256 must be the same on both sides.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it as test } from "node:test";

import { bytesToHex, randomBytes } from "../../oracle/core/bytes.js";
import { keccak256Hex } from "../../oracle/core/keccak.js";
import { generatePrivateKey, publicKeyFromPrivate, signDigest, verifyDeviceSignature, type KeyScheme } from "../../oracle/core/keys.js";
import { bundleBrowser } from "../../oracle/web/assets.js";
import { browserUnavailable, launchBrowser } from "./fixtures.js";

const skip = await browserUnavailable();
const title = skip === undefined ? "core in the browser bundle = core in node (Chromium)" : `core in the browser bundle SKIPPED: ${skip}`;
const it = (name: string, fn: () => Promise<void>) => test(name, { skip: skip ?? false }, fn);

const ORDERS: Record<KeyScheme, bigint> = {
  secp256k1: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  p256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
};

function cases() {
  const out: { scheme: KeyScheme; publicKey: `0x${string}`; digest: `0x${string}`; signature: `0x${string}` }[] = [];
  for (const scheme of ["secp256k1", "p256"] as const) {
    for (let i = 0; i < 12; i++) {
      const priv = generatePrivateKey(scheme);
      const pub = publicKeyFromPrivate(scheme, priv);
      const other = publicKeyFromPrivate(scheme, generatePrivateKey(scheme));
      const digest = randomBytes(32);
      const sig = signDigest(scheme, priv, digest);
      const altered = sig.slice();
      altered[5] ^= 1;
      const highS = sig.slice();
      const s = BigInt(bytesToHex(sig.subarray(32, 64)));
      highS.set(Buffer.from((ORDERS[scheme] - s).toString(16).padStart(64, "0"), "hex"), 32);
      if (scheme === "secp256k1") highS[64] = highS[64] === 27 ? 28 : 27;
      const c = (publicKey: Uint8Array, signature: Uint8Array, d = digest) => ({
        scheme,
        publicKey: bytesToHex(publicKey),
        digest: bytesToHex(d),
        signature: bytesToHex(signature),
      });
      out.push(c(pub, sig), c(pub, altered), c(pub, highS), c(other, sig), c(pub, sig.subarray(0, 63)), c(pub, sig, randomBytes(32)));
    }
  }
  return out;
}

describe(title, { timeout: 120_000 }, () => {
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let code: string;

  before(async () => {
    if (skip !== undefined) return;
    code = (await bundleBrowser({ core: path.join(import.meta.dirname, "browser-entry.ts") }, { minify: false })).get("core.js")!;
    browser = await launchBrowser();
  });
  after(async () => browser?.close());

  it("verifyDeviceSignature and keccak256 give the same answers", async () => {
    const page = await browser.context.newPage();
    await page.goto("about:blank");
    await page.addScriptTag({ content: code, type: "module" });
    await page.waitForFunction(() => (window as any).sensorsealCore !== undefined);
    const all = cases();
    const inNode = all.map((c) => verifyDeviceSignature(c));
    const inBrowser = await page.evaluate((cs) => (window as any).sensorsealCore.verify(cs), all);
    assert.deepEqual(inBrowser, inNode);
    // Each kind is represented: valid ones true, the rest false (per scheme: 1 true in 6).
    assert.equal(inNode.filter(Boolean).length, 24);
    const texts = ["", "abc", '{"v":1,"device":"0x00"}', "é✓"];
    assert.deepEqual(
      await page.evaluate((t) => (window as any).sensorsealCore.keccak(t), texts),
      texts.map((t) => keccak256Hex(new TextEncoder().encode(t))),
    );
    await page.close();
  });
});
