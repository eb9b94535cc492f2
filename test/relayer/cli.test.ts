/**
 * scripts/relayer.ts as an operator runs it: configured from the environment, serving HTTP,
 * anchoring on a real chain, stopping cleanly on SIGTERM; a bad configuration exits 2 with a message.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { openDatabase } from "../../oracle/store/sql.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { chainTime, postJson, RECEIPT_KEY, registeredDevice, request, signedReading, tempDir, waitFor } from "./fixtures.js";

const ROOT = path.resolve(import.meta.dirname, "../..");

function runCli(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/relayer.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (chunk) => (text += chunk));
  child.stderr?.on("data", (chunk) => (text += chunk));
  return { child, output: () => text };
}

/** The URL this test's relayer is registered under on the anchor (it listens on an ephemeral port). */
const PUBLIC_URL = "http://127.0.0.1:1/cli-relayer";

describe("scripts/relayer.ts", () => {
  let chain: AuditChain;
  let tmp: { dir: string; remove(): Promise<void> };

  before(async () => {
    chain = await startAuditChain();
    await chain.registerRelayer({ manifestUrl: PUBLIC_URL });
    tmp = await tempDir();
  });
  after(async () => {
    await chain?.close();
    await tmp?.remove();
  });

  it("starts from the environment, anchors a reading, and stops on SIGTERM with exit code 0", async () => {
    const device = await registeredDevice(chain, "p256");
    const databaseUrl = path.join(tmp.dir, "cli", "relayer.sqlite");
    const { child, output } = runCli({
      PORT: "0",
      DATABASE_URL: databaseUrl,
      AUDIT_RPC_URL: chain.rpcUrl,
      ANCHOR_ADDRESS: chain.anchor,
      REGISTRY_ADDRESS: chain.registry,
      REGISTRY_DEPLOY_BLOCK: "0",
      REGISTRY_POLL_MS: "200",
      RELAYER_PRIVATE_KEY: chain.keys.relayer,
      RELAYER_PUBLIC_URL: PUBLIC_URL,
      RECEIPT_PRIVATE_KEY: RECEIPT_KEY,
      BATCH_MAX_SIZE: "10",
      BATCH_MAX_AGE_MS: "100",
      CONFIRMATIONS: "1",
      ANCHOR_POLL_MS: "100",
      LOG_LEVEL: "info",
    });
    try {
      const url = await waitFor(
        async () => /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"relayer listening"/.exec(output())?.[1],
        "relayer listening",
        60_000,
      );
      assert.equal((await request(`${url}/healthz`)).body.status, "ok");
      const reading = signedReading(
        device,
        { chainId: chain.chainId, anchor: chain.anchor },
        { seq: 1, timestamp: await chainTime(chain) },
      );
      const accepted = await postJson(`${url}/v1/readings`, reading);
      assert.equal(accepted.status, 202, accepted.text);
      const done = await waitFor(async () => {
        const answer = await request(`${url}/v1/readings/${device.address}/1`);
        return answer.body?.status === "confirmed" ? answer.body : undefined;
      }, "reading confirmed");
      assert.equal(typeof done.batchId, "number");
      assert.equal((await request(`${url}/readyz`)).status, 200);
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = await once(child, "exit");
    assert.equal(code, 0, output());
    assert.match(output(), /"msg":"relayer stopped"/);
    const db = await openDatabase(databaseUrl);
    try {
      const rows = await db.query<{ status: string; n: number }>("SELECT status, COUNT(*) AS n FROM relayer_batches GROUP BY status");
      assert.deepEqual(
        rows.map((r) => [r.status, Number(r.n)]),
        [["confirmed", 1]],
      );
    } finally {
      await db.close();
    }
  });

  it("exits 2 naming the bad variables", async () => {
    const { child, output } = runCli({ RELAYER_PRIVATE_KEY: "nope", BATCH_MAX_SIZE: "-1" });
    const [code] = await once(child, "exit");
    assert.equal(code, 2);
    assert.match(output(), /Invalid relayer configuration/);
    assert.match(output(), /RELAYER_PRIVATE_KEY/);
    assert.match(output(), /RECEIPT_PRIVATE_KEY/);
    assert.match(output(), /BATCH_MAX_SIZE/);
  });
});
