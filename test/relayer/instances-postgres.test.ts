/**
 * Two relayer processes (scripts/relayer.ts) on one real PostgreSQL store and one real audit chain,
 * taking one stream of readings concurrently; the process holding the anchoring lease is killed with
 * SIGKILL mid-stream. The survivor takes the lease over and anchors the rest: no accepted reading is
 * lost, none is anchored twice, no nonce is used twice, and every receipt a client got still holds.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { parseEventLogs, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { ReceiptDigester, recoverReceiptSigner } from "../../oracle/core/receipt.js";
import { openDatabase, type SqlDatabase } from "../../oracle/store/sql.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { freshTestDatabase, pgSkipReason, type TestDatabase } from "../helpers/postgres.js";
import {
  chainTime,
  postJson,
  RECEIPT_KEY,
  registeredDevice,
  request,
  signedReading,
  waitFor,
  type ReadingBody,
  type TestDevice,
} from "./fixtures.js";

const ROOT = path.resolve(import.meta.dirname, "../..");
const PUBLIC_URL = "http://127.0.0.1:1/instances";

interface RelayerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
}

async function startRelayer(env: Record<string, string>): Promise<RelayerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/relayer.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (chunk) => (text += chunk));
  child.stderr?.on("data", (chunk) => (text += chunk));
  const url = await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`relayer exited at start: ${text}`);
      return /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"relayer listening"/.exec(text)?.[1];
    },
    "relayer listening",
    120_000,
  );
  return { child, url, output: () => text };
}

describe("two relayer instances on one PostgreSQL store, one killed -9 mid-stream", { skip: (await pgSkipReason()) ?? false }, () => {
  let chain: AuditChain;
  let database: TestDatabase;
  let db: SqlDatabase;
  const processes: RelayerProcess[] = [];

  before(async () => {
    chain = await startAuditChain();
    await chain.registerRelayer({ manifestUrl: PUBLIC_URL });
    database = await freshTestDatabase();
  });
  after(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await db?.close().catch(() => undefined);
    await database?.drop().catch(() => undefined);
    await chain?.close();
  });

  it("loses nothing, anchors nothing twice, reuses no nonce; receipts stay valid", async () => {
    const devices: TestDevice[] = [];
    for (const scheme of ["secp256k1", "p256", "secp256k1", "p256"] as const) devices.push(await registeredDevice(chain, scheme));
    const env = {
      PORT: "0",
      DATABASE_URL: database.url,
      PG_POOL_SIZE: "4",
      AUDIT_RPC_URL: chain.rpcUrl,
      ANCHOR_ADDRESS: chain.anchor,
      REGISTRY_ADDRESS: chain.registry,
      REGISTRY_DEPLOY_BLOCK: "0",
      REGISTRY_POLL_MS: "200",
      RELAYER_PRIVATE_KEY: chain.keys.relayer,
      RELAYER_PUBLIC_URL: PUBLIC_URL,
      RECEIPT_PRIVATE_KEY: RECEIPT_KEY,
      BATCH_MAX_SIZE: "16",
      BATCH_MAX_AGE_MS: "100",
      CONFIRMATIONS: "1",
      ANCHOR_POLL_MS: "100",
      RELAYER_ANCHOR_LEASE_MS: "2000",
      LOG_LEVEL: "info",
    };
    // One after the other: both migrate the same schema (CREATE … IF NOT EXISTS) at start.
    processes.push(await startRelayer(env));
    processes.push(await startRelayer(env));
    db = await openDatabase(database.url);
    const holderPid = async () => {
      const [row] = await db.query<{ holder: string }>("SELECT holder FROM relayer_leases");
      return row === undefined ? undefined : Number(row.holder.split(":")[1]);
    };
    const leaderPid = await waitFor(holderPid, "a relayer takes the anchoring lease");
    const leader = processes.find((p) => p.child.pid === leaderPid)!;
    const survivor = processes.find((p) => p !== leader)!;
    assert.ok(leader !== undefined && survivor !== undefined, "the lease holder is one of the two");

    const domain = { chainId: chain.chainId, anchor: chain.anchor };
    const timestamp = await chainTime(chain);
    const readings: ReadingBody[] = [];
    for (let seq = 1; seq <= 30; seq++) for (const d of devices) readings.push(signedReading(d, domain, { seq, timestamp }));
    const receipts = new Map<string, unknown>();
    const keyOf = (r: ReadingBody) => `${r.device}/${r.seq}`;
    // A client as deployed: a request the dead instance cannot answer goes to the other one.
    const send = async (r: ReadingBody, first: RelayerProcess) => {
      for (const target of [first, survivor]) {
        const answer = await postJson(`${target.url}/v1/readings`, r).catch(() => undefined);
        if (answer === undefined) continue;
        assert.equal(answer.status, 202, answer.text);
        const before = receipts.get(keyOf(r));
        if (before !== undefined) assert.deepEqual(answer.body.receipt, before, "a resend gets the same receipt from either instance");
        receipts.set(keyOf(r), answer.body.receipt);
        return;
      }
      throw new Error(`no relayer took ${keyOf(r)}`);
    };

    // First half through both instances (every reading of the first quarter sent to both: duplicates across instances).
    const half = readings.length / 2;
    await Promise.all(
      readings.slice(0, half).map(async (r, i) => {
        await send(r, i % 2 === 0 ? leader : survivor);
        if (i < half / 2) await send(r, i % 2 === 0 ? survivor : leader);
      }),
    );
    // Mid-batch: the leader has anchored something and holds more in the queue or in flight.
    await waitFor(async () => {
      const [row] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM relayer_batches WHERE status <> 'queued'");
      return Number(row.n) > 0;
    }, "a first batch sent");
    const rest = readings.slice(half);
    const streaming = Promise.all(rest.map((r, i) => send(r, i % 2 === 0 ? leader : survivor)));
    leader.child.kill("SIGKILL");
    await once(leader.child, "exit");
    await streaming;

    await waitFor(async () => (await holderPid()) === survivor.child.pid, "the survivor takes the lease over", 60_000);
    await waitFor(
      async () => {
        await chain.mine(1);
        const [row] = await db.query<{ n: number }>(
          "SELECT COUNT(*) AS n FROM relayer_readings r JOIN relayer_batches b ON b.id = r.batch_id WHERE b.status = 'confirmed'",
        );
        return Number(row.n) === readings.length;
      },
      "every reading confirmed",
      120_000,
      200,
    );

    // 0 lost: every reading a client got a receipt for is confirmed, with that receipt, signed by the receipt key.
    const digester = new ReceiptDigester(chain.chainId, chain.anchor);
    const receiptSigner = privateKeyToAccount(RECEIPT_KEY).address;
    assert.equal(receipts.size, readings.length);
    for (const r of readings) {
      const answer = await request(`${survivor.url}/v1/readings/${r.device}/${r.seq}`);
      assert.equal(answer.body.status, "confirmed", `${keyOf(r)} confirmed`);
      assert.deepEqual(answer.body.receipt, receipts.get(keyOf(r)));
      const receipt = answer.body.receipt as { dataHash: Hex; deadline: string; signature: Hex };
      const signer = await recoverReceiptSigner(
        digester,
        { device: r.device as Address, seq: BigInt(r.seq), dataHash: receipt.dataHash, deadline: BigInt(receipt.deadline) },
        receipt.signature,
      );
      assert.equal(signer, receiptSigner);
    }
    // 0 anchored twice: the chain's BatchAnchored leaves add up to the readings, each root once.
    const logs = await chain.publicClient.getLogs({ address: chain.anchor, fromBlock: 0n, toBlock: "latest" });
    const anchored = parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" });
    assert.equal(new Set(anchored.map((e) => e.args.root)).size, anchored.length, "each root anchored once");
    assert.equal(
      anchored.reduce((n, e) => n + Number(e.args.leafCount), 0),
      readings.length,
      "every reading anchored exactly once",
    );
    const [rows] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM relayer_readings");
    assert.equal(Number(rows.n), readings.length);
    // No nonce used twice by mined transactions.
    const reused = await db.query("SELECT nonce FROM relayer_txs WHERE status = 'mined' GROUP BY nonce HAVING COUNT(*) > 1");
    assert.deepEqual(reused, []);
    assert.match(survivor.output(), /"msg":"anchoring lease taken"/);

    survivor.child.kill("SIGTERM");
    const [code] = await once(survivor.child, "exit");
    assert.equal(code, 0, survivor.output().slice(-2000));
  });
});
