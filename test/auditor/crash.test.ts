/**
 * The auditor as a real child process (scripts/auditor.ts) killed with SIGKILL mid-way: the restarted
 * process resumes from its store and ends with exactly one verdict per reading, none lost, none
 * duplicated. Also measures the restart-to-resume time.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import Database from "better-sqlite3";

import { generateApiKey } from "../../oracle/platform/auth.js";
import { chainTime, registeredDevice, startStack, waitFor, type Stack } from "../verifier/fixtures.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DEVICES = 3;
const PER_DEVICE = 24;

describe("auditor: kill -9 and resume", { timeout: 300_000 }, () => {
  let stack: Stack;
  let child: ChildProcess | undefined;
  let dbPath: string;
  let env: NodeJS.ProcessEnv;
  let stderr = "";

  const count = (): { n: number; uniq: number; verified: number } => {
    try {
      const db = new Database(dbPath, { readonly: true, fileMustExist: true });
      try {
        return db
          .prepare(
            "SELECT COUNT(*) AS n, COUNT(DISTINCT device || ':' || seq) AS uniq, SUM(CASE WHEN status = 'VERIFIED' THEN 1 ELSE 0 END) AS verified FROM auditor_verdicts",
          )
          .get() as { n: number; uniq: number; verified: number };
      } finally {
        db.close();
      }
    } catch {
      return { n: 0, uniq: 0, verified: 0 };
    }
  };
  const spawnAuditor = () => {
    const p = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts/auditor.ts")], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    p.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    p.stdout?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    return p;
  };

  before(async () => {
    stack = await startStack();
    dbPath = path.join(stack.dir, "auditor.sqlite");
    const keysFile = path.join(stack.dir, "auditor-keys.json");
    await writeFile(keysFile, JSON.stringify([generateApiKey("agency", "consumer").entry]));
    const devices = [];
    for (let i = 0; i < DEVICES; i++) devices.push(await registeredDevice(stack.chain, i % 2 === 0 ? "secp256k1" : "p256"));
    const t0 = await chainTime(stack.chain);
    for (let seq = 1; seq <= PER_DEVICE; seq++) for (const d of devices) await stack.send(d, seq, t0 + seq);
    for (const d of devices)
      await stack.waitAnchored(
        d.address,
        Array.from({ length: PER_DEVICE }, (_, i) => i + 1),
      );
    env = {
      ...process.env,
      AUDIT_RPC_URL: stack.chain.rpcUrl,
      ANCHOR_ADDRESS: stack.chain.anchor,
      REGISTRY_ADDRESS: stack.chain.registry,
      REGISTRY_DEPLOY_BLOCK: "0",
      PLATFORM_URL: stack.platformUrl,
      PLATFORM_API_KEY: stack.apiKey,
      AUDITOR_API_KEYS_FILE: keysFile,
      DATABASE_URL: dbPath,
      PORT: "0",
      CONFIRMATIONS: "0",
      POLL_MS: "50",
      CONCURRENCY: "1",
      LOG_LEVEL: "info",
    };
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) child.kill("SIGKILL");
    await stack?.close();
  });

  it("ends with exactly one VERIFIED verdict per reading after a SIGKILL mid-way", async () => {
    const total = DEVICES * PER_DEVICE;
    child = spawnAuditor();
    const atKill = await waitFor(
      async () => {
        const c = count();
        return c.n > 0 ? c : undefined;
      },
      "first verdicts",
      120_000,
      5,
    ).catch(async (error: Error) => {
      const url = /"url":"([^"]+)"/.exec(stderr)?.[1];
      const status = url === undefined ? "" : await (await fetch(`${url}/v1/status`)).text();
      throw new Error(`${error.message}; auditor status ${status}; output: ${stderr.slice(-1000)}`);
    });
    child.kill("SIGKILL");
    await new Promise((resolve) => child!.once("exit", resolve));
    const afterKill = count();
    assert.ok(afterKill.n < total, `killed mid-way (${afterKill.n} of ${total} recorded)`);
    const restartedAt = Date.now();
    child = spawnAuditor();
    await waitFor(async () => count().n > afterKill.n && true, "first verdict after restart", 120_000, 5);
    const resumeMs = Date.now() - restartedAt;
    const firstAt = Date.now();
    const fromCount = count().n;
    const done = await waitFor(
      async () => {
        const c = count();
        return c.n >= total ? c : undefined;
      },
      "every verdict",
      120_000,
      50,
    );
    assert.deepEqual(done, { n: total, uniq: total, verified: total });
    const rate = ((total - fromCount) / ((Date.now() - firstAt) / 1000)).toFixed(0);
    const keyFile = path.join(stack.dir, "consumer.key");
    await writeFile(keyFile, stack.apiKey);
    const cliStart = Date.now();
    const cli = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(ROOT, "scripts/verify.ts"),
        "all",
        "--rpc",
        stack.chain.rpcUrl,
        "--anchor",
        stack.chain.anchor,
        "--platform",
        stack.platformUrl,
        "--api-key-file",
        keyFile,
        "--quiet",
      ],
      { cwd: ROOT },
    );
    const cliMs = Date.now() - cliStart;
    console.log(
      `# auditor ≈ ${rate} readings/s incremental (lower bound: includes 50 ms polls); verify all (exit ${cli.status}): ${total} readings in ${cliMs} ms incl. process start`,
    );
    console.log(`# killed at ${atKill.n}/${total} verdicts; restart → first new verdict in ${resumeMs} ms (process start included)`);
    child.kill("SIGTERM");
    await new Promise((resolve) => child!.once("exit", resolve));
  });
});
