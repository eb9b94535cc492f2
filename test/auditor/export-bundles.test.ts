/**
 * Verifiable exports: the auditor's CSV / JSON Lines export of two devices and its evidence file
 * (`/v1/export/bundles`: one existing-format proof bundle per line), handed to a third party who runs
 * `scripts/verify.ts bundle check <bundles> --rpc <audit RPC> --export <file>` (a child process, no
 * platform, no relayer, no auditor). Everything checks; a changed value in the export, a row whose
 * bundle was left out, and a bundle whose payload was altered each fail it. Real stack and auditor.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import type { RunningAuditor } from "../../oracle/auditor/main.js";
import { parseBundle, bundleToJson } from "../../oracle/core/bundle.js";
import { startStackAuditor, waitVerdicts } from "./helpers.js";
import { chainTime, registeredDevice, startStack, type Stack, type TestDevice } from "../verifier/fixtures.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

function verifyCli(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "scripts/verify.ts"), ...args],
      { cwd: ROOT, timeout: 120_000, env: { ...process.env, PLATFORM_API_KEY: "" } },
      (error, stdout) => resolve({ code: error ? ((error as { code?: number }).code ?? 99) : 0, stdout }),
    );
  });
}

describe("auditor: exports a third party checks with only an RPC", { timeout: 300_000 }, () => {
  let stack: Stack;
  let auditor: RunningAuditor;
  const dev = {} as Record<"a" | "b", TestDevice>;
  let files: { csv: string; jsonl: string; bundles: string };
  let csv: string;
  let bundleLines: string[];

  before(async () => {
    stack = await startStack();
    dev.a = await registeredDevice(stack.chain, "secp256k1");
    dev.b = await registeredDevice(stack.chain, "p256");
    const t0 = await chainTime(stack.chain);
    for (let seq = 1; seq <= 3; seq++) await stack.send(dev.a, seq, t0 + seq * 10);
    for (let seq = 1; seq <= 2; seq++) await stack.send(dev.b, seq, t0 + seq * 10);
    await stack.waitAnchored(dev.a.address, [1, 2, 3]);
    await stack.waitAnchored(dev.b.address, [1, 2]);
    auditor = await startStackAuditor(stack);
    await waitVerdicts(stack, auditor, "5 VERIFIED verdicts", (v) => (v.VERIFIED ?? 0) === 5);
    const get = async (p: string) => {
      const res = await fetch(`${auditor.url}${p}`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
      assert.equal(res.status, 200, p);
      return res.text();
    };
    const q = `device=${dev.a.address},${dev.b.address}`;
    csv = await get(`/v1/export?format=csv&${q}`);
    const bundles = await get(`/v1/export/bundles?${q}`);
    files = {
      csv: path.join(stack.dir, "export.csv"),
      jsonl: path.join(stack.dir, "export.jsonl"),
      bundles: path.join(stack.dir, "bundles.jsonl"),
    };
    await writeFile(files.csv, csv);
    await writeFile(files.jsonl, await get(`/v1/export?format=jsonl&${q}`));
    await writeFile(files.bundles, bundles);
    bundleLines = bundles.trim().split("\n");
  });

  after(async () => {
    await auditor?.stop();
    await stack?.close();
  });

  it("answers one canonical bundle per exported row, in the existing bundle format", () => {
    assert.equal(csv.trim().split("\n").length, 1 + 5);
    assert.equal(bundleLines.length, 5);
    for (const line of bundleLines) assert.equal(bundleToJson(parseBundle(line)), line, "canonical, parses as a v1 proof bundle");
  });

  it("validates the bundles query like the export's (400 with a code, 401 without a key)", async () => {
    const get = (p: string, auth = true) =>
      fetch(`${auditor.url}${p}`, auth ? { headers: { authorization: `Bearer ${stack.apiKey}` } } : {});
    let res = await get("/v1/export/bundles?device=0x1234");
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "INVALID_ADDRESS");
    res = await get(`/v1/export/bundles?device=${dev.a.address}&from=20&to=10`);
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "INVALID_QUERY");
    res = await get(`/v1/export/bundles?device=${dev.a.address}&colour=red`);
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "INVALID_QUERY");
    res = await get(`/v1/export/bundles?device=${dev.a.address}`, false);
    assert.equal(res.status, 401);
  });

  it("bundle check passes with only the RPC, for the CSV and for the JSON Lines export", async () => {
    for (const exported of [files.csv, files.jsonl]) {
      const r = await verifyCli(["bundle", "check", files.bundles, "--rpc", stack.chain.rpcUrl, "--export", exported]);
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /5 bundle\(s\) VERIFIED, 0 failed, export rows all backed\nOK/);
    }
  });

  it("a changed value, a row without its bundle, and an altered payload each fail the check", async () => {
    // The export says humidity 41 where the device signed 40.
    const changed = csv.replace(/,40,/, ",41,");
    assert.notEqual(changed, csv);
    await writeFile(path.join(stack.dir, "changed.csv"), changed);
    let r = await verifyCli([
      "bundle",
      "check",
      files.bundles,
      "--rpc",
      stack.chain.rpcUrl,
      "--export",
      path.join(stack.dir, "changed.csv"),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /humidity_pct is 41 in the export, 40 in the signed payload/);

    await writeFile(path.join(stack.dir, "fewer.jsonl"), `${bundleLines.slice(1).join("\n")}\n`);
    r = await verifyCli(["bundle", "check", path.join(stack.dir, "fewer.jsonl"), "--rpc", stack.chain.rpcUrl, "--export", files.csv]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /no bundle for this row/);

    const bundle = JSON.parse(bundleLines[0]) as { payload: string };
    bundle.payload = bundle.payload.replace('"humidity_pct":40', '"humidity_pct":39');
    await writeFile(path.join(stack.dir, "altered.jsonl"), [JSON.stringify(bundle), ...bundleLines.slice(1)].join("\n"));
    r = await verifyCli(["bundle", "check", path.join(stack.dir, "altered.jsonl"), "--rpc", stack.chain.rpcUrl]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL {2}line 1: TAMPERED/);
  });
});
