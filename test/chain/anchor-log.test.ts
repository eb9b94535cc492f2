import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { AnchorLogError, readAnchorLogs } from "../../oracle/chain/anchor-log.js";
import { buildBatch } from "../../oracle/core/manifest.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { chainTime, registeredDevice, signedReading } from "../relayer/fixtures.js";

describe("anchor log reader (BatchAnchored and ReadingSubmitted)", () => {
  let chain: AuditChain;
  let anchored: { root: Hex; manifestHash: Hex; leafCount: number; txHash: Hex; blockNumber: bigint };
  let direct: { txHash: Hex; blockNumber: bigint; dataHash: Hex };

  before(async () => {
    chain = await startAuditChain();
    const wallet = createWalletClient({ account: privateKeyToAccount(chain.keys.relayer), transport: http(chain.rpcUrl) });
    const device = await registeredDevice(chain, "p256");
    const domain = { chainId: chain.chainId, anchor: chain.anchor };
    const ts = await chainTime(chain);
    const one = signedReading(device, domain, { seq: 1, timestamp: ts });
    const reading = { device: one.device, seq: BigInt(one.seq), timestamp: BigInt(one.timestamp), dataHash: one.dataHash };
    const submitted = await wallet.writeContract({
      chain: null,
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "submitReading",
      args: [reading, one.signature],
    });
    const submittedReceipt = await chain.publicClient.waitForTransactionReceipt({ hash: submitted });
    direct = { txHash: submitted, blockNumber: submittedReceipt.blockNumber, dataHash: one.dataHash };
    await chain.mine(3);
    const two = signedReading(device, domain, { seq: 2, timestamp: ts });
    const batch = buildBatch({
      chainId: chain.chainId,
      anchor: chain.anchor,
      items: [{ reading: { ...reading, seq: 2n, dataHash: two.dataHash }, signature: two.signature }],
    });
    const txHash = await wallet.writeContract({
      chain: null,
      address: chain.anchor,
      abi: readingAnchorAbi,
      functionName: "anchorBatch",
      args: [batch.root, batch.leafCount, batch.manifestHash],
    });
    const receipt = await chain.publicClient.waitForTransactionReceipt({ hash: txHash });
    anchored = { root: batch.root, manifestHash: batch.manifestHash, leafCount: batch.leafCount, txHash, blockNumber: receipt.blockNumber };
  });
  after(async () => {
    await chain?.close();
  });

  it("reads anchored batches (anchoredAt from the block) and direct submissions, paging one block at a time", async () => {
    const read = await readAnchorLogs({ client: chain.publicClient, anchor: chain.anchor, fromBlock: 0n, maxBlockRange: 1 });
    const head = await chain.publicClient.getBlockNumber({ cacheTime: 0 });
    assert.equal(read.toBlock, head);
    assert.equal(read.batches.length, 1);
    const [batch] = read.batches;
    const block = await chain.publicClient.getBlock({ blockNumber: anchored.blockNumber });
    assert.deepEqual(
      {
        batchId: batch.batchId,
        root: batch.root,
        manifestHash: batch.manifestHash,
        leafCount: batch.leafCount,
        txHash: batch.txHash,
        blockNumber: batch.blockNumber,
      },
      {
        batchId: 1n,
        root: anchored.root,
        manifestHash: anchored.manifestHash,
        leafCount: 1,
        txHash: anchored.txHash,
        blockNumber: anchored.blockNumber,
      },
    );
    assert.equal(batch.anchoredAt, block.timestamp);
    assert.equal(batch.blockHash, block.hash);
    assert.equal(batch.relayer, privateKeyToAccount(chain.keys.relayer).address);
    assert.equal(read.submissions.length, 1);
    assert.deepEqual(
      [read.submissions[0].seq, read.submissions[0].dataHash, read.submissions[0].txHash, read.submissions[0].blockNumber],
      [1n, direct.dataHash, direct.txHash, direct.blockNumber],
    );
  });

  it("reads only the events and the range asked for, and resumes after toBlock", async () => {
    const first = await readAnchorLogs({
      client: chain.publicClient,
      anchor: chain.anchor,
      fromBlock: 0n,
      toBlock: direct.blockNumber,
      events: ["BatchAnchored"],
    });
    assert.deepEqual([first.batches.length, first.submissions.length, first.toBlock], [0, 0, direct.blockNumber]);
    const rest = await readAnchorLogs({ client: chain.publicClient, anchor: chain.anchor, fromBlock: first.toBlock + 1n });
    assert.deepEqual([rest.batches.length, rest.submissions.length], [1, 0]);
  });

  it("fails with a typed error when the RPC cannot answer", async () => {
    const broken = {
      ...chain.publicClient,
      getBlockNumber: () => Promise.reject(new Error("socket hang up")),
    } as typeof chain.publicClient;
    await assert.rejects(
      readAnchorLogs({ client: broken, anchor: chain.anchor, fromBlock: 0n }),
      (e: unknown) => e instanceof AnchorLogError && e.code === "ANCHOR_LOG_UNAVAILABLE",
    );
  });
});
