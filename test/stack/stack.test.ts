/**
 * The main job, as a user runs it: `npm start` (scripts/stack.ts) on its own ports and data folder.
 * Readings of the replayed real data end up anchored, the verifier CLI finds them all VERIFIED, the
 * oracle committee posts a reward root, Ctrl-C stops everything cleanly, and a second start
 * resumes from the same data folder. Every simulated device came through provisioning (issue 14):
 * registered by attestation of the stack's issuer, its key in the key store the banner names.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

import { createPublicClient, http, parseEventLogs } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { deviceRegistryAbi } from "../../oracle/chain/abis.js";
import { readAuditDeployment } from "../../oracle/chain/deployments.js";
import { DEV_KEYS } from "../../scripts/lib/dev-keys.js";
import { softHsmAvailable } from "../device/softhsm.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const BASE = 20_000 + Math.floor(Math.random() * 20_000);
const PORTS = {
  AUDIT_PORT: BASE,
  REWARD_PORT: BASE + 1,
  PLATFORM_PORT: BASE + 2,
  RELAYER_PORT: BASE + 3,
  PROVISIONING_PORT: BASE + 7,
  WEB_PORT: BASE + 4,
  AUDITOR_PORT: BASE + 5,
  MQTT_PORT: BASE + 6,
  ORACLE_BASE_PORT: BASE + 10,
};
const relayerUrl = `http://127.0.0.1:${PORTS.RELAYER_PORT}`;
const platformUrl = `http://127.0.0.1:${PORTS.PLATFORM_PORT}`;
const oracleUrl = `http://127.0.0.1:${PORTS.ORACLE_BASE_PORT}`;

interface Stack {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startStack(dataDir: string): Stack {
  const child = spawn(process.execPath, [path.join(root, "node_modules/hardhat/dist/src/cli.js"), "run", "scripts/stack.ts"], {
    cwd: root,
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(PORTS).map(([k, v]) => [k, String(v)])),
      SENSORSEAL_DATA_DIR: dataDir,
      STACK_SPEEDUP: "120",
      STACK_DEVICES: "20",
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const answer = await fetch(url);
    return answer.ok ? ((await answer.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, stack: Stack): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    if (stack.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000} s; stack output:\n${stack.output().slice(-4000)}`);
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: root, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function stop(stack: Stack): Promise<number | null> {
  stack.child.kill("SIGINT");
  return stack.exited;
}

describe("npm start (the local stack)", { timeout: 600_000 }, () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "sensorseal-stack-"));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("anchors replayed readings, verifies them all, posts a reward root, stops on Ctrl-C and resumes", async () => {
    const first = startStack(dataDir);
    try {
      const batch = await until(
        "a confirmed batch",
        () =>
          getJson<{ status: string; leafCount: number }>(`${relayerUrl}/v1/batches/1`).then((b) =>
            b?.status === "confirmed" ? b : undefined,
          ),
        180_000,
        first,
      );
      assert.ok(batch.leafCount > 0);

      const { consumerKey } = JSON.parse(await readFile(path.join(dataDir, "stack-secrets.json"), "utf8")) as { consumerKey: string };
      const verify = await run(["scripts/verify.ts", "batch", "1", "--json"], {
        AUDIT_RPC_URL: `http://127.0.0.1:${PORTS.AUDIT_PORT}`,
        PLATFORM_URL: platformUrl,
        PLATFORM_API_KEY: consumerKey,
        RELAYER_URL: relayerUrl,
        SENSORSEAL_DATA_DIR: dataDir,
      });
      assert.equal(verify.code, 0, `verify batch 1: ${verify.stdout.slice(0, 2000)}\n${verify.stderr.slice(-2000)}`);

      const epoch = await until(
        "a posted reward root",
        () =>
          getJson<{ epoch: number; posted: boolean; root: string }>(`${oracleUrl}/v1/epochs/latest`).then((e) =>
            e?.posted ? e : undefined,
          ),
        240_000,
        first,
      );
      assert.match(epoch.root, /^0x[0-9a-f]{64}$/);

      // Provisioning: the banner names the key store, and every registered device was attested by the stack's issuer.
      const keyStore = softHsmAvailable() ? /device keys\s+SoftHSM2 token "SensorSealStack"/ : /device keys\s+encrypted key files/;
      assert.match(first.output(), keyStore);
      assert.match(first.output(), /npm run provision -- device/);
      const deployment = await readAuditDeployment(31337, dataDir);
      const client = createPublicClient({ transport: http(`http://127.0.0.1:${PORTS.AUDIT_PORT}`) });
      const logs = parseEventLogs({
        abi: deviceRegistryAbi,
        logs: await client.getLogs({ address: deployment.registry, fromBlock: BigInt(deployment.deployBlock) }),
      });
      const registered = logs.filter((l) => l.eventName === "DeviceRegistered").map((l) => (l.args as { device: string }).device);
      const attested = logs.filter((l) => l.eventName === "DeviceAttested").map((l) => l.args as { device: string; issuer: string });
      assert.equal(registered.length, 20, "STACK_DEVICES=20 simulated devices registered");
      assert.deepEqual(attested.map((a) => a.device).sort(), [...registered].sort());
      const issuer = privateKeyToAccount(DEV_KEYS.issuer).address;
      assert.ok(attested.every((a) => a.issuer === issuer));
    } finally {
      assert.equal(await stop(first), 0, first.output().slice(-3000));
    }
    assert.match(first.output(), /\[stack\] stopped/);

    const second = startStack(dataDir);
    try {
      await until("the resumed relayer", () => getJson(`${relayerUrl}/readyz`), 120_000, second);
      assert.match(second.output(), /audit chain http:\/\/127\.0\.0\.1:\d+ \(resumed: \d+ calls replayed\)/);
      const again = await getJson<{ status: string }>(`${relayerUrl}/v1/batches/1`);
      assert.equal(again?.status, "confirmed");
    } finally {
      assert.equal(await stop(second), 0, second.output().slice(-3000));
    }
  });
});
