/**
 * Bundles beside the batch proof (docs/TRUST-MODEL.md §11): a reading submitted directly on-chain
 * (`ReadingSubmitted`) and a CENSORED verdict's evidence (receipt + the relayer's registered receipt
 * signer + deadline) are exported and re-checked with only an RPC endpoint, by the library and the CLI.
 * Before: `bundle export` refused both (NOT_ANCHORED) — a direct submission or a censored reading had
 * no portable proof.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { createTestClient, createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { anyBundleToJson, parseAnyBundle, type AnyBundle } from "../../oracle/core/bundle.js";
import { ReceiptDigester, ReceiptRootDigester, receiptTree, signReceipt, signReceiptRoot } from "../../oracle/core/receipt.js";
import { readingToJson } from "../../oracle/core/reading.js";
import { checkAnyBundleOnChain, exportAnyBundle } from "../../oracle/verifier/evidence-bundle.js";
import { parseReceipts, Verifier } from "../../oracle/verifier/index.js";
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

describe("verifier: direct-submission and CENSORED bundles, checked offline", { timeout: 300_000 }, () => {
  let stack: Stack;
  let verifier: Verifier;
  let dev: TestDevice;
  let direct: SignedPayload;
  let directTx: `0x${string}`;
  let args: string[];
  const bundles = {} as Record<"direct" | "censored" | "censoredUnderRoot", AnyBundle>;

  before(async () => {
    stack = await startStack();
    const { chain } = stack;
    await stack.relayer.close();
    dev = await registeredDevice(chain, "secp256k1");
    await chain.mine(1, 5);
    const t0 = await chainTime(chain);
    // seq 1: submitted directly on-chain (the censorship escape), by someone else than the relayer.
    direct = stack.sign(dev, 1, t0);
    const wallet = createWalletClient({
      account: privateKeyToAccount(chain.keys.stranger),
      chain: rpcChain(chain.chainId, "audit", chain.rpcUrl),
      transport: http(chain.rpcUrl),
    });
    directTx = await wallet.writeContract({
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "submitReading",
      args: [direct.reading, direct.signature],
    });
    await chain.publicClient.waitForTransactionReceipt({ hash: directTx });
    // seq 2: receipted by the registered relayer key with a deadline 60 s ahead, never anchored.
    const censored = stack.sign(dev, 2, t0 + 1);
    const r = { device: dev.address, seq: 2n, dataHash: censored.reading.dataHash, deadline: BigInt(t0 + 60) };
    const signature = signReceipt(new ReceiptDigester(chain.chainId, chain.anchor), chain.keys.receipt, r);
    const receipts: unknown[] = [{ receipt: { ...r, seq: "2", deadline: String(r.deadline), signature } }];
    // seq 3 and 4: receipted under one root (a bulk's answer to Prefer: receipt=root), never anchored.
    const bulk = [3, 4].map((seq) => stack.sign(dev, seq, t0 + 1));
    const leaves = bulk.map((s) => ({ device: dev.address, seq: s.reading.seq, dataHash: s.reading.dataHash, deadline: BigInt(t0 + 60) }));
    const tree = receiptTree(leaves);
    const rootSignature = signReceiptRoot(new ReceiptRootDigester(chain.chainId, chain.anchor), chain.keys.receipt, {
      root: tree.root,
      count: 2,
    });
    const signer = privateKeyToAccount(chain.keys.receipt).address;
    receipts.push({
      receipt: { root: tree.root, count: 2, deadline: String(t0 + 60), signature: rootSignature, signer },
      readings: bulk.map((s) => ({ ...readingToJson(s.reading), signature: s.signature })),
    });
    await createTestClient({ mode: "hardhat", transport: http(chain.rpcUrl) }).increaseTime({ seconds: 120 });
    await chain.mine(1);
    stack.insertRaw(direct);
    stack.insertRaw(censored);
    for (const s of bulk) stack.insertRaw(s);
    const receiptsFile = path.join(stack.dir, "receipts.json");
    await writeFile(receiptsFile, JSON.stringify(receipts));
    const keyFile = path.join(stack.dir, "consumer.key");
    await writeFile(keyFile, `${stack.apiKey}\n`, { mode: 0o600 });
    const { startTestRelayer } = await import("../relayer/fixtures.js");
    stack.relayer = await startTestRelayer(chain, { databaseUrl: `${stack.dir}/relayer.sqlite`, start: false });
    stack.relayerUrl = stack.relayer.url;
    args = ["--rpc", chain.rpcUrl, "--anchor", chain.anchor, "--platform", stack.platformUrl, "--api-key-file", keyFile];
    args.push("--relayer", stack.relayerUrl, "--receipts", receiptsFile, "--quiet", "--threads", "1");
    verifier = await Verifier.create({
      rpc: chain.rpcUrl,
      anchor: chain.anchor,
      platform: { url: stack.platformUrl, apiKey: stack.apiKey },
      receipts: parseReceipts(receipts),
      threads: 1,
    });
    bundles.direct = (await exportAnyBundle(verifier, dev.address, 1)).bundle;
    bundles.censored = (await exportAnyBundle(verifier, dev.address, 2)).bundle;
    bundles.censoredUnderRoot = (await exportAnyBundle(verifier, dev.address, 3)).bundle;
  });

  after(async () => {
    await verifier?.close();
    await stack?.close();
  });

  it("a direct submission's bundle carries its ReadingSubmitted tx and checks VERIFIED with only the RPC", async () => {
    const b = parseAnyBundle(anyBundleToJson(bundles.direct));
    assert.ok("kind" in b && b.kind === "direct");
    assert.equal(b.tx, directTx);
    const verdict = await checkAnyBundleOnChain(b, stack.chain.rpcUrl);
    assert.equal(verdict.status, "VERIFIED", JSON.stringify(verdict.checks.filter((c) => !c.ok)));
    assert.ok(verdict.checks.some((c) => c.name === "submissionLog" && c.ok));
    const tampered = await checkAnyBundleOnChain({ ...b, payload: b.payload.replace(/.$/, " ") }, stack.chain.rpcUrl);
    assert.equal(tampered.status, "TAMPERED");
    const wrongTx = await checkAnyBundleOnChain({ ...b, logIndex: b.logIndex + 1 } as AnyBundle, stack.chain.rpcUrl);
    assert.equal(wrongTx.ok, false);
    assert.equal(wrongTx.status, "NOT_ANCHORED");
  });

  it("a CENSORED verdict exports as evidence (receipt, registered signer, deadline) that re-checks CENSORED", async () => {
    const b = parseAnyBundle(anyBundleToJson(bundles.censored));
    assert.ok("kind" in b && b.kind === "censored");
    assert.equal(b.registration.receiptSigner, privateKeyToAccount(stack.chain.keys.receipt).address);
    const verdict = await checkAnyBundleOnChain(b, stack.chain.rpcUrl);
    assert.equal(verdict.ok, true, JSON.stringify(verdict.checks.filter((c) => !c.ok)));
    assert.equal(verdict.status, "CENSORED");
    // A moved deadline breaks the receipt's signature: no longer evidence.
    const moved = await checkAnyBundleOnChain({ ...b, receipt: { ...b.receipt, deadline: b.receipt.deadline + 1n } }, stack.chain.rpcUrl);
    assert.equal(moved.ok, false);
    assert.equal(moved.checks.find((c) => c.name === "receiptSignature")?.ok, false);
  });

  it("a CENSORED verdict on a receipt under a root exports with its root, count and proof, and re-checks CENSORED", async () => {
    const b = parseAnyBundle(anyBundleToJson(bundles.censoredUnderRoot));
    assert.ok("kind" in b && b.kind === "censored");
    assert.equal(b.receipt.count, 2);
    assert.equal(b.receipt.proof?.length, 1);
    const verdict = await checkAnyBundleOnChain(b, stack.chain.rpcUrl);
    assert.equal(verdict.status, "CENSORED", JSON.stringify(verdict.checks.filter((c) => !c.ok)));
    // The root's signature without the proof, or with another leaf's, is no evidence.
    for (const receipt of [
      { deadline: b.receipt.deadline, signature: b.receipt.signature },
      { ...b.receipt, proof: [`0x${"00".repeat(32)}` as const] },
    ]) {
      const forged = await checkAnyBundleOnChain({ ...b, receipt }, stack.chain.rpcUrl);
      assert.equal(forged.checks.find((c) => c.name === "receiptSignature")?.ok, false);
      assert.equal(forged.ok, false);
    }
    assert.throws(() => parseAnyBundle(anyBundleToJson(b).replace(/"count":2/, '"count":0')), /receipt\.count/);
  });

  it("CLI: bundle export then bundle check for both kinds", async () => {
    for (const [seq, status] of [
      [1, "VERIFIED"],
      [2, "CENSORED"],
    ] as const) {
      const file = path.join(stack.dir, `seq${seq}.proof.json`);
      const out = await cli(["bundle", "export", dev.address, String(seq), "-o", file, ...args]);
      assert.equal(out.code, 0, out.stderr + out.stdout);
      const check = await cli(["bundle", "check", file, "--rpc", stack.chain.rpcUrl]);
      assert.equal(check.code, 0, check.stderr + check.stdout);
      assert.match(check.stdout, new RegExp(`${status}\\nOK`));
    }
  });
});
