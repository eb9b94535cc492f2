/**
 * A local chain resumed from its journal (npm start over an existing data/): the replayed blocks keep
 * their times and hashes, and the chain's clock then catches up with the wall clock. A chain that
 * resumed hours behind dated its new blocks hours in the past, so every reading signed since was
 * "dated after its anchoring" (INVALID_TIMESTAMP) for the auditor.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";

import { network } from "hardhat";

import { journalGenesis, startLocalChain } from "../../scripts/lib/local-chain.js";

const HOURS_AGO = 3;

async function block(url: string, tag: string): Promise<{ hash: string; timestamp: number }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_getBlockByNumber", params: [tag, false] }),
  });
  const { result } = (await response.json()) as { result: { hash: string; timestamp: string } };
  return { hash: result.hash, timestamp: Number(result.timestamp) };
}

describe("local chain resumed from its journal", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("keeps the replayed blocks and dates new blocks by the wall clock, not where the journal stopped", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "sensorseal-resume-"));
    dirs.push(dir);
    const journal = path.join(dir, "audit.jsonl");
    const then = new Date(Date.now() - HOURS_AGO * 3600 * 1000);

    // A stack that ran hours ago: two blocks, then stopped.
    const first = await network.create({ network: "audit", override: { initialDate: then } });
    const old = await startLocalChain(first.provider, journal, 0);
    let oldHead: { hash: string; timestamp: number };
    try {
      await old.mine();
      await old.mine();
      oldHead = await block(old.url, "0x2");
    } finally {
      await old.close();
      await first.provider.close();
    }
    assert.ok(Date.now() / 1000 - oldHead.timestamp > (HOURS_AGO - 1) * 3600, "the first run's blocks are hours old");

    // npm start again over the same journal.
    const genesis = await journalGenesis(journal);
    assert.ok(genesis !== undefined);
    const second = await network.create({ network: "audit", override: { initialDate: genesis } });
    const resumed = await startLocalChain(second.provider, journal, 0);
    try {
      assert.deepEqual(await block(resumed.url, "0x2"), oldHead, "replayed blocks keep their time and hash");
      const startedAt = Math.floor(Date.now() / 1000);
      await resumed.mine();
      const fresh = await block(resumed.url, "latest");
      assert.ok(
        fresh.timestamp >= startedAt - 2,
        `a new block is dated now (${fresh.timestamp}), not ${startedAt - fresh.timestamp} s ago`,
      );
      assert.ok(fresh.timestamp <= Math.floor(Date.now() / 1000) + 2, "and not in the future");
    } finally {
      await resumed.close();
      await second.provider.close();
    }

    // A third start replays the catch-up too, to the same blocks.
    const third = await network.create({ network: "audit", override: { initialDate: await journalGenesis(journal) } });
    const again = await startLocalChain(third.provider, journal, 0);
    try {
      const head = await block(again.url, "latest");
      assert.ok(head.timestamp >= Math.floor(Date.now() / 1000) - 5, "the third start is dated now as well");
      assert.deepEqual(await block(again.url, "0x2"), oldHead);
    } finally {
      await again.close();
      await third.provider.close();
    }
  });
});
