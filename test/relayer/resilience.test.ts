/**
 * The relayer's anchoring under failure, on a real audit chain (EDR over JSON-RPC): restarts at
 * each step, a transaction never broadcast, a nonce taken by another transaction, a root already
 * anchored, a stuck transaction (fee bump), a reorg (evm_snapshot / evm_revert). In every case
 * nothing is lost and nothing is anchored twice (BatchAnchored events and leaves are counted).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";

import { createPublicClient, createWalletClient, custom, http, parseEventLogs, type Hex, type PublicClient, type TestClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import type { BatchRow } from "../../oracle/relayer/store.js";
import type { AuditChain } from "../helpers/audit-chain.js";
import { postJson, request, useRelayerTestbed, waitFor, type ReadingBody, type TestRelayer } from "./fixtures.js";

describe("relayer anchoring under failure", () => {
  const bed = useRelayerTestbed();
  const { relayer, close, submit, batches } = bed;
  let chain: AuditChain;
  let testClient: TestClient;
  before(() => {
    ({ chain, testClient } = bed);
  });

  /** BatchAnchored events on the canonical chain for the given roots. */
  async function anchoredEvents(roots: readonly Hex[]) {
    const logs = await chain.publicClient.getLogs({ address: chain.anchor, fromBlock: 0n, toBlock: "latest" });
    return parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" }).filter((e) => roots.includes(e.args.root));
  }

  /** Waits until the store holds exactly one batch, in `status`; answers it. */
  async function onlyBatch(t: TestRelayer, status: BatchRow["status"]): Promise<BatchRow> {
    const [batch] = await waitFor(async () => {
      const rows = await batches(t);
      return rows.length === 1 && rows[0].status === status ? rows : undefined;
    }, `batch ${status}`);
    return batch;
  }

  /** Waits until every reading is confirmed (mining a block per poll) and checks each on-chain. */
  async function allConfirmed(t: TestRelayer, readings: ReadingBody[]): Promise<void> {
    await waitFor(
      async () => {
        await chain.mine(1);
        const answers = await Promise.all(readings.map((r) => request(`${t.url}/v1/readings/${r.device}/${r.seq}`)));
        return answers.every((a) => a.body?.status === "confirmed");
      },
      "readings confirmed",
      60_000,
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
  }

  /** Exactly one BatchAnchored per batch of the store, leaves adding up to the readings. */
  async function anchoredOnce(t: TestRelayer, readingCount: number): Promise<BatchRow[]> {
    const rows = await batches(t);
    const events = await anchoredEvents(rows.map((b) => b.root));
    assert.equal(events.length, rows.length, "one BatchAnchored per batch");
    assert.equal(
      events.reduce((sum, e) => sum + e.args.leafCount, 0),
      readingCount,
      "every reading anchored once",
    );
    for (const b of rows) {
      const e = events.find((x) => x.args.root === b.root)!;
      assert.equal(b.txHash, e.transactionHash);
      assert.equal(b.anchorBatchId, Number(e.args.batchId));
      assert.equal(b.blockHash, e.blockHash);
    }
    return rows;
  }

  /** A client that loses every eth_sendRawTransaction (the process "died" right after persisting). */
  function blackHoleClient(): PublicClient {
    const base = http(chain.rpcUrl)({ retryCount: 0 });
    return createPublicClient({
      transport: custom({
        async request({ method, params }) {
          if (method === "eth_sendRawTransaction") throw new Error("connection reset (test: broadcast lost)");
          return base.request({ method, params });
        },
      }),
    }) as PublicClient;
  }

  /** A client that delivers every raw transaction, then answers the relayer with `error` (a lost or confused answer). */
  function misansweringClient(error: string): PublicClient {
    const base = http(chain.rpcUrl)({ retryCount: 0 });
    return createPublicClient({
      transport: custom({
        async request({ method, params }) {
          const result = await base.request({ method, params });
          if (method === "eth_sendRawTransaction") throw new Error(error);
          return result;
        },
      }),
    }) as PublicClient;
  }

  /**
   * A client that runs `between` once, after it answered a receipt of `txHash()` and before the next
   * read of a block by number: a reorg landing inside the anchorer's check of a mined batch.
   */
  function reorgInsideCheckClient(txHash: () => Hex | undefined, between: () => Promise<void>): PublicClient {
    const base = http(chain.rpcUrl)({ retryCount: 0 });
    let receiptRead = false;
    let done = false;
    return createPublicClient({
      transport: custom({
        async request({ method, params }) {
          if (!done && receiptRead && method === "eth_getBlockByNumber" && (params as unknown[])[0] !== "latest") {
            done = true;
            await between();
          }
          const result = await base.request({ method, params });
          if (method === "eth_getTransactionReceipt") {
            const hash = txHash();
            receiptRead = result !== null && hash !== undefined && (params as Hex[])[0].toLowerCase() === hash.toLowerCase();
          }
          return result;
        },
      }),
    }) as PublicClient;
  }

  for (const error of ["already known", "nonce too low: next nonce 12, tx nonce 11"]) {
    it(`a broadcast answered "${error}" although it went through is settled by its receipt, not re-signed`, async () => {
      const t = await relayer(`answer-${error.slice(0, 5).replace(" ", "-")}.sqlite`, {
        client: misansweringClient(error),
        batch: { maxSize: 1000, maxAgeMs: 50 },
      });
      const { readings } = await submit(t, 1);
      await allConfirmed(t, readings);
      const [batch] = await anchoredOnce(t, 4);
      const txs = await t.relayer.store.txs(batch.id);
      assert.deepEqual(
        txs.map((x) => [x.kind, x.status]),
        [["initial", "mined"]],
      );
      assert.equal(batch.txHash, txs[0].hash);
    });
  }

  it("counts readings anchored after their receipt deadline", async () => {
    let skewMs = 0;
    const t = await relayer("deadline.sqlite", {
      start: false,
      now: () => Date.now() + skewMs,
      batch: { maxSize: 1000, maxAgeMs: 1000 },
      anchoring: { marginSeconds: 5 },
    });
    const { readings, receipts } = await submit(t, 1);
    const deadline = Number((receipts[0] as { deadline: string }).deadline);
    assert.ok(Math.abs(deadline - (Math.floor(Date.now() / 1000) + 1 + 5)) <= 1);
    skewMs = 60_000; // the relayer was down for a minute
    t.relayer.start();
    await allConfirmed(t, readings);
    assert.equal(t.relayer.metrics.deadlinesMissed.get(), 4);
    assert.match((await request(`${t.url}/metrics`)).text, /^sensorseal_relayer_receipt_deadlines_missed_total 4$/m);
  });

  it("restart after queueing: a new instance on the same store batches and anchors everything once, same receipts", async () => {
    const a = await relayer("restart-queued.sqlite", { batch: { maxSize: 1000, maxAgeMs: 3_600_000 } });
    const { readings, receipts } = await submit(a, 3);
    await close(a);
    const b = await relayer("restart-queued.sqlite", { batch: { maxSize: 1000, maxAgeMs: 100 }, confirmations: 2 });
    assert.equal(b.relayer.store.queueDepth, 12);
    await allConfirmed(b, readings);
    const [batch] = await anchoredOnce(b, 12);
    assert.equal(batch.leafCount, 12);
    for (const [i, r] of readings.entries()) {
      const answer = await request(`${b.url}/v1/readings/${r.device}/${r.seq}`);
      assert.deepEqual(answer.body.receipt, receipts[i], "the receipt survives the restart");
      const resend = await postJson(`${b.url}/v1/readings`, r);
      assert.equal(resend.status, 202);
      assert.equal(resend.body.duplicate, true);
      assert.deepEqual(resend.body.receipt, receipts[i]);
    }
    assert.deepEqual(await b.relayer.store.rowCounts(), { readings: 12, batches: 1, txs: 1 });
  });

  it("restart after persisting a transaction that never left the process: the same raw bytes are re-broadcast, never re-signed", async () => {
    const a = await relayer("restart-unsent.sqlite", { client: blackHoleClient(), batch: { maxSize: 1000, maxAgeMs: 50 } });
    const { readings } = await submit(a, 2);
    const sent = await onlyBatch(a, "sent");
    const [persisted] = await a.relayer.store.txs(sent.id);
    await close(a);
    assert.equal(await chain.publicClient.getTransaction({ hash: persisted.hash }).catch(() => undefined), undefined, "never broadcast");
    assert.equal((await anchoredEvents([sent.root])).length, 0);

    const b = await relayer("restart-unsent.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, confirmations: 2 });
    await allConfirmed(b, readings);
    const [batch] = await anchoredOnce(b, 8);
    const txs = await b.relayer.store.txs(batch.id);
    assert.equal(txs.length, 1, "not re-signed");
    assert.equal(txs[0].hash, persisted.hash);
    assert.equal(txs[0].status, "mined");
    assert.equal(batch.txHash, persisted.hash);
    const mined = await chain.publicClient.getTransaction({ hash: persisted.hash });
    assert.equal(mined.nonce, persisted.nonce);
    assert.equal(b.relayer.metrics.anchorTxs.get({ kind: "rebroadcast" }) >= 1, true);
  });

  it("restart while the transaction waits in the mempool: the new instance follows it to confirmation", async () => {
    await testClient.setAutomine(false);
    const a = await relayer("restart-pending.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, anchoring: { stuckTimeoutMs: 3_600_000 } });
    const { readings } = await submit(a, 2);
    const sent = await onlyBatch(a, "sent");
    const [tx] = await a.relayer.store.txs(sent.id);
    await waitFor(
      async () => (await chain.publicClient.getTransaction({ hash: tx.hash }).catch(() => undefined)) !== undefined,
      "tx in the mempool",
    );
    await close(a);
    await testClient.setAutomine(true);

    const b = await relayer("restart-pending.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, confirmations: 2 });
    await allConfirmed(b, readings);
    const [batch] = await anchoredOnce(b, 8);
    assert.deepEqual(
      (await b.relayer.store.txs(batch.id)).map((t) => [t.hash, t.status]),
      [[tx.hash, "mined"]],
    );
  });

  it("a nonce taken by another transaction: the batch is signed again with a new nonce and anchored once", async () => {
    const a = await relayer("nonce-taken.sqlite", { client: blackHoleClient(), batch: { maxSize: 1000, maxAgeMs: 50 } });
    const { readings } = await submit(a, 1);
    const sent = await onlyBatch(a, "sent");
    const [lost] = await a.relayer.store.txs(sent.id);
    await close(a);
    // The operator uses the relayer key for something else: the persisted nonce is gone.
    const wallet = createWalletClient({ account: privateKeyToAccount(chain.keys.relayer), transport: http(chain.rpcUrl) });
    const other = await wallet.sendTransaction({ chain: null, to: wallet.account.address, value: 1n, nonce: lost.nonce });
    await chain.publicClient.waitForTransactionReceipt({ hash: other });

    const b = await relayer("nonce-taken.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 } });
    await allConfirmed(b, readings);
    const [batch] = await anchoredOnce(b, 4);
    const txs = await b.relayer.store.txs(batch.id);
    assert.deepEqual(
      txs.map((t) => [t.kind, t.status, t.nonce]),
      [
        ["initial", "dropped", lost.nonce],
        ["resign", "mined", lost.nonce + 1],
      ],
    );
    assert.equal(batch.txHash, txs[1].hash);
  });

  it("a root already anchored by an earlier attempt is taken as anchored after checking batchIdOfRoot, getBatch and the event", async () => {
    const a = await relayer("already-anchored.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, anchoring: { maxInFlight: 0 } });
    const { readings } = await submit(a, 1);
    const [cut] = await waitFor(async () => {
      const rows = await batches(a);
      return rows.length === 1 ? rows : undefined;
    }, "batch cut");
    await close(a);
    assert.equal(cut.status, "queued");
    // The earlier attempt (its record lost) that did reach the chain.
    const wallet = createWalletClient({ account: privateKeyToAccount(chain.keys.relayer), transport: http(chain.rpcUrl) });
    const earlier = await wallet.writeContract({
      chain: null,
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [cut.root, cut.leafCount, cut.manifestHash],
    });
    await chain.publicClient.waitForTransactionReceipt({ hash: earlier });

    const b = await relayer("already-anchored.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 } });
    await allConfirmed(b, readings);
    const [batch] = await anchoredOnce(b, 4);
    assert.equal(batch.txHash, earlier);
    assert.deepEqual(await b.relayer.store.txs(batch.id), [], "nothing sent");
  });

  it("our transaction reverting with ReadingAnchorRootAlreadyAnchored (same manifest anchored first) is success", async () => {
    // A second relayer account anchors the same batch first, in the same block.
    const stranger = createWalletClient({ account: privateKeyToAccount(chain.keys.stranger), transport: http(chain.rpcUrl) });
    // A plain grantRole no longer lets an account anchor: it must be registered (URL and receipt signer).
    await chain.registerRelayer({ manifestUrl: "http://127.0.0.1:1", relayer: stranger.account.address });
    await testClient.setAutomine(false);
    const a = await relayer("reverted.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, anchoring: { stuckTimeoutMs: 3_600_000 } });
    const { readings } = await submit(a, 1);
    const sent = await onlyBatch(a, "sent");
    const [ours] = await a.relayer.store.txs(sent.id);
    const first = await stranger.writeContract({
      chain: null,
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [sent.root, sent.leafCount, sent.manifestHash],
      gas: 200_000n,
      maxFeePerGas: ours.maxFeePerGas * 2n,
      maxPriorityFeePerGas: ours.maxPriorityFeePerGas * 2n,
    });
    await testClient.mine({ blocks: 1 });
    await testClient.setAutomine(true);
    const receipt = await chain.publicClient.getTransactionReceipt({ hash: ours.hash });
    assert.equal(receipt.status, "reverted");
    await allConfirmed(a, readings);
    const [batch] = await anchoredOnce(a, 4);
    assert.equal(batch.txHash, first);
    assert.deepEqual(
      (await a.relayer.store.txs(batch.id)).map((t) => t.status),
      ["reverted"],
    );
  });

  it("a stuck transaction is replaced with the same nonce and fees raised by ≥ 12.5 %", async () => {
    await testClient.setAutomine(false);
    const t = await relayer("fee-bump.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, anchoring: { stuckTimeoutMs: 400 } });
    const { readings } = await submit(t, 1);
    const [sent] = await waitFor(async () => {
      const rows = await batches(t);
      return rows.length === 1 ? rows : undefined;
    }, "batch cut");
    const bumped = await waitFor(async () => {
      const txs = await t.relayer.store.txs(sent.id);
      return txs.length >= 2 ? txs : undefined;
    }, "a fee bump");
    // The node holds the replacement, not the original.
    const last = bumped.at(-1)!;
    await waitFor(
      async () => (await chain.publicClient.getTransaction({ hash: last.hash }).catch(() => undefined)) !== undefined,
      "replacement in the mempool",
    );
    await testClient.mine({ blocks: 1 });
    await testClient.setAutomine(true);
    await allConfirmed(t, readings);
    const [batch] = await anchoredOnce(t, 4);
    const txs = await t.relayer.store.txs(batch.id);
    assert.ok(txs.length >= 2);
    assert.equal(txs[0].kind, "initial");
    for (let i = 1; i < txs.length; i++) {
      assert.equal(txs[i].kind, "bump");
      assert.equal(txs[i].nonce, txs[0].nonce);
      assert.ok(txs[i].maxFeePerGas * 8n >= txs[i - 1].maxFeePerGas * 9n, "maxFeePerGas +12.5 %");
      assert.ok(txs[i].maxPriorityFeePerGas * 8n >= txs[i - 1].maxPriorityFeePerGas * 9n, "maxPriorityFeePerGas +12.5 %");
    }
    const mined = txs.filter((x) => x.status === "mined");
    assert.equal(mined.length, 1);
    assert.equal(mined[0].hash, batch.txHash);
    assert.ok(txs.filter((x) => x !== mined[0]).every((x) => x.status === "replaced"));
    // A bump signed in the instant its predecessor was mined never reaches the node: ≤, not =.
    const bumps = t.relayer.metrics.anchorTxs.get({ kind: "bump" });
    assert.ok(bumps >= 1 && bumps <= txs.length - 1, `bumps broadcast ${bumps} of ${txs.length - 1}`);
    const onChain = await chain.publicClient.getTransaction({ hash: mined[0].hash });
    assert.equal(onChain.maxFeePerGas, mined[0].maxFeePerGas);
  });

  it("a reorg that drops the anchoring block leads to re-anchoring; confirmation only on the new chain", async () => {
    const t = await relayer("reorg.sqlite", { batch: { maxSize: 1000, maxAgeMs: 50 }, confirmations: 3 });
    const snapshot = await testClient.snapshot();
    const { readings } = await submit(t, 2);
    const mined = await onlyBatch(t, "mined");
    assert.equal((await anchoredEvents([mined.root])).length, 1);
    await testClient.revert({ id: snapshot });
    assert.equal((await anchoredEvents([mined.root])).length, 0, "the anchoring is gone");
    await testClient.mine({ blocks: 1 });

    await allConfirmed(t, readings);
    const [batch] = await anchoredOnce(t, 8);
    assert.equal(batch.reorgs, 1);
    assert.equal(batch.txHash, mined.txHash, "the same signed transaction, re-broadcast");
    assert.notEqual(batch.blockHash, mined.blockHash);
    assert.equal((await t.relayer.store.txs(batch.id)).length, 1);
    assert.equal(t.relayer.metrics.reorgs.get(), 1);
    const metrics = await request(`${t.url}/metrics`);
    assert.match(metrics.text, /^sensorseal_relayer_reorgs_total 1$/m);
  });

  it("a reorg landing between the receipt read and the block read of a mined batch is counted once", async () => {
    let armed: Hex | undefined;
    let snapshot: Hex | undefined;
    const client = reorgInsideCheckClient(
      () => armed,
      async () => {
        await testClient.revert({ id: snapshot! });
        await testClient.mine({ blocks: 1 });
      },
    );
    const t = await relayer("reorg-inside-check.sqlite", { client, batch: { maxSize: 1000, maxAgeMs: 50 }, confirmations: 3 });
    snapshot = await testClient.snapshot();
    const { readings } = await submit(t, 2);
    const mined = await onlyBatch(t, "mined");
    armed = mined.txHash as Hex;
    await waitFor(async () => (await anchoredEvents([mined.root])).length === 0, "the anchoring reorged away");

    await allConfirmed(t, readings);
    const [batch] = await anchoredOnce(t, 8);
    assert.equal(batch.reorgs, 1);
    assert.equal(batch.txHash, mined.txHash, "the same signed transaction, re-broadcast");
    assert.notEqual(batch.blockHash, mined.blockHash);
    assert.equal(t.relayer.metrics.reorgs.get(), 1);
  });
});
