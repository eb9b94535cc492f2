/**
 * The dashboard's API lists readings submitted directly on-chain (`ReadingSubmitted`, the censorship
 * escape of ISSUE-11 attack 5, docs/TRUST-MODEL.md §5) beside the batches. Before: no part read
 * `ReadingSubmitted`, so the dashboard showed only batches. Real audit chain, real web server.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { createWalletClient, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { readingAnchorAbi } from "../../oracle/chain/abis.js";
import { rpcChain } from "../../oracle/chain/rpc.js";
import { startAuditChain, type AuditChain } from "../helpers/audit-chain.js";
import { chainTime, registeredDevice, request, signedReading, type ReadingBody } from "../relayer/fixtures.js";
import { startWeb } from "./fixtures.js";

describe("dashboard API: direct submissions are listed beside the batches (attack 5)", { timeout: 300_000 }, () => {
  let chain: AuditChain;
  let web: Awaited<ReturnType<typeof startWeb>>;
  const sent: { body: ReadingBody; tx: Hex }[] = [];

  before(async () => {
    chain = await startAuditChain();
    const device = await registeredDevice(chain, "secp256k1");
    const wallet = createWalletClient({
      account: privateKeyToAccount(chain.keys.stranger),
      chain: rpcChain(chain.chainId, "audit", chain.rpcUrl),
      transport: http(chain.rpcUrl),
    });
    // Both dated after the registration (the device was not Active before it), within the clock skew.
    const t0 = await chainTime(chain);
    // A higher seq first, then a lower one: both are taken (each (device, seq) once, any order).
    for (const [seq, timestamp] of [
      [2, t0 + 60],
      [1, t0],
    ]) {
      const body = signedReading(device, { chainId: chain.chainId, anchor: chain.anchor }, { seq, timestamp });
      const tx = await wallet.writeContract({
        address: chain.anchor,
        abi: readingAnchorAbi,
        functionName: "submitReading",
        args: [{ device: body.device, seq: BigInt(seq), timestamp: BigInt(timestamp), dataHash: body.dataHash }, body.signature],
      });
      assert.equal((await chain.publicClient.waitForTransactionReceipt({ hash: tx })).status, "success");
      sent.push({ body, tx });
    }
    web = await startWeb({ audit: { rpcUrl: chain.rpcUrl, anchor: chain.anchor, registry: chain.registry, deployBlock: 0 } });
  });

  after(async () => {
    await web?.close();
    await chain?.close();
  });

  it("GET /api/batches lists both submissions, newest first, each with its transaction", async () => {
    const answer = await request(`${web.url}/api/batches`);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body.submissionsTotal, 2);
    assert.deepEqual(
      answer.body.submissions.map((s: any) => [s.device, String(s.seq), s.dataHash, s.txHash]),
      [...sent].reverse().map(({ body, tx }) => [body.device, String(body.seq), body.dataHash, tx]),
    );
  });
});
