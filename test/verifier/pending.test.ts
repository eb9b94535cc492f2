/**
 * Honest time status (issue 15, in the verifier): a reading the platform has but nothing anchored yet
 * is PENDING while it can still be anchored in time — until its relayer receipt's deadline, or its time
 * + maxAnchorDelay without a receipt — and the report stays ok (CLI exit 0, "OK, n PENDING"). Once the
 * window is past it is NOT_ANCHORED (or CENSORED with a binding receipt) and the CLI exits 1.
 * Before: every in-flight reading was NOT_ANCHORED and `verify all` right after start exited 1.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { createTestClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { ReceiptDigester, signReceipt } from "../../oracle/core/receipt.js";
import { parseReceipts, Verifier, type Report } from "../../oracle/verifier/index.js";
import { chainTime, registeredDevice, startStack, type SignedPayload, type Stack, type TestDevice } from "./fixtures.js";

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

describe("verifier: readings in flight are PENDING, not failures", { timeout: 300_000 }, () => {
  let stack: Stack;
  let dev: TestDevice;
  const sent: SignedPayload[] = [];
  let args: string[];
  let receiptsFile: string;
  let mirror: Uint8Array;

  const verifyAll = async (): Promise<Report> => {
    const verifier = await Verifier.create({
      rpc: stack.chain.rpcUrl,
      anchor: stack.chain.anchor,
      platform: { url: stack.platformUrl, apiKey: stack.apiKey },
      manifests: [mirror],
      receipts: parseReceipts(JSON.parse(await readFile(receiptsFile, "utf8"))),
      threads: 1,
    });
    try {
      return await verifier.verifyAll();
    } finally {
      await verifier.close();
    }
  };
  const statuses = (report: Report) => Object.fromEntries(report.readings.map((r) => [r.seq, r.status]));

  before(async () => {
    stack = await startStack();
    const { chain } = stack;
    // Only direct anchoring from here: the relayer's worker must not anchor the in-flight readings.
    await stack.relayer.close();
    dev = await registeredDevice(chain, "secp256k1");
    await chain.mine(1, 5);
    const t0 = await chainTime(chain);
    for (const seq of [1, 2, 3]) sent.push(stack.sign(dev, seq, t0 + seq));
    for (const s of sent) stack.insertRaw(s);
    const direct = await stack.anchorDirect([sent[0]]); // seq 1 anchored; 2 and 3 in flight
    mirror = direct.batch.manifestBytes;
    // The relayer's read API answers the CLI's hints: restart it on the same store, idle (no worker).
    const { startTestRelayer } = await import("../relayer/fixtures.js");
    stack.relayer = await startTestRelayer(chain, { databaseUrl: `${stack.dir}/relayer.sqlite`, start: false });
    stack.relayerUrl = stack.relayer.url;
    // seq 3 holds a receipt of the registered relayer key with a deadline 600 s ahead.
    const r = { device: dev.address, seq: 3n, dataHash: sent[2].reading.dataHash, deadline: BigInt(t0 + 600) };
    const signature = signReceipt(new ReceiptDigester(chain.chainId, chain.anchor), chain.keys.receipt, r);
    receiptsFile = path.join(stack.dir, "receipts.json");
    await writeFile(
      receiptsFile,
      JSON.stringify([
        { receipt: { ...r, seq: "3", deadline: String(r.deadline), signature, signer: privateKeyToAccount(chain.keys.receipt).address } },
      ]),
    );
    const keyFile = path.join(stack.dir, "consumer.key");
    await writeFile(keyFile, `${stack.apiKey}\n`, { mode: 0o600 });
    const manifest = path.join(stack.dir, "manifest.json");
    await writeFile(manifest, direct.batch.manifestBytes);
    args = ["--rpc", chain.rpcUrl, "--anchor", chain.anchor, "--platform", stack.platformUrl, "--api-key-file", keyFile];
    args.push("--relayer", stack.relayerUrl, "--manifest", manifest, "--receipts", receiptsFile, "--quiet", "--threads", "1");
  });

  after(async () => {
    await stack?.close();
  });

  it("right after sending: the unanchored readings are PENDING and the report is ok", async () => {
    const report = await verifyAll();
    assert.deepEqual(statuses(report), { 1: "VERIFIED", 2: "PENDING", 3: "PENDING" });
    assert.equal(report.ok, true);
    assert.equal(report.pending, 2);
    const [two, three] = [report.readings[1], report.readings[2]];
    assert.equal(two.problems[0].details?.by, "maxAnchorDelay");
    assert.equal(two.problems[0].details?.until, Number(sent[1].reading.timestamp) + 86_400);
    assert.equal(three.problems[0].details?.by, "receipt");
    assert.equal(three.problems[0].details?.until, Number(sent[2].reading.timestamp) - 3 + 600);
  });

  it("CLI: `all` exits 0 and says how many are PENDING", async () => {
    const all = await cli(["all", ...args]);
    assert.equal(all.code, 0, all.stderr + all.stdout);
    assert.match(all.stdout, /3 readings: VERIFIED 1, PENDING 2/);
    assert.match(all.stdout, /OK, 2 PENDING/);
    const one = await cli(["reading", dev.address, "2", ...args]);
    assert.equal(one.code, 0, one.stderr + one.stdout);
    assert.match(one.stdout, /PENDING/);
  });

  it("past the receipt's deadline: CENSORED (exit 1); past time + maxAnchorDelay: NOT_ANCHORED", async () => {
    const test = createTestClient({ mode: "hardhat", transport: http(stack.chain.rpcUrl) });
    await test.increaseTime({ seconds: 700 });
    await stack.chain.mine(1);
    let report = await verifyAll();
    assert.deepEqual(statuses(report), { 1: "VERIFIED", 2: "PENDING", 3: "CENSORED" });
    assert.equal(report.ok, false);
    const all = await cli(["all", ...args]);
    assert.equal(all.code, 1, all.stderr + all.stdout);
    assert.match(all.stdout, /FAILED/);
    await test.increaseTime({ seconds: 90_000 });
    await stack.chain.mine(1);
    report = await verifyAll();
    assert.deepEqual(statuses(report), { 1: "VERIFIED", 2: "NOT_ANCHORED", 3: "CENSORED" });
    assert.equal(report.pending, 0);
  });
});
