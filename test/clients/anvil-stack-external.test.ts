/**
 * `npm start` against external chains (scripts/lib/stack-external.ts): two anvil nodes, started
 * here as a Besu network would run (a block every second, nobody mining on request), given to the
 * stack as AUDIT_RPC_URL and REWARD_RPC_URL. The stack starts no chain of its own, deploys both
 * Ignition modules there, and runs until a reading is anchored and the verifier CLI finds its batch
 * VERIFIED; Ctrl-C stops it cleanly.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { AUDIT_CHAIN_ID, REWARD_CHAIN_ID } from "../../oracle/core/chains.js";
import { startAnvil, type AnvilNode } from "../../scripts/lib/anvil.js";
import { waitFor } from "../relayer/fixtures.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
// The stack's services listen on fixed ports: a random block per run (as test/stack/stack.test.ts).
const BASE = 20_000 + Math.floor(Math.random() * 20_000);
const PORTS = {
  PLATFORM_PORT: BASE + 2,
  RELAYER_PORT: BASE + 3,
  WEB_PORT: BASE + 4,
  AUDITOR_PORT: BASE + 5,
  MQTT_PORT: BASE + 6,
  ORACLE_BASE_PORT: BASE + 10,
};
const relayerUrl = `http://127.0.0.1:${PORTS.RELAYER_PORT}`;

async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const answer = await fetch(url);
    return answer.ok ? ((await answer.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: root, env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.once("exit", (code) => resolve({ code, out }));
  });
}

describe("npm start against external chains (two anvil nodes)", { timeout: 600_000 }, () => {
  let auditNode: AnvilNode;
  let rewardNode: AnvilNode;
  let dataDir: string;
  let stack: ChildProcess | undefined;
  let output = "";

  before(async () => {
    [auditNode, rewardNode, dataDir] = await Promise.all([
      startAnvil({ chainId: AUDIT_CHAIN_ID, blockTimeSeconds: 1 }),
      startAnvil({ chainId: REWARD_CHAIN_ID, blockTimeSeconds: 1 }),
      mkdtemp(path.join(tmpdir(), "sensorseal-external-")),
    ]);
  });
  after(async () => {
    if (stack !== undefined && stack.exitCode === null) stack.kill("SIGKILL");
    await Promise.all([auditNode?.stop(), rewardNode?.stop()]);
    await rm(dataDir, { recursive: true, force: true });
    // Ignition's journals of these two throw-away chains.
    for (const [, id] of output.matchAll(/deployed with Ignition \((external-[\w-]+)\)/g))
      await rm(path.join(root, "ignition/deployments", id), { recursive: true, force: true });
  });

  it("deploys with Ignition on both chains, anchors readings, the verifier finds the batch VERIFIED, Ctrl-C stops", async () => {
    const child = spawn(process.execPath, [path.join(root, "node_modules/hardhat/dist/src/cli.js"), "run", "scripts/stack.ts"], {
      cwd: root,
      env: {
        ...process.env,
        ...Object.fromEntries(Object.entries(PORTS).map(([k, v]) => [k, String(v)])),
        AUDIT_RPC_URL: auditNode.rpcUrl,
        REWARD_RPC_URL: rewardNode.rpcUrl,
        SENSORSEAL_DATA_DIR: dataDir,
        STACK_SPEEDUP: "120",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    stack = child;
    child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`the stack exited (${child.exitCode}):\n${output.slice(-4000)}`);
          const batch = await getJson<{ status: string; leafCount: number }>(`${relayerUrl}/v1/batches/1`);
          return batch?.status === "confirmed" ? batch : undefined;
        },
        "a confirmed batch on the external audit chain",
        300_000,
        1000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}; stack output:\n${output.slice(-4000)}`);
      });
      assert.match(output, new RegExp(`audit chain ${auditNode.rpcUrl} \\(external, chain 31337\\)`));
      assert.match(output, new RegExp(`reward chain ${rewardNode.rpcUrl} \\(external, chain 31338\\)`));
      assert.match(output, /audit chain deployed with Ignition \(external-audit-31337-/);
      assert.match(output, /reward chain deployed with Ignition \(external-reward-31338-/);

      const { consumerKey } = JSON.parse(await readFile(path.join(dataDir, "stack-secrets.json"), "utf8")) as { consumerKey: string };
      const verify = await run(["scripts/verify.ts", "batch", "1", "--json"], {
        AUDIT_RPC_URL: auditNode.rpcUrl,
        PLATFORM_URL: `http://127.0.0.1:${PORTS.PLATFORM_PORT}`,
        PLATFORM_API_KEY: consumerKey,
        RELAYER_URL: relayerUrl,
        SENSORSEAL_DATA_DIR: dataDir,
      });
      assert.equal(verify.code, 0, verify.out.slice(-3000));
    } finally {
      child.kill("SIGINT");
      assert.equal(await exited, 0, output.slice(-3000));
    }
    assert.match(output, /\[stack\] stopped/);
  });
});
