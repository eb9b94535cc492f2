/**
 * The packages as a library user gets them: build @sensorseal/core, /device and /verifier, `npm pack`
 * each, install the tarballs into a fresh project outside the repository (offline: registry
 * dependencies come from the npm cache, see offline-project.ts), and run the README's plain-JS
 * examples (docs/examples) with the system's Node — no tsx, no repository sources — against a real
 * chain, platform and relayer: register and send (device-send.mjs), then verify (verify.mjs).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { isDeepStrictEqual, promisify } from "node:util";

import type { Address } from "viem";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { generateApiKey } from "../../oracle/platform/auth.js";
import { Verifier } from "../../oracle/verifier/verifier.js";
import { buildPackages, PACKAGES, REPO_ROOT } from "../../scripts/lib/package-build.js";
import { startRealServices, type RealServices } from "../device/real-services.js";
import { installOffline, npmPack, type PackedPackage } from "./offline-project.js";

const run = promisify(execFile);

/**
 * The first `node` on PATH that is not the repository's own (the `node` devDependency) and is a
 * Node the packages support (≥ 20.11), else this one.
 */
async function systemNode(): Promise<string> {
  const ours = realpathSync(path.join(REPO_ROOT, "node_modules"));
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "" || !existsSync(dir) || realpathSync(dir).startsWith(ours)) continue;
    const candidate = path.join(dir, "node");
    const version = await run(candidate, ["--version"]).then(
      (r) => r.stdout.trim(),
      () => undefined,
    );
    if (version === undefined) continue;
    const [major = 0, minor = 0] = version.slice(1).split(".").map(Number);
    if (major > 20 || (major === 20 && minor >= 11)) return candidate;
  }
  return process.execPath;
}

/** Runs a script of the temp project with `node` and `env`, answering the JSON of its last stdout line. */
async function runScript(node: string, cwd: string, script: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  const { stdout } = await run(node, [script], { cwd, env: { ...process.env, NODE_OPTIONS: "", ...env }, timeout: 180_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

describe("packages: npm pack → fresh project → sign, send, verify with the system's Node", () => {
  let project: string;
  let services: RealServices;
  let packed: PackedPackage[];
  const { key: apiKey, entry } = generateApiKey("pack-check", "consumer");

  before(async () => {
    project = mkdtempSync(path.join(tmpdir(), "sensorseal-pack-check-"));
    buildPackages();
    packed = [];
    for (const pkg of PACKAGES) packed.push(await npmPack(path.join(REPO_ROOT, "oracle", pkg), project));
    await installOffline(project, packed, path.join(REPO_ROOT, "package-lock.json"));
    for (const example of ["device-send.mjs", "verify.mjs"])
      copyFileSync(path.join(REPO_ROOT, "docs", "examples", example), path.join(project, example));
    services = await startRealServices("sensorseal-pack-services-", { apiKeys: [entry] });
  });

  after(async () => {
    await services?.close();
    if (project !== undefined) rmSync(project, { recursive: true, force: true });
  });

  it("each tarball ships its dist (JavaScript and declarations) and no TypeScript source", async () => {
    for (const p of packed) {
      const { stdout } = await run("tar", ["-tzf", p.tarball]);
      const files = stdout.trim().split("\n");
      assert.ok(files.includes("package/README.md"), `${p.name} README`);
      assert.ok(files.some((f) => f.endsWith("/index.js")) && files.some((f) => f.endsWith("/index.d.ts")), `${p.name} entry`);
      assert.deepEqual(
        files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
        [],
        `${p.name} ships sources`,
      );
    }
  });

  it("a device registers, signs and sends; a verifier checks every reading and a bundle", async () => {
    const { chain, platformServer, relayer } = services;
    const node = await systemNode();
    const env = {
      RPC_URL: chain.rpcUrl,
      REGISTRY: chain.registry,
      ANCHOR: chain.anchor,
      CHAIN_ID: String(chain.chainId),
      REGISTRAR_PRIVATE_KEY: chain.keys.registrar,
      PLATFORM_URL: platformServer.url,
      RELAYER_URL: relayer.url,
      PLATFORM_API_KEY: apiKey,
      DATA_DIR: project,
    };
    const sent = await runScript(node, project, "device-send.mjs", env);
    const [major, minor] = String(sent.node).slice(1).split(".").map(Number) as [number, number];
    assert.equal(sent.storage, major > 22 || (major === 22 && minor >= 13) ? "node:sqlite" : "journal");
    assert.deepEqual(sent.seqs, [1, 2, 3]);
    assert.deepEqual(sent.counts, {
      platform: { pending: 0, delivered: 3, rejected: 0 },
      relayer: { pending: 0, delivered: 3, rejected: 0 },
    });
    const backlog = sent.backlog as { pending: unknown; drainSeconds: number; quotaPerMinute: number };
    assert.deepEqual([backlog.pending, backlog.drainSeconds, backlog.quotaPerMinute], [{ platform: 0, relayer: 0 }, 0, 120]);

    // The relayer anchors by age: wait until its BatchAnchored events count all three.
    const anchoredLeaves = async () => {
      const logs = await chain.publicClient.getContractEvents({
        address: chain.anchor,
        abi: readingAnchorAbi,
        eventName: "BatchAnchored",
        fromBlock: 0n,
      });
      return logs.reduce((sum, log) => sum + Number(log.args.leafCount ?? 0), 0);
    };
    const until = Date.now() + 60_000;
    while ((await anchoredLeaves()) < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));

    const verified = await runScript(node, project, "verify.mjs", { ...env, DEVICE: String(sent.device) });
    const expected = { node: sent.node, statuses: ["VERIFIED", "VERIFIED", "VERIFIED"], bundleVerdict: "VERIFIED", no2: 21.4 };
    if (!isDeepStrictEqual(verified, expected)) {
      // Say why, from the repository's own verifier and the two clocks the time rule compares.
      const verifier = await Verifier.create({
        rpc: chain.rpcUrl,
        anchor: chain.anchor,
        platform: { url: platformServer.url, apiKey },
        threads: 1,
      });
      const problems = await Promise.all(
        [1, 2, 3].map(async (seq) => (await verifier.verifyReading(sent.device as Address, seq)).problems),
      );
      await verifier.close();
      const chainTime = (await chain.publicClient.getBlock()).timestamp;
      console.error(
        "pack-install diagnosis",
        JSON.stringify({ problems, chainTime: String(chainTime), wallClock: Math.floor(Date.now() / 1000) }),
      );
    }
    assert.deepEqual(verified, expected);
  });

  it("the installed packages also load on this Node (the repository's), with the node:sqlite outbox", async () => {
    const script = [
      'import * as core from "@sensorseal/core";',
      'import { Outbox, createChainRegistrar } from "@sensorseal/device";',
      'import { Verifier } from "@sensorseal/verifier";',
      'import { checkAnyBundleOnChain } from "@sensorseal/verifier/browser";',
      'const outbox = Outbox.open("outbox-here/outbox");',
      "console.log(JSON.stringify({ storage: outbox.storage, keccak: core.keccak256Hex !== undefined,",
      "  names: [typeof createChainRegistrar, typeof Verifier, typeof checkAnyBundleOnChain] }));",
      "outbox.close();",
    ].join("\n");
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: project });
    const out = JSON.parse(stdout.trim()) as { storage: string; names: string[] };
    assert.equal(out.storage, "node:sqlite");
    assert.deepEqual(out.names, ["function", "function", "function"]);
  });
});
