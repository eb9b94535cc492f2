/**
 * Crash safety of the relayer: scripts/relayer.ts runs as a child process on a SQLite store and is
 * killed with SIGKILL at random times, K times, during a steady stream of readings from clients that
 * retry each reading until it is accepted (one client per device, each in seq order). Kills land
 * anywhere: mid-request, between a commit and its answer, mid-batch-cut, between signing an anchoring
 * transaction and recording it, between broadcast and receipt, while it waits in the mempool (the
 * chain mines a block every 300 ms, not one per transaction). No fault-injection hook is used.
 *
 * After the last restart: every accepted reading (each one's receipt) is anchored and verifies on
 * chain with `verifyReading`; BatchAnchored leaves on the canonical chain hold no (device, seq) twice
 * and add up to the readings; every answered receipt equals the stored one. The worst recovery time
 * (spawn → /readyz 200) is printed.
 *
 * Oracle crash safety: oracle-crash.test.ts.
 *
 *   BATTERY_KILLS=40 BATTERY_READINGS=2000 npx hardhat test nodejs test/battery/crash-safety.test.ts
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { createTestClient, http, parseEventLogs, type Hex } from "viem";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { parseManifest } from "../../oracle/core/manifest.js";
import { openDatabase } from "../../oracle/store/sql.js";
import { verifyReceipt, type SignedReceiptJson } from "../../oracle/core/receipt.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { chainTime, registeredDevice, signedReading, tempDir, waitFor, type ReadingBody, type TestDevice } from "../relayer/fixtures.js";
import { envInt, freePort, prng, type RelayerChild, registerBatteryRelayer, relayerEnv, sleep, spawnRelayer } from "./harness.js";

const KILLS = envInt("BATTERY_KILLS", 8);
const READINGS = envInt("BATTERY_READINGS", 240);
const SEED = envInt("BATTERY_SEED", 20_240_601);

describe("battery: relayer crash safety (SIGKILL at random times)", { timeout: 900_000 }, () => {
  let chain: AuditChain;
  let tmp: { dir: string; remove(): Promise<void> };
  let devices: TestDevice[];
  let current: RelayerChild | undefined;

  before(async () => {
    chain = await startAuditChain();
    await registerBatteryRelayer(chain);
    tmp = await tempDir();
    devices = [];
    for (let i = 0; i < 4; i++) devices.push(await registeredDevice(chain, i % 2 ? "p256" : "secp256k1"));
  });
  after(async () => {
    if (current && current.child.exitCode === null) {
      current.child.kill("SIGKILL");
      await current.exited;
    }
    await chain?.close();
    await tmp?.remove();
  });

  it(`${KILLS} kills during a stream of ≥ ${READINGS} readings: 0 lost, 0 anchored twice`, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = relayerEnv(chain, path.join(tmp.dir, "relayer.sqlite"), {
      PORT: String(port),
      LOG_LEVEL: "warn",
      BATCH_MAX_SIZE: "16",
      BATCH_MAX_AGE_MS: "80",
      ANCHOR_POLL_MS: "50",
      RELAYER_DEVICE_READINGS_PER_MINUTE: "1000000",
      RELAYER_DEVICE_BURST: "1000000",
      // The checks below poll every reading at once: no per-client request limit in the way.
      RELAYER_IP_REQUESTS_PER_SECOND: "1000000",
      RELAYER_IP_REQUEST_BURST: "1000000",
      RELAYER_SHUTDOWN_TIMEOUT_MS: "1000",
    });
    const random = prng(SEED);
    const recoveries: number[] = [];

    async function startAndWaitReady(): Promise<number> {
      const t0 = performance.now();
      current = spawnRelayer(env);
      await waitFor(
        async () => {
          if (current!.child.exitCode !== null) throw new Error(`relayer exited: ${current!.output().slice(-3000)}`);
          const res = await fetch(`${url}/readyz`).catch(() => undefined);
          return res?.status === 200;
        },
        "relayer ready",
        60_000,
        20,
      );
      return performance.now() - t0;
    }

    // Blocks every 300 ms instead of one per transaction: anchoring transactions wait in the mempool,
    // so kills also land while a nonce is in use and its transaction pending (not just signed or mined).
    const testClient = createTestClient({ mode: "hardhat", transport: http(chain.rpcUrl) });
    await testClient.setAutomine(false);
    await testClient.setIntervalMining({ interval: 0.3 });

    await startAndWaitReady();

    // ---- the stream: one client per device, each reading retried until it is accepted ----
    const ts = await chainTime(chain);
    const perDevice = Math.ceil(READINGS / devices.length);
    const sent: ReadingBody[] = [];
    const receipts = new Map<string, SignedReceiptJson>();
    let retries = 0;
    let answered5xx = 0;
    let stop = false;

    async function client(d: TestDevice): Promise<void> {
      // At least `perDevice` readings each, and on until the last kill.
      for (let seq = 1; seq <= perDevice || !stop; seq++) {
        const body = signedReading(d, chain, { seq, timestamp: ts });
        sent.push(body);
        for (;;) {
          const res = await fetch(`${url}/v1/readings`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(5000),
          }).catch(() => undefined);
          if (res?.status === 202) {
            const answer = (await res.json()) as { receipt: SignedReceiptJson };
            receipts.set(`${body.device}:${body.seq}`, answer.receipt);
            break;
          }
          if (res !== undefined) {
            const text = await res.text();
            if (res.status >= 500 && res.status !== 503) answered5xx++;
            assert.ok(res.status === 503 || res.status === 429 || res.status >= 500, `unexpected ${res.status}: ${text}`);
          }
          retries++;
          await sleep(20);
        }
        await sleep(5);
      }
    }
    const clients = Promise.all(devices.map(client));

    // ---- what each kill left behind (read from the store while the relayer is down) ----
    const leftBehind = { queuedReadings: 0, batchCut: 0, txPending: 0, txRecordedNotBroadcast: 0, minedNotConfirmed: 0 };
    async function classifyKill(): Promise<void> {
      const db = await openDatabase(path.join(tmp.dir, "relayer.sqlite"));
      try {
        const [{ n }] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM relayer_readings WHERE batch_id IS NULL");
        if (Number(n) > 0) leftBehind.queuedReadings++;
        const batches = await db.query<{ status: string }>(
          "SELECT status FROM relayer_batches WHERE status IN ('queued', 'sent', 'mined')",
        );
        if (batches.some((b) => b.status === "queued")) leftBehind.batchCut++;
        if (batches.some((b) => b.status === "mined")) leftBehind.minedNotConfirmed++;
        const pending = await db.query<{ tx_hash: Hex }>("SELECT tx_hash FROM relayer_txs WHERE status = 'pending'");
        if (pending.length > 0) leftBehind.txPending++;
        for (const t of pending) {
          const known = await chain.publicClient.getTransaction({ hash: t.tx_hash }).catch(() => undefined);
          if (known === undefined) {
            leftBehind.txRecordedNotBroadcast++;
            break;
          }
        }
      } finally {
        await db.close();
      }
    }

    // ---- the killer ----
    let kills = 0;
    const killer = (async () => {
      for (let k = 0; k < KILLS; k++) {
        await sleep(100 + Math.floor(random() * 900));
        current!.child.kill("SIGKILL");
        await current!.exited;
        kills++;
        await classifyKill();
        recoveries.push(await startAndWaitReady());
      }
    })();
    await killer;
    stop = true;
    await clients;

    // ---- after the storm: all anchored, each once ----
    assert.equal(receipts.size, sent.length, "every reading accepted in the end");
    let lastAnswers: unknown[] = [];
    const answers = await waitFor(
      async () => {
        await chain.mine(1);
        const all = await Promise.all(
          sent.map(async (r) => {
            const res = await fetch(`${url}/v1/readings/${r.device}/${r.seq}`);
            return { http: res.status, ...((await res.json()) as any) };
          }),
        );
        lastAnswers = all.filter((a) => a.status !== "confirmed");
        return lastAnswers.length === 0 ? all : undefined;
      },
      "every accepted reading confirmed",
      120_000,
      250,
    ).catch(async (error) => {
      const db = await openDatabase(path.join(tmp.dir, "relayer.sqlite"));
      const batches = await db.query(
        "SELECT id, status, attempts, last_error, leaf_count FROM relayer_batches WHERE status <> 'confirmed'",
      );
      const txs = await db.query("SELECT batch_id, nonce, kind, status, tx_hash FROM relayer_txs ORDER BY id DESC LIMIT 12");
      const queued = await db.query("SELECT COUNT(*) AS n FROM relayer_readings WHERE batch_id IS NULL");
      await db.close();
      console.log("# not confirmed", lastAnswers.length, JSON.stringify(lastAnswers.slice(0, 3)));
      console.log("# stuck batches", JSON.stringify(batches), "\n# txs", JSON.stringify(txs), "\n# queued", JSON.stringify(queued));
      console.log(current!.output().slice(-6000));
      throw error;
    });

    const info = (await (await fetch(`${url}/v1/info`)).json()) as { receiptSigner: string };
    for (const [i, r] of sent.entries()) {
      const a = answers[i];
      const receipt = receipts.get(`${r.device}:${r.seq}`)!;
      assert.deepEqual(a.receipt, receipt, "the answered receipt is the stored one");
      assert.equal(
        await verifyReceipt({ chainId: chain.chainId, anchor: chain.anchor, relayer: info.receiptSigner as Hex, receipt }),
        true,
      );
      const ok = await chain.publicClient.readContract({
        address: chain.anchor,
        abi: readingAnchorAbi,
        functionName: "verifyReading",
        args: [
          BigInt(a.batchId),
          { device: r.device, seq: BigInt(r.seq), timestamp: BigInt(r.timestamp), dataHash: r.dataHash },
          r.signature,
          a.proof,
        ],
      });
      assert.equal(ok, true);
    }

    const logs = await chain.publicClient.getLogs({ address: chain.anchor, fromBlock: 0n, toBlock: "latest" });
    const events = parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" });
    const leaves = new Set<string>();
    let leafTotal = 0;
    for (const e of events) {
      const res = await fetch(`${url}/v1/batches/${e.args.root}/manifest`);
      assert.equal(res.status, 200, `manifest of anchored root ${e.args.root}`);
      const manifest = parseManifest(new Uint8Array(await res.arrayBuffer()));
      for (const item of manifest.items) {
        const key = `${item.reading.device}:${item.reading.seq}`;
        assert.ok(!leaves.has(key), `${key} anchored twice`);
        leaves.add(key);
      }
      leafTotal += e.args.leafCount;
    }
    assert.equal(leafTotal, sent.length, "BatchAnchored leaf counts add up to the readings");
    assert.equal(leaves.size, sent.length);

    // Which recovery paths the kills exercised (transactions by kind and status, batches re-queued).
    const db = await openDatabase(path.join(tmp.dir, "relayer.sqlite"));
    const txKinds = await db.query<{ kind: string; status: string; n: number }>(
      "SELECT kind, status, COUNT(*) AS n FROM relayer_txs GROUP BY kind, status",
    );
    const [{ n: retried }] = await db.query<{ n: number }>("SELECT COUNT(*) AS n FROM relayer_batches WHERE attempts > 1");
    await db.close();
    console.log(
      `# kills that left: readings queued ${leftBehind.queuedReadings}, a batch cut but unsent ${leftBehind.batchCut}, ` +
        `a transaction pending (nonce in use) ${leftBehind.txPending}, a transaction recorded but never broadcast ${leftBehind.txRecordedNotBroadcast}, ` +
        `a batch mined not confirmed ${leftBehind.minedNotConfirmed}`,
    );
    console.log(
      `# transactions: ${txKinds.map((t) => `${t.kind}/${t.status} ${t.n}`).join(", ")}; batches signed more than once: ${retried}`,
    );
    const worst = Math.max(...recoveries);
    const mean = recoveries.reduce((s, x) => s + x, 0) / Math.max(1, recoveries.length);
    console.log(
      `# crash safety: ${kills} SIGKILLs, ${sent.length} readings, ${receipts.size} receipts, ${retries} client retries, ` +
        `0 lost, 0 anchored twice, ${events.length} batches; recovery (spawn → /readyz) worst ${worst.toFixed(0)} ms, mean ${mean.toFixed(0)} ms; ` +
        `5xx answers ${answered5xx}`,
    );
    assert.equal(answered5xx, 0, "no 5xx other than 503 while restarting");

    current!.child.kill("SIGTERM");
    assert.equal(await current!.exited, 0);
  });
});
