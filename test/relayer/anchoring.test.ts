/**
 * The relayer end to end on a real audit chain (EDR over JSON-RPC) and real HTTP: readings from many
 * devices of both key schemes are batched, anchored, confirmed, and every proof verifies on-chain.
 */
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import { getAddress, keccak256, parseEventLogs } from "viem";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { buildBatch, parseManifest } from "../../oracle/core/manifest.js";
import { verifyMerkleProof } from "../../oracle/core/merkle.js";
import { verifyReceipt } from "../../oracle/core/receipt.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { freshTestDatabase, pgSkipReason } from "../helpers/postgres.js";
import {
  chainTime,
  postJson,
  registeredDevice,
  request,
  signedReading,
  startTestRelayer,
  tempDir,
  waitFor,
  type ReadingBody,
  type TestDevice,
} from "./fixtures.js";

async function batchAnchoredEvents(chain: AuditChain) {
  const logs = await chain.publicClient.getLogs({ address: chain.anchor, fromBlock: 0n, toBlock: "latest" });
  return parseEventLogs({ abi: readingAnchorAbi, logs, eventName: "BatchAnchored" });
}

const backends: { name: string; skip?: string; url(dir: string): Promise<{ url: string; drop(): Promise<void> }> }[] = [
  { name: "SQLite", url: async (dir) => ({ url: path.join(dir, "many.sqlite"), drop: async () => undefined }) },
  {
    name: "PostgreSQL",
    skip: await pgSkipReason(),
    url: freshTestDatabase,
  },
];

for (const backend of backends) {
  describe(`relayer on ${backend.name}: many devices end up anchored and provable on-chain`, { skip: backend.skip ?? false }, () => {
    let chain: AuditChain;
    let tmp: { dir: string; remove(): Promise<void> };
    const cleanups: (() => Promise<void>)[] = [];

    before(async () => {
      chain = await startAuditChain();
      tmp = await tempDir();
    });
    after(async () => {
      for (const drop of cleanups) await drop();
      await chain?.close();
      await tmp?.remove();
    });

    it("anchors 72 readings of 12 devices (6 secp256k1, 6 P-256) in batches of ≤ 16 and each verifies with verifyReading", async () => {
      const devices: TestDevice[] = [];
      for (let i = 0; i < 12; i++) devices.push(await registeredDevice(chain, i % 2 === 0 ? "secp256k1" : "p256"));
      const t = await relayerRun();
      try {
        const ts = await chainTime(chain);
        const domain = { chainId: chain.chainId, anchor: chain.anchor };
        const sent: ReadingBody[] = [];
        // Some as single requests, some in bulk, interleaved across devices.
        for (let seq = 1; seq <= 6; seq++) {
          const round = devices.map((d) => signedReading(d, domain, { seq, timestamp: ts + seq }));
          sent.push(...round);
          if (seq % 2 === 0) {
            const answer = await postJson(`${t.url}/v1/readings`, round);
            assert.equal(answer.status, 202, answer.text);
            assert.equal(answer.body.accepted, 12);
            assert.equal(answer.body.rejected, 0);
          } else {
            const answers = await Promise.all(round.map((r) => postJson(`${t.url}/v1/readings`, r)));
            for (const a of answers) {
              assert.equal(a.status, 202, a.text);
              assert.equal(a.body.status, "queued");
              assert.equal(a.body.duplicate, false);
            }
          }
        }

        // Every reading reaches "confirmed" (K = 2: mine a block now and then).
        const answers = await waitFor(
          async () => {
            await chain.mine(1);
            const all = await Promise.all(sent.map((r) => request(`${t.url}/v1/readings/${r.device}/${r.seq}`)));
            return all.every((a) => a.body?.status === "confirmed") ? all : undefined;
          },
          "all readings confirmed",
          60_000,
          200,
        );

        const events = await batchAnchoredEvents(chain);
        const leafTotal = events.reduce((sum, e) => sum + Number(e.args.leafCount), 0);
        assert.equal(leafTotal, 72, "every reading anchored exactly once");
        assert.ok(events.length >= 5, `72 readings in batches of ≤ 16 need ≥ 5 batches, got ${events.length}`);
        for (const e of events) assert.ok(Number(e.args.leafCount) <= 16);
        assert.equal(new Set(events.map((e) => e.args.root)).size, events.length);
        for (const e of events) assert.equal(getAddress(e.args.relayer), t.relayer.relayerAddress);

        for (let i = 0; i < sent.length; i++) {
          const r = sent[i];
          const a = answers[i].body;
          assert.equal(a.device, r.device);
          assert.equal(a.seq, r.seq);
          assert.equal(a.dataHash, r.dataHash);
          assert.equal(a.signature, r.signature);
          const event = events.find((e) => Number(e.args.batchId) === a.batchId);
          assert.ok(event, `batch ${a.batchId} anchored`);
          assert.equal(a.root, event.args.root);
          assert.equal(a.txHash, event.transactionHash);
          assert.equal(a.blockNumber, Number(event.blockNumber));
          assert.equal(a.blockHash, event.blockHash);
          assert.ok(verifyMerkleProof(a.leaf, a.proof, a.root));
          const reading = { device: r.device, seq: BigInt(r.seq), timestamp: BigInt(r.timestamp), dataHash: r.dataHash };
          const ok = await chain.publicClient.readContract({
            address: chain.anchor,
            abi: readingAnchorAbi,
            functionName: "verifyReading",
            args: [BigInt(a.batchId), reading, r.signature, a.proof],
          });
          assert.equal(ok, true);
          assert.equal(
            await verifyReceipt({ chainId: chain.chainId, anchor: chain.anchor, relayer: t.relayer.receiptSigner, receipt: a.receipt }),
            true,
          );
        }

        // Batches and manifests: exact bytes whose keccak is the anchored manifest hash, rebuilding the root.
        for (const e of events) {
          const batch = await request(`${t.url}/v1/batches/${e.args.batchId}`);
          assert.equal(batch.status, 200);
          assert.equal(batch.body.status, "confirmed");
          assert.equal(batch.body.root, e.args.root);
          assert.equal(batch.body.manifestHash, e.args.manifestHash);
          assert.equal(batch.body.txHash, e.transactionHash);
          assert.equal(batch.body.transactions.length, 1);
          assert.equal(batch.body.transactions[0].status, "mined");
          const byRoot = await request(`${t.url}/v1/batches/${e.args.root}`);
          assert.deepEqual(byRoot.body, batch.body);
          const res = await fetch(`${t.url}/v1/batches/${e.args.batchId}/manifest`);
          assert.equal(res.status, 200);
          assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
          const bytes = new Uint8Array(await res.arrayBuffer());
          assert.equal(keccak256(bytes), e.args.manifestHash);
          const rebuilt = buildBatch(parseManifest(bytes));
          assert.equal(rebuilt.root, e.args.root);
          assert.equal(rebuilt.leafCount, Number(e.args.leafCount));
        }

        // Metrics reflect it.
        const metrics = await request(`${t.url}/metrics`);
        assert.match(metrics.text, /^sensorseal_relayer_readings_accepted_total 72$/m);
        assert.match(metrics.text, /^sensorseal_relayer_queue_depth 0$/m);
        assert.match(metrics.text, new RegExp(`^sensorseal_relayer_batches\\{status="confirmed"\\} ${events.length}$`, "m"));
        assert.match(metrics.text, new RegExp(`^sensorseal_relayer_anchor_latency_seconds_count ${events.length}$`, "m"));
        const gas = Number(/^sensorseal_relayer_gas_used_total (\d+)$/m.exec(metrics.text)?.[1]);
        assert.ok(gas > 21_000 * events.length, `gas used ${gas}`);
      } finally {
        await t.close();
      }

      async function relayerRun() {
        const store = await backend.url(tmp.dir);
        cleanups.push(store.drop);
        return startTestRelayer(chain, {
          databaseUrl: store.url,
          batch: { maxSize: 16, maxAgeMs: 300 },
          confirmations: 2,
        });
      }
    });
  });
}
