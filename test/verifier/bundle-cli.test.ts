/**
 * Proof bundles (export from platform + relayer + chain, check with only an RPC endpoint) and the
 * CLI (scripts/verify.ts run as a child process) on a real stack.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { bundleToJson, parseBundle, type ProofBundle } from "../../oracle/core/bundle.js";
import { checkBundleOnChain, exportBundle } from "../../oracle/verifier/bundle.js";
import { Verifier } from "../../oracle/verifier/verifier.js";
import { chainTime, registeredDevice, startStack, type Stack, type TestDevice } from "./fixtures.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "scripts/verify.ts"), ...args],
      { cwd: ROOT, timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 99) : 0, stdout, stderr }),
    );
  });
}

describe("verifier: proof bundles and CLI", { timeout: 300_000 }, () => {
  let stack: Stack;
  let a: TestDevice;
  let b: TestDevice;
  let verifier: Verifier;
  let bundle: ProofBundle;
  let common: string[];

  before(async () => {
    stack = await startStack();
    a = await registeredDevice(stack.chain, "secp256k1");
    b = await registeredDevice(stack.chain, "p256");
    const t0 = await chainTime(stack.chain);
    for (const seq of [1, 2, 3]) {
      await stack.send(a, seq, t0 + seq);
      await stack.send(b, seq, t0 + seq);
    }
    await stack.waitAnchored(a.address, [1, 2, 3]);
    await stack.waitAnchored(b.address, [1, 2, 3]);
    verifier = await Verifier.create({
      rpc: stack.chain.rpcUrl,
      anchor: stack.chain.anchor,
      platform: { url: stack.platformUrl, apiKey: stack.apiKey },
      relayer: stack.relayerUrl,
    });
    ({ bundle } = await exportBundle(verifier, b.address, 2));
    // The key from a file: a key on the command line would show in process listings (issue 11, item 10).
    const keyFile = path.join(stack.dir, "consumer.key");
    await writeFile(keyFile, `${stack.apiKey}\n`, { mode: 0o600 });
    common = [
      "--rpc",
      stack.chain.rpcUrl,
      "--anchor",
      stack.chain.anchor,
      "--platform",
      stack.platformUrl,
      "--api-key-file",
      keyFile,
      "--relayer",
      stack.relayerUrl,
      "--quiet",
    ];
  });

  after(async () => {
    await verifier?.close();
    await stack?.close();
  });

  it("round trip: an exported bundle parses back identically and checks VERIFIED with only the RPC", async () => {
    const text = bundleToJson(bundle);
    assert.equal(bundleToJson(parseBundle(text)), text);
    const verdict = await checkBundleOnChain(parseBundle(text), stack.chain.rpcUrl);
    assert.equal(verdict.status, "VERIFIED", JSON.stringify(verdict.checks.filter((c) => !c.ok)));
    assert.ok(verdict.checks.some((c) => c.name === "verifyReading" && c.ok));
    assert.ok(verdict.checks.some((c) => c.name === "anchoringTx" && c.ok));
  });

  it("a flipped byte in the payload is TAMPERED", async () => {
    const payload = bundle.payload.replace('"humidity_pct":40', '"humidity_pct":41');
    assert.notEqual(payload, bundle.payload);
    const verdict = await checkBundleOnChain({ ...bundle, payload }, stack.chain.rpcUrl);
    assert.equal(verdict.status, "TAMPERED");
    assert.equal(verdict.ok, false);
  });

  it("a flipped byte in the signature is BAD_SIGNATURE (also by the chain's verifyReading)", async () => {
    const sig = bundle.signature;
    const flipped = `${sig.slice(0, 10)}${sig[10] === "0" ? "1" : "0"}${sig.slice(11)}` as const;
    const verdict = await checkBundleOnChain({ ...bundle, signature: flipped as `0x${string}` }, stack.chain.rpcUrl);
    assert.equal(verdict.status, "BAD_SIGNATURE");
    assert.equal(verdict.checks.find((c) => c.name === "verifyReading")?.ok, false);
  });

  it("a flipped byte in the root or the proof is NOT_ANCHORED", async () => {
    const root = `${bundle.root.slice(0, 20)}${bundle.root[20] === "a" ? "b" : "a"}${bundle.root.slice(21)}` as `0x${string}`;
    assert.equal((await checkBundleOnChain({ ...bundle, root }, stack.chain.rpcUrl)).status, "NOT_ANCHORED");
    if (bundle.proof.length > 0) {
      const p = bundle.proof[0];
      const proof = [`${p.slice(0, 5)}${p[5] === "f" ? "e" : "f"}${p.slice(6)}` as `0x${string}`, ...bundle.proof.slice(1)];
      assert.equal((await checkBundleOnChain({ ...bundle, proof }, stack.chain.rpcUrl)).status, "NOT_ANCHORED");
    }
  });

  it("CLI: reading, device, all and batch exit 0 on an honest stack, with a table or --json", async () => {
    const one = await cli(["reading", a.address, "2", ...common]);
    assert.equal(one.code, 0, one.stderr + one.stdout);
    assert.match(one.stdout, /VERIFIED/);
    const dev = await cli(["device", b.address, "--json", ...common]);
    assert.equal(dev.code, 0, dev.stderr);
    const report = JSON.parse(dev.stdout);
    assert.equal(report.ok, true);
    assert.equal(report.counts.VERIFIED, 3);
    const all = await cli(["all", ...common]);
    assert.equal(all.code, 0, all.stderr + all.stdout);
    assert.match(all.stdout, /6 readings: VERIFIED 6/);
    const batch = await cli(["batch", String(bundle.batchId), "--json", ...common]);
    assert.equal(batch.code, 0, batch.stderr);
    assert.equal(JSON.parse(batch.stdout).ok, true);
  });

  it("CLI: bundle export -o then bundle check --rpc; a flipped byte → exit 1 with its status", async () => {
    const file = path.join(stack.dir, "a3.proof.json");
    const exported = await cli(["bundle", "export", a.address, "3", "-o", file, ...common]);
    assert.equal(exported.code, 0, exported.stderr);
    const good = await cli(["bundle", "check", file, "--rpc", stack.chain.rpcUrl]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /VERIFIED\nOK/);
    const text = await readFile(file, "utf8");
    const bad = path.join(stack.dir, "a3.bad.json");
    await writeFile(bad, text.replace('\\"pm10_ugm3\\":12', '\\"pm10_ugm3\\":13'));
    assert.notEqual(await readFile(bad, "utf8"), text);
    const failed = await cli(["bundle", "check", bad, "--rpc", stack.chain.rpcUrl, "--json"]);
    assert.equal(failed.code, 1);
    assert.equal(JSON.parse(failed.stdout).status, "TAMPERED");
  });

  it("CLI: a tampered payload makes `reading` exit 1 with TAMPERED", async () => {
    const db = stack.platformDb();
    const row = db.prepare("SELECT payload FROM readings WHERE device = ? AND seq = 1").get(a.address.toLowerCase()) as { payload: Buffer };
    db.prepare("UPDATE readings SET payload = ? WHERE device = ? AND seq = 1").run(
      Buffer.from(row.payload.toString().replace('"pm10_ugm3":12', '"pm10_ugm3":11')),
      a.address.toLowerCase(),
    );
    db.close();
    const r = await cli(["reading", a.address, "1", "--json", ...common]);
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).status, "TAMPERED");
  });

  it("CLI: bad arguments exit 2, unreachable services exit 3, with a clear message", async () => {
    const bad = await cli(["reading", "0x1234", "1", ...common]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /device must be an address/);
    assert.equal((await cli(["frobnicate"])).code, 2);
    const keyOnCommandLine = await cli(["reading", a.address, "1", "--api-key", stack.apiKey, ...common]);
    assert.equal(keyOnCommandLine.code, 2);
    assert.match(keyOnCommandLine.stderr, /--api-key is not accepted: a key on the command line shows in process listings/);
    assert.equal((await cli(["bundle", "check", "x.json"])).code, 2);
    const down = await cli(["batch", "1", "--rpc", "http://127.0.0.1:9", "--anchor", stack.chain.anchor, "--quiet"]);
    assert.equal(down.code, 3);
    assert.match(down.stderr, /unreachable/);
    const noPlatform = await cli(["reading", a.address, "2", ...common.map((x) => (x === stack.platformUrl ? "http://127.0.0.1:9" : x))]);
    assert.equal(noPlatform.code, 3);
    assert.match(noPlatform.stderr, /platform unreachable/);
  });
});
