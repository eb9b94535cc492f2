/**
 * Chain faults the relayer must ride out, on a real audit chain (EDR over JSON-RPC). Adds what
 * test/relayer/resilience.test.ts does not already cover (that file covers "already known" and
 * "nonce too low" answers, lost broadcasts, restarts at each step, a nonce taken by another
 * transaction, a root anchored by an earlier attempt or another account, stuck transactions with
 * fee bumps, and a reorg shallower than the confirmation depth that drops the anchoring block):
 *
 * - network-level fault injection: a real TCP proxy in front of the chain's JSON-RPC that refuses
 *   connections, black-holes them (timeouts), answers HTTP 503, or delivers a request and cuts the
 *   answer, each for a while, during a steady stream of readings;
 * - a dropped transaction: the node forgets it (automine off + hardhat_dropTransaction);
 * - a reorg deeper than the confirmation depth (evm_snapshot / evm_revert after confirmation): the
 *   orphaned confirmed batch is noticed, re-anchored with the same transaction and confirmed again.
 *
 * In each: intake never answers 5xx, nothing is stuck, everything is anchored once on the canonical
 * chain and verifies with verifyReading.
 */
import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket } from "node:net";
import { before, describe, it } from "node:test";

import { createPublicClient, http, parseEventLogs, type PublicClient, type TestClient } from "viem";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import { chainTime, postJson, request, useRelayerTestbed, waitFor, type ReadingBody, type TestRelayer } from "../relayer/fixtures.js";
import { sleep } from "./harness.js";

type ProxyMode = "pass" | "refuse" | "blackhole" | "http503" | "cut-answer";

/** A TCP proxy on 127.0.0.1 whose behaviour can be switched while it runs. */
class FaultyProxy {
  mode: ProxyMode = "pass";
  readonly counts = new Map<ProxyMode, number>();
  readonly #sockets = new Set<Socket>();
  #server!: Server;
  url = "";

  constructor(readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    this.#server = createServer((client) => this.#onConnection(client));
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
  }

  /** Switches mode and drops every open connection (a keep-alive socket must not bypass the fault). */
  set(mode: ProxyMode): void {
    this.mode = mode;
    for (const s of this.#sockets) s.destroy();
  }

  #track(s: Socket): void {
    this.#sockets.add(s);
    s.on("close", () => this.#sockets.delete(s));
    s.on("error", () => undefined);
  }

  #onConnection(client: Socket): void {
    this.#track(client);
    const mode = this.mode;
    this.counts.set(mode, (this.counts.get(mode) ?? 0) + 1);
    if (mode === "refuse") {
      client.destroy();
      return;
    }
    if (mode === "blackhole") {
      client.on("data", () => undefined); // read and never answer
      return;
    }
    if (mode === "http503") {
      client.once("data", () =>
        client.end(
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nunavailable",
        ),
      );
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    this.#track(upstream);
    client.pipe(upstream);
    if (mode === "cut-answer") {
      // The request reaches the node; the answer never reaches the client.
      upstream.once("data", () => {
        client.destroy();
        upstream.destroy();
      });
    } else {
      upstream.pipe(client);
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

describe("battery: chain faults", { timeout: 600_000 }, () => {
  const bed = useRelayerTestbed({ limits: { requestRate: undefined, readingRate: undefined, deviceQuota: undefined } });
  const { relayer, nextReadings, batches } = bed;
  const submit = async (t: TestRelayer, n: number): Promise<ReadingBody[]> => (await bed.submit(t, n)).readings;
  let chain: AuditChain;
  let testClient: TestClient;
  before(() => {
    ({ chain, testClient } = bed);
  });

  /** Every reading confirmed (a block mined per poll) and verified on chain; each anchored once. */
  async function allAnchoredOnce(t: TestRelayer, readings: ReadingBody[], timeoutMs = 300_000): Promise<void> {
    await waitFor(
      async () => {
        await chain.mine(1);
        const answers = await Promise.all(readings.map((r) => request(`${t.url}/v1/readings/${r.device}/${r.seq}`)));
        return answers.every((a) => a.body?.status === "confirmed");
      },
      "readings confirmed",
      timeoutMs,
      100,
    );
    for (const r of readings) {
      const a = (await request(`${t.url}/v1/readings/${r.device}/${r.seq}`)).body;
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
    const rows = await batches(t);
    const logs = await chain.publicClient.getLogs({ address: chain.anchor, fromBlock: 0n, toBlock: "latest" });
    const roots = new Set(rows.map((b) => b.root));
    const events = parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" }).filter((e) => roots.has(e.args.root));
    assert.equal(events.length, rows.length, "one BatchAnchored per batch on the canonical chain");
    assert.equal(
      events.reduce((s, e) => s + e.args.leafCount, 0),
      readings.length,
      "every reading anchored once",
    );
    for (const b of rows) {
      const e = events.find((x) => x.args.root === b.root)!;
      assert.equal(b.blockHash, e.blockHash, "the relayer's record is the canonical block");
    }
  }

  it("network-level fault injection (TCP proxy): refused, black-holed, 503 and cut answers for a while; nothing lost or doubled", async () => {
    const target = new URL(chain.rpcUrl);
    const proxy = new FaultyProxy({ host: target.hostname, port: Number(target.port) });
    await proxy.start();
    try {
      const client = createPublicClient({ transport: http(proxy.url, { timeout: 1500, retryCount: 1, retryDelay: 50 }) }) as PublicClient;
      const t = await relayer("proxy.sqlite", {
        client,
        batch: { maxSize: 8, maxAgeMs: 100 },
        confirmations: 2,
        anchoring: { stuckTimeoutMs: 3_000 },
      });

      // A steady stream: one bulk of 4 every 150 ms, retried until accepted (intake needs no RPC).
      const sent: ReadingBody[] = [];
      let fivexx = 0;
      let streaming = true;
      const stream = (async () => {
        while (streaming) {
          const readings = nextReadings(1, await chainTime(chain));
          for (;;) {
            const answer = await postJson(`${t.url}/v1/readings`, readings);
            if (answer.status >= 500) fivexx++;
            if (answer.status === 202) break;
            assert.ok(answer.status === 429 || answer.status >= 500, answer.text);
            await sleep(50);
          }
          sent.push(...readings);
          await sleep(150);
        }
      })();

      const notReady = new Set<string>();
      const readyWatch = setInterval(() => {
        void request(`${t.url}/readyz`).then((a) => {
          if (a.status === 503) notReady.add(proxy.mode);
        });
      }, 100);
      const faults: ProxyMode[] = ["refuse", "blackhole", "http503", "cut-answer"];
      for (const mode of faults) {
        await sleep(1200);
        proxy.set(mode);
        // The fault lasts a while, and at least until the relayer's traffic has met it (a busy machine
        // may send nothing in a fixed window).
        await Promise.all([
          sleep(mode === "blackhole" ? 4000 : 2500),
          waitFor(async () => (proxy.counts.get(mode) ?? 0) > 0, `the relayer meeting the ${mode} fault`),
        ]);
        proxy.set("pass");
      }
      await sleep(1000);
      streaming = false;
      await stream;
      clearInterval(readyWatch);

      await allAnchoredOnce(t, sent);
      assert.equal(fivexx, 0, "intake never answered 5xx");
      assert.ok(t.relayer.anchorer.healthy);
      assert.equal((await request(`${t.url}/readyz`)).status, 200, "ready again");
      const counts = Object.fromEntries(proxy.counts);
      console.log(
        `# network faults: ${sent.length} readings through ${faults.join(", ")}; connections ${JSON.stringify(counts)}; ` +
          `/readyz 503 seen during: ${[...notReady].join(", ") || "none"}; 0 lost, 0 anchored twice, 0 intake 5xx`,
      );
      for (const mode of faults) assert.ok((proxy.counts.get(mode) ?? 0) > 0, `the ${mode} fault was hit`);
    } finally {
      await proxy.close();
    }
  });

  it("a dropped transaction (the node forgets it): re-broadcast byte for byte, anchored once", async () => {
    // Started first: the relayer's registration is a transaction, mined only while automine is on.
    const t = await relayer("dropped.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, anchoring: { stuckTimeoutMs: 3_600_000 } });
    await testClient.setAutomine(false);
    const readings = await submit(t, 2);
    const [sent] = await waitFor(async () => {
      const rows = await batches(t);
      return rows.length === 1 && rows[0].status === "sent" ? rows : undefined;
    }, "batch sent");
    const [tx] = await t.relayer.store.txs(sent.id);
    await waitFor(
      async () => (await chain.publicClient.getTransaction({ hash: tx.hash }).catch(() => undefined)) !== undefined,
      "tx in the mempool",
    );
    const rebroadcastsBefore = t.relayer.metrics.anchorTxs.get({ kind: "rebroadcast" });
    await testClient.request({ method: "hardhat_dropTransaction" as any, params: [tx.hash] as any });
    // An empty block: the transaction is gone, never mined.
    await testClient.mine({ blocks: 1 });
    await waitFor(async () => t.relayer.metrics.anchorTxs.get({ kind: "rebroadcast" }) > rebroadcastsBefore, "a re-broadcast", 30_000);
    await testClient.setAutomine(true);
    await allAnchoredOnce(t, readings);
    const [batch] = await batches(t);
    const txs = await t.relayer.store.txs(batch.id);
    assert.deepEqual(
      txs.map((x) => [x.hash, x.status]),
      [[tx.hash, "mined"]],
      "the same signed transaction, never re-signed",
    );
  });

  it("a reorg one block shallower than the confirmation depth: re-anchored before confirmation, confirmed on the new chain only", async () => {
    const confirmations = 4;
    const t = await relayer("reorg-shallow.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, confirmations });
    const snapshot = await testClient.snapshot();
    const readings = await submit(t, 2);
    const [mined] = await waitFor(async () => {
      const rows = await batches(t);
      return rows.length === 1 && rows[0].status === "mined" ? rows : undefined;
    }, "batch mined");
    // confirmations − 2 more blocks: the batch is one block short of confirmed.
    await testClient.mine({ blocks: confirmations - 2 });
    // Two whole anchorer ticks after those blocks (the first may have started before them).
    const ticks = [t.relayer.anchorer.lastTickAt];
    await waitFor(async () => {
      const last = t.relayer.anchorer.lastTickAt;
      if (last !== ticks.at(-1)) ticks.push(last);
      return ticks.length >= 3;
    }, "two anchorer ticks");
    assert.equal((await batches(t))[0].status, "mined");
    await testClient.revert({ id: snapshot });
    await testClient.mine({ blocks: confirmations + 2 }); // the new canonical chain is longer
    await allAnchoredOnce(t, readings);
    const [batch] = await batches(t);
    assert.ok(batch.reorgs >= 1);
    assert.notEqual(batch.blockHash, mined.blockHash, "confirmed in a block of the new chain, not the orphaned one");
  });

  it("a reorg deeper than the confirmation depth: the orphaned confirmed batch is re-anchored on the new chain, once", async () => {
    const t = await relayer("reorg-deep.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, confirmations: 2 });
    const snapshot = await testClient.snapshot();
    const readings = await submit(t, 1);
    await allAnchoredOnce(t, readings);
    const [confirmed] = await batches(t);
    assert.equal(confirmed.status, "confirmed");
    const deepBefore = t.relayer.metrics.deepReorgs.get();
    await testClient.revert({ id: snapshot });
    await testClient.mine({ blocks: 6 });
    // The relayer notices within a poll (the newest confirmed batch is rechecked every tick) and stops
    // answering "confirmed" for the orphaned anchoring.
    await waitFor(async () => t.relayer.metrics.deepReorgs.get() > deepBefore, "the deep reorg noticed", 15_000);
    const [moved] = await batches(t);
    assert.ok(moved.reorgs >= 1);
    // Then it anchors the batch again on the new chain: same root and manifest, served "confirmed" only there.
    await allAnchoredOnce(t, readings, 15_000);
    const [batch] = await batches(t);
    assert.equal(batch.root, confirmed.root);
    assert.equal(batch.manifestHash, confirmed.manifestHash);
    assert.notEqual(batch.blockHash, confirmed.blockHash, "confirmed in a block of the new chain, not the orphaned one");
    assert.deepEqual(
      (await t.relayer.store.txs(batch.id)).map((x) => [x.hash, x.status]),
      [[confirmed.txHash, "mined"]],
      "the same signed transaction re-broadcast, never re-signed",
    );
    assert.match((await request(`${t.url}/metrics`)).text, /^sensorseal_relayer_confirmed_reorgs_total [1-9]/m);
  });
});
